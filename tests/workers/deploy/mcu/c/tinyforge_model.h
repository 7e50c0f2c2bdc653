/*
 * A hand-written stand-in for a generated Tinyforge model library, used to test the
 * Cortex-M harness (tests/workers/deploy/mcu). Same contract as a generated library.
 *
 * Input:  TOY_N int8 values a, TOY_N int8 values b, then TOY_PAD ignored bytes.
 * Output: TOY_N int8 saturated sums a+b, the int32 "rotated dot product" (see toy_model.c),
 *         and two float32 results (little-endian), 44 bytes for TOY_N = 32.
 */
#ifndef TINYFORGE_MODEL_H
#define TINYFORGE_MODEL_H

#define TOY_N 32
#ifndef TOY_PAD
#define TOY_PAD 0
#endif
#ifndef TOY_REPEAT
#define TOY_REPEAT 4
#endif

#define TINYFORGE_INPUT_BYTES (2 * TOY_N + TOY_PAD)
#define TINYFORGE_OUTPUT_BYTES (TOY_N + 12)

/* Returns 0, or 7 when a[0] == b[0] == -128 (a deliberate failure for the tests). */
int tinyforge_model_invoke(const void *input, void *output);

#endif /* TINYFORGE_MODEL_H */
