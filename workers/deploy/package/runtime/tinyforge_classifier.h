/* Tinyforge impulse API: signal -> DSP -> model -> per-label scores (and anomaly score).
 * Hand-written runtime; the impulse's numbers come from the generated tinyforge_impulse.h. */
#ifndef TINYFORGE_CLASSIFIER_H
#define TINYFORGE_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "tinyforge_impulse.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *label;
    float value; /* score in [0, 1] for classifiers, the raw output for regression */
} tinyforge_category_t;

typedef struct {
    tinyforge_category_t classification[TINYFORGE_LABEL_COUNT];
    float anomaly;              /* anomaly score (> TINYFORGE_ANOMALY_THRESHOLD: anomalous); 0 without an anomaly block */
    uint32_t dsp_us;            /* time spent in each stage, from tinyforge_timer_us() */
    uint32_t classification_us;
    uint32_t anomaly_us;
} tinyforge_result_t;

typedef struct {
    uint32_t arena_bytes;       /* model scratch memory (static, inside the library) */
    uint32_t dsp_scratch_bytes; /* DSP scratch memory (static) */
    uint32_t label_count;
    const char *const *labels;
    uint32_t window_samples;    /* samples per window, per axis */
    uint32_t axes;
    uint32_t signal_floats;     /* window_samples * axes: what tinyforge_run_classifier reads */
    uint32_t slice_samples;     /* samples per axis consumed by one continuous-mode step */
    float frequency_hz;
    uint32_t n_features;
    uint32_t model_input_bytes;
    int model_is_int8;
    int has_anomaly;
} tinyforge_model_info_t;

/* Classify one window: `signal` holds TINYFORGE_SIGNAL_FLOATS floats, samples x axes
 * (row-major), in the units the impulse was trained on. Returns 0 on success. */
int tinyforge_run_classifier(const float *signal, tinyforge_result_t *result);

/* Continuous (sliding-window) mode, e.g. for audio: feed TINYFORGE_SLICE_SAMPLES x axes floats at a
 * time. Once a full window has been seen, every call classifies the latest window and sets
 * *ready to 1 (0 until then). Returns 0 on success. */
int tinyforge_run_classifier_continuous(const float *slice, tinyforge_result_t *result, int *ready);

/* Forget the continuous-mode history. */
void tinyforge_reset_continuous(void);

void tinyforge_model_info(tinyforge_model_info_t *info);

/* Timing hook: microseconds from any monotonic clock. The default returns 0; define your own
 * (a strong symbol) to get stage timings in tinyforge_result_t. */
uint32_t tinyforge_timer_us(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYFORGE_CLASSIFIER_H */
