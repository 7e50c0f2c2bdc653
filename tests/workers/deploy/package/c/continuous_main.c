/* Test program: continuous mode must give, at every step, what tinyforge_run_classifier gives on the
 * latest full window. Reads a float32 signal (samples x axes) on stdin; prints "step max_diff". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tinyforge_classifier.h"

#define MAX_SAMPLES (TINYFORGE_WINDOW_SAMPLES * 4)

int main(void)
{
    static float signal[MAX_SAMPLES * TINYFORGE_AXES];
    size_t n = fread(signal, sizeof(float), sizeof signal / sizeof(float), stdin) / TINYFORGE_AXES;
    size_t pos;
    int steps = 0;
    tinyforge_result_t cont, full;
    tinyforge_reset_continuous();
    for (pos = 0; pos + TINYFORGE_SLICE_SAMPLES <= n; pos += TINYFORGE_SLICE_SAMPLES) {
        int ready = 0, i;
        float diff = 0.0f;
        if (tinyforge_run_classifier_continuous(signal + pos * TINYFORGE_AXES, &cont, &ready) != 0) return 1;
        if (!ready) continue;
        {
            size_t start = pos + TINYFORGE_SLICE_SAMPLES - TINYFORGE_WINDOW_SAMPLES;
            if (tinyforge_run_classifier(signal + start * TINYFORGE_AXES, &full) != 0) return 1;
        }
        for (i = 0; i < TINYFORGE_LABEL_COUNT; i++) {
            float d = fabsf(cont.classification[i].value - full.classification[i].value);
            if (d > diff) diff = d;
        }
        printf("%d %g\n", steps++, (double)diff);
    }
    return 0;
}
