/*
 * Profiling program for a processing block: one call of the generated `tinyforge_dsp_run` on a
 * seeded pseudo-random window (floats in [-1, 1)), between two SEV markers, for the QEMU class
 * counter. Prints
 *   TINYFORGE STACK <used bytes> <reserved bytes>
 *   TINYFORGE DONE
 */
#include <stdint.h>

#include "tinyforge_dsp_config.h"
#include "tinyforge_semihost.h"
#include "tinyforge_startup.h"

static float tinyforge_profile_window[TINYFORGE_DSP_INPUT_FLOATS];
static float tinyforge_profile_features[TINYFORGE_DSP_N_FEATURES];

int main(void)
{
    uint32_t x = 12345u;
    for (uint32_t i = 0; i < (uint32_t) (TINYFORGE_DSP_INPUT_FLOATS); i++) {
        x = x * 1664525u + 1013904223u;
        tinyforge_profile_window[i] = (float) ((int32_t) (x >> 8) - (1 << 23)) / (float) (1 << 23);
    }
    TINYFORGE_MARK();
    int rc = tinyforge_dsp_run(tinyforge_profile_window, tinyforge_profile_features);
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
