/*
 * Profiling program: one inference of a Tinyforge model library built with
 * -DTINYFORGE_PROFILE_OPERATORS, on a seeded pseudo-random input, for the QEMU class counter.
 *
 * The SEV markers enclose: the input copy, then every operator (one region per tensor it
 * writes: the model template marks after each), then the output copy. Prints
 *   TINYFORGE STACK <used bytes> <reserved bytes>
 *   TINYFORGE DONE
 */
#include <stdint.h>

#include "tinyforge_model.h"
#include "tinyforge_semihost.h"
#include "tinyforge_startup.h"

static uint8_t tinyforge_profile_input[TINYFORGE_INPUT_BYTES] __attribute__((aligned(16)));
static uint8_t tinyforge_profile_output[TINYFORGE_OUTPUT_BYTES] __attribute__((aligned(16)));

int main(void)
{
    uint32_t x = 12345u;
    for (uint32_t i = 0; i < (uint32_t) (TINYFORGE_INPUT_BYTES); i++) {
        x = x * 1664525u + 1013904223u;
        tinyforge_profile_input[i] = (uint8_t) (x >> 24);
    }
#ifdef TINYFORGE_PROFILE_FLOAT_INPUT
    /* float inputs: small finite values in [-2, 2) instead of random bit patterns */
    for (uint32_t i = 0; i + 4 <= (uint32_t) (TINYFORGE_INPUT_BYTES); i += 4) {
        float v = (float) ((int) tinyforge_profile_input[i] - 128) / 64.0f;
        __builtin_memcpy(&tinyforge_profile_input[i], &v, 4);
    }
#endif
    TINYFORGE_MARK();
    int rc = tinyforge_model_invoke(tinyforge_profile_input, tinyforge_profile_output);
    TINYFORGE_MARK();
    if (rc != 0) {
        tinyforge_semihost_puts("TINYFORGE FAIL 0 ");
        tinyforge_semihost_put_i32(rc);
        tinyforge_semihost_puts("\n");
        return rc;
    }
    tinyforge_semihost_puts("TINYFORGE STACK ");
    tinyforge_semihost_put_u32(tinyforge_stack_used_bytes());
    tinyforge_semihost_puts(" ");
    tinyforge_semihost_put_u32(tinyforge_stack_size_bytes());
    tinyforge_semihost_puts("\nTINYFORGE DONE\n");
    return 0;
}
