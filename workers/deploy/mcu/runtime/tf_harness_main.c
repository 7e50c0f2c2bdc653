/*
 * Verification harness: runs a Tinyforge model library on every input vector linked into
 * the program and prints each output over semihosting.
 *
 * The library provides tinyforge_model.h with TINYFORGE_INPUT_BYTES, TINYFORGE_OUTPUT_BYTES
 * and tinyforge_model_invoke(). The inputs come from a generated file defining
 * tf_harness_inputs (tf_harness_input_count vectors, tf_harness_input_stride bytes apart).
 * Each call to the model is enclosed in two SEV markers, so the instruction counter counts
 * exactly one region per inference.
 *
 * Output, one line each, all numbers decimal except the output bytes (hex):
 *   TFH SIZES <input bytes> <output bytes>
 *   TFH OUT <index> <hex bytes>          one per inference
 *   TFH FAIL <index> <return code>       when the model fails (the run then exits with it)
 *   TFH STACK <used bytes> <reserved bytes>
 *   TFH DONE
 */
#include <stdint.h>

#include "tf_semihost.h"
#include "tf_startup.h"
#include "tinyforge_model.h"

extern const uint8_t tf_harness_inputs[];
extern const uint32_t tf_harness_input_count;
extern const uint32_t tf_harness_input_stride;

static uint8_t tf_harness_output[TINYFORGE_OUTPUT_BYTES] __attribute__((aligned(16)));

int main(void)
{
    tf_sh_puts("TFH SIZES ");
    tf_sh_put_u32((uint32_t) (TINYFORGE_INPUT_BYTES));
    tf_sh_puts(" ");
    tf_sh_put_u32((uint32_t) (TINYFORGE_OUTPUT_BYTES));
    tf_sh_puts("\n");
    if (tf_harness_input_stride < (uint32_t) (TINYFORGE_INPUT_BYTES)) {
        tf_sh_puts("TFH BADSTRIDE\n");
        return 1;
    }

    for (uint32_t i = 0; i < tf_harness_input_count; i++) {
        const void *input = &tf_harness_inputs[i * tf_harness_input_stride];
        /* A pattern the model must overwrite: stale outputs cannot pass for new ones. */
        for (uint32_t k = 0; k < (uint32_t) (TINYFORGE_OUTPUT_BYTES); k++) {
            tf_harness_output[k] = (uint8_t) (0xA5u ^ i);
        }
        TF_MARK();
        int rc = tinyforge_model_invoke(input, tf_harness_output);
        TF_MARK();
        if (rc != 0) {
            tf_sh_puts("TFH FAIL ");
            tf_sh_put_u32(i);
            tf_sh_puts(" ");
            tf_sh_put_i32(rc);
            tf_sh_puts("\n");
            return rc;
        }
        tf_sh_puts("TFH OUT ");
        tf_sh_put_u32(i);
        tf_sh_puts(" ");
        tf_sh_put_hex_bytes(tf_harness_output, TINYFORGE_OUTPUT_BYTES);
        tf_sh_puts("\n");
    }

    tf_sh_puts("TFH STACK ");
    tf_sh_put_u32(tf_stack_used_bytes());
    tf_sh_puts(" ");
    tf_sh_put_u32(tf_stack_size_bytes());
    tf_sh_puts("\nTFH DONE\n");
    return 0;
}
