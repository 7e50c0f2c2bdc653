/*
 * Toy model for the Cortex-M harness tests: int8 element-wise saturated add, an int8 dot
 * product repeated TOY_REPEAT times over rotations of b (the work scales with TOY_REPEAT),
 * and float arithmetic (multiply, add, divide, sqrt) that exercises the FPU.
 * tests/workers/deploy/mcu/test_harness.py computes the same in NumPy.
 *
 * TOY_TABLE_BYTES and TOY_SCRATCH_BYTES add a constant table and a zeroed buffer of those
 * sizes (kept by the linker, outputs unchanged) to test programs too big for a machine.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tinyforge_model.h"

#ifndef TOY_TABLE_BYTES
#define TOY_TABLE_BYTES 1
#endif
#ifndef TOY_SCRATCH_BYTES
#define TOY_SCRATCH_BYTES 1
#endif

const uint8_t toy_table[TOY_TABLE_BYTES + 1] = {[TOY_TABLE_BYTES] = 1};
static int8_t toy_scratch[TOY_SCRATCH_BYTES];
static volatile uint32_t toy_index; /* always 0, unknown to the compiler */

int tinyforge_model_invoke(const void *input, void *output)
{
    const int8_t *a = (const int8_t *) input;
    const int8_t *b = a + TOY_N;
    uint8_t *out = (uint8_t *) output;

    if (a[0] == -128 && b[0] == -128) {
        return 7;
    }
    toy_scratch[toy_index] = a[0];
    if (toy_table[toy_index] != 0 || toy_scratch[toy_index] != a[0]) {
        return 9;
    }

    for (int i = 0; i < TOY_N; i++) {
        int32_t sum = (int32_t) a[i] + (int32_t) b[i];
        if (sum > 127) {
            sum = 127;
        } else if (sum < -128) {
            sum = -128;
        }
        out[i] = (uint8_t) (int8_t) sum;
    }

    int32_t dot = 0;
    for (int r = 0; r < TOY_REPEAT; r++) {
        for (int i = 0; i < TOY_N; i++) {
            dot += (int32_t) a[i] * (int32_t) b[(i + r) % TOY_N];
        }
    }
    memcpy(out + TOY_N, &dot, 4);

    float y = 0.0f;
    for (int i = 0; i < TOY_N; i++) {
        y = y + (float) a[i] * 0.5f + (float) b[i] * 0.25f;
    }
    float q = y / (1.0f + fabsf(y));
    float z = sqrtf(fabsf(y) + 1.0f);
    memcpy(out + TOY_N + 4, &q, 4);
    memcpy(out + TOY_N + 8, &z, 4);
    return 0;
}
