/*
 * Verification harness: runs a Tinyforge model library on every input vector linked into
 * the program and prints each output over semihosting.
 *
 * The library provides tinyforge_model.h with TINYFORGE_INPUT_BYTES, TINYFORGE_OUTPUT_BYTES
 * and tinyforge_model_invoke(). The inputs come from a generated file defining
 * tinyforge_harness_inputs (tinyforge_harness_input_count vectors,
 * tinyforge_harness_input_stride bytes apart).
 * Each call to the model is enclosed in two SEV markers, so the instruction counter counts
 * exactly one region per inference.
 *
 * Output, one line each, all numbers decimal except the output bytes (hex):
 *   TINYFORGE SIZES <input bytes> <output bytes>
 *   TINYFORGE OUT <index> <hex bytes>          one per inference
 *   TINYFORGE FAIL <index> <return code>       when the model fails (the run then exits with it)
 *   TINYFORGE STACK <used bytes> <reserved bytes>
 *   TINYFORGE DONE
 */
#include <stdint.h>

#include "tinyforge_semihost.h"
#include "tinyforge_startup.h"
#include "tinyforge_model.h"

extern const uint8_t tinyforge_harness_inputs[];
extern const uint32_t tinyforge_harness_input_count;
extern const uint32_t tinyforge_harness_input_stride;

static uint8_t tinyforge_harness_output[TINYFORGE_OUTPUT_BYTES] __attribute__((aligned(16)));

int main(void)
{
    tinyforge_semihost_puts("TINYFORGE SIZES ");
    tinyforge_semihost_put_u32((uint32_t) (TINYFORGE_INPUT_BYTES));
    tinyforge_semihost_puts(" ");
    tinyforge_semihost_put_u32((uint32_t) (TINYFORGE_OUTPUT_BYTES));
    tinyforge_semihost_puts("\n");
    if (tinyforge_harness_input_stride < (uint32_t) (TINYFORGE_INPUT_BYTES)) {
        tinyforge_semihost_puts("TINYFORGE BADSTRIDE\n");
        return 1;
    }

    for (uint32_t i = 0; i < tinyforge_harness_input_count; i++) {
        const void *input = &tinyforge_harness_inputs[i * tinyforge_harness_input_stride];
        /* A pattern the model must overwrite: stale outputs cannot pass for new ones. */
        for (uint32_t k = 0; k < (uint32_t) (TINYFORGE_OUTPUT_BYTES); k++) {
            tinyforge_harness_output[k] = (uint8_t) (0xA5u ^ i);
        }
        TINYFORGE_MARK();
        int rc = tinyforge_model_invoke(input, tinyforge_harness_output);
        TINYFORGE_MARK();
        if (rc != 0) {
            tinyforge_semihost_puts("TINYFORGE FAIL ");
            tinyforge_semihost_put_u32(i);
            tinyforge_semihost_puts(" ");
            tinyforge_semihost_put_i32(rc);
            tinyforge_semihost_puts("\n");
            return rc;
        }
        tinyforge_semihost_puts("TINYFORGE OUT ");
        tinyforge_semihost_put_u32(i);
        tinyforge_semihost_puts(" ");
        tinyforge_semihost_put_hex_bytes(tinyforge_harness_output, TINYFORGE_OUTPUT_BYTES);
        tinyforge_semihost_puts("\n");
    }

    tinyforge_semihost_puts("TINYFORGE STACK ");
    tinyforge_semihost_put_u32(tinyforge_stack_used_bytes());
    tinyforge_semihost_puts(" ");
    tinyforge_semihost_put_u32(tinyforge_stack_size_bytes());
    tinyforge_semihost_puts("\nTINYFORGE DONE\n");
    return 0;
}
