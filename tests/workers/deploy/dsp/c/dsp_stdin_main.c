/*
 * Test driver for a generated DSP configuration: reads float32 windows
 * (TINYFORGE_DSP_INPUT_FLOATS each) on stdin until end of input and writes the
 * TINYFORGE_DSP_N_FEATURES float32 features of each to stdout. Exit code 0, or the
 * block's return code, or 3 on a truncated window.
 */
#include <stdio.h>

#include "tinyforge_dsp_config.h"

static float window_buf[TINYFORGE_DSP_INPUT_FLOATS];
static float features_buf[TINYFORGE_DSP_N_FEATURES];

int main(void)
{
    for (;;) {
        size_t got = fread(window_buf, sizeof(float), TINYFORGE_DSP_INPUT_FLOATS, stdin);
        if (got == 0) {
            return 0;
        }
        if (got != (size_t) TINYFORGE_DSP_INPUT_FLOATS) {
            fprintf(stderr, "truncated window: %u of %u floats\n", (unsigned) got,
                    (unsigned) TINYFORGE_DSP_INPUT_FLOATS);
            return 3;
        }
        for (size_t i = 0; i < (size_t) TINYFORGE_DSP_N_FEATURES; i++) {
            features_buf[i] = -12345.0f; /* a block that skips an output cannot pass */
        }
        int rc = tinyforge_dsp_run(window_buf, features_buf);
        if (rc != 0) {
            fprintf(stderr, "tinyforge_dsp_run returned %d\n", rc);
            return rc;
        }
        if (fwrite(features_buf, sizeof(float), TINYFORGE_DSP_N_FEATURES, stdout) !=
            (size_t) TINYFORGE_DSP_N_FEATURES) {
            return 4;
        }
    }
}
