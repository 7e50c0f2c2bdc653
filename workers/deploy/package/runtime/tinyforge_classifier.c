/* Tinyforge impulse API implementation (hand-written runtime, see tinyforge_classifier.h). */
#include <math.h>
#include <string.h>

#include "tinyforge_classifier.h"
#include "tinyforge_dsp_config.h"
#include "tinyforge_model.h"

#if defined(__GNUC__) || defined(__clang__)
__attribute__((weak)) uint32_t tinyforge_timer_us(void) { return 0; }
#else
uint32_t tinyforge_timer_us(void) { return 0; }
#endif

#if TINYFORGE_DSP_N_FEATURES != TINYFORGE_MODEL_FEATURES
#error "the DSP block's feature count does not match the model's input"
#endif
#if TINYFORGE_DSP_INPUT_FLOATS != TINYFORGE_SIGNAL_FLOATS
#error "the DSP block's window does not match the impulse's window"
#endif

static float features[TINYFORGE_DSP_N_FEATURES];
static TINYFORGE_MODEL_INPUT_T model_input[TINYFORGE_MODEL_FEATURES];
static TINYFORGE_MODEL_OUTPUT_T model_output[TINYFORGE_MODEL_OUTPUTS];

#if TINYFORGE_HAS_ANOMALY && !TINYFORGE_ANOMALY_GMM
/* K-means: the smallest over the clusters of (distance in standardised units to the centre) / the
 * cluster's radius. The minimum of the ratios, not the ratio at the nearest centre, keeps the score
 * continuous, so float32 rounding near a boundary between clusters cannot switch it. Radii are > 0
 * (the fit gives every cluster at least a tenth of the median radius). */
static float anomaly_score(const float *x)
{
    float z[TINYFORGE_ANOMALY_FEATURES];
    float best = 0.0f;
    int k, i;
    for (i = 0; i < TINYFORGE_ANOMALY_FEATURES; i++) {
        z[i] = (x[tinyforge_anomaly_feature_index[i]] - tinyforge_anomaly_mean[i]) / tinyforge_anomaly_scale[i];
    }
    for (k = 0; k < TINYFORGE_ANOMALY_CLUSTERS; k++) {
        const float *centre = &tinyforge_anomaly_centres[k * TINYFORGE_ANOMALY_FEATURES];
        float d2 = 0.0f, ratio;
        for (i = 0; i < TINYFORGE_ANOMALY_FEATURES; i++) {
            const float diff = z[i] - centre[i];
            d2 += diff * diff;
        }
        ratio = sqrtf(d2) / tinyforge_anomaly_radii[k];
        if (k == 0 || ratio < best) best = ratio;
    }
    return best;
}
#elif TINYFORGE_HAS_ANOMALY
/* Gaussian mixture: -log p(z) with log p(z) = logsumexp_k(const_k - |(z - mean_k) U_k|^2 / 2), where
 * U_k is the Cholesky factor of component k's precision (upper triangle stored column by column, or
 * its diagonal) and const_k = log weight_k + log det U_k - D log(2 pi) / 2, computed at build time. */
static float anomaly_score(const float *x)
{
    float z[TINYFORGE_ANOMALY_FEATURES], lp[TINYFORGE_ANOMALY_CLUSTERS];
    float top, sum = 0.0f;
    int k, i, j;
    for (i = 0; i < TINYFORGE_ANOMALY_FEATURES; i++) {
        z[i] = (x[tinyforge_anomaly_feature_index[i]] - tinyforge_anomaly_mean[i]) / tinyforge_anomaly_scale[i];
    }
    for (k = 0; k < TINYFORGE_ANOMALY_CLUSTERS; k++) {
        const float *mean = &tinyforge_anomaly_means[k * TINYFORGE_ANOMALY_FEATURES];
        float q = 0.0f;
#if TINYFORGE_ANOMALY_GMM_FULL
        const float *u = &tinyforge_anomaly_factors[k * (TINYFORGE_ANOMALY_FEATURES * (TINYFORGE_ANOMALY_FEATURES + 1) / 2)];
        for (j = 0; j < TINYFORGE_ANOMALY_FEATURES; j++) {
            float y = 0.0f;
            for (i = 0; i <= j; i++) y += (z[i] - mean[i]) * *u++;
            q += y * y;
        }
#else
        const float *u = &tinyforge_anomaly_factors[k * TINYFORGE_ANOMALY_FEATURES];
        for (j = 0; j < TINYFORGE_ANOMALY_FEATURES; j++) {
            const float y = (z[j] - mean[j]) * u[j];
            q += y * y;
        }
        (void)i;
#endif
        lp[k] = tinyforge_anomaly_const[k] - 0.5f * q;
    }
    top = lp[0];
    for (k = 1; k < TINYFORGE_ANOMALY_CLUSTERS; k++) if (lp[k] > top) top = lp[k];
    for (k = 0; k < TINYFORGE_ANOMALY_CLUSTERS; k++) sum += expf(lp[k] - top);
    return -(top + logf(sum));
}
#else
static float anomaly_score(const float *x)
{
    (void)x;
    return 0.0f;
}
#endif

int tinyforge_run_classifier(const float *signal, tinyforge_result_t *result)
{
    uint32_t t0, t1, t2;
    int i;
    if (signal == NULL || result == NULL) return -1;
    t0 = tinyforge_timer_us();
    if (tinyforge_dsp_run(signal, features) != 0) return -2;
    t1 = tinyforge_timer_us();
    for (i = 0; i < TINYFORGE_MODEL_FEATURES; i++) {
#if TINYFORGE_MODEL_INT8
        /* as TFLite's QUANTIZE: round half away from zero, add the zero point, clamp */
        float q = roundf(features[i] / TINYFORGE_INPUT_SCALE) + (float)TINYFORGE_INPUT_ZERO_POINT;
        if (q < -128.0f) q = -128.0f;
        if (q > 127.0f) q = 127.0f;
        model_input[i] = (int8_t)q;
#else
        model_input[i] = features[i];
#endif
    }
    if (tinyforge_model_invoke(model_input, model_output) != 0) return -3;
    for (i = 0; i < TINYFORGE_LABEL_COUNT; i++) {
        result->classification[i].label = tinyforge_labels[i];
#if TINYFORGE_MODEL_INT8
        result->classification[i].value =
            ((float)model_output[i] - (float)TINYFORGE_OUTPUT_ZERO_POINT) * TINYFORGE_OUTPUT_SCALE;
#else
        result->classification[i].value = model_output[i];
#endif
    }
    t2 = tinyforge_timer_us();
    result->anomaly = anomaly_score(features);
    result->dsp_us = t1 - t0;
    result->classification_us = t2 - t1;
    result->anomaly_us = tinyforge_timer_us() - t2;
    return 0;
}

#if TINYFORGE_CONTINUOUS
static float history[TINYFORGE_SIGNAL_FLOATS];
static uint32_t history_samples = 0;

void tinyforge_reset_continuous(void)
{
    history_samples = 0;
    memset(history, 0, sizeof history);
}

int tinyforge_run_classifier_continuous(const float *slice, tinyforge_result_t *result, int *ready)
{
    const size_t keep = (size_t)(TINYFORGE_WINDOW_SAMPLES - TINYFORGE_SLICE_SAMPLES) * TINYFORGE_AXES;
    const size_t add = (size_t)TINYFORGE_SLICE_SAMPLES * TINYFORGE_AXES;
    if (slice == NULL || result == NULL || ready == NULL) return -1;
    memmove(history, history + add, keep * sizeof(float));
    memcpy(history + keep, slice, add * sizeof(float));
    if (history_samples < TINYFORGE_WINDOW_SAMPLES) history_samples += TINYFORGE_SLICE_SAMPLES;
    *ready = history_samples >= TINYFORGE_WINDOW_SAMPLES;
    return *ready ? tinyforge_run_classifier(history, result) : 0;
}
#else
/* image impulses classify whole frames: no sliding window (and no history buffer in RAM) */
void tinyforge_reset_continuous(void) {}

int tinyforge_run_classifier_continuous(const float *slice, tinyforge_result_t *result, int *ready)
{
    (void)slice;
    (void)result;
    if (ready != NULL) *ready = 0;
    return -4;
}
#endif

void tinyforge_model_info(tinyforge_model_info_t *info)
{
    if (info == NULL) return;
    info->arena_bytes = TINYFORGE_ARENA_BYTES;
    info->dsp_scratch_bytes = TINYFORGE_DSP_SCRATCH_BYTES;
    info->label_count = TINYFORGE_LABEL_COUNT;
    info->labels = tinyforge_labels;
    info->window_samples = TINYFORGE_WINDOW_SAMPLES;
    info->axes = TINYFORGE_AXES;
    info->signal_floats = TINYFORGE_SIGNAL_FLOATS;
    info->slice_samples = TINYFORGE_SLICE_SAMPLES;
    info->frequency_hz = TINYFORGE_FREQUENCY_HZ;
    info->n_features = TINYFORGE_DSP_N_FEATURES;
    info->model_input_bytes = TINYFORGE_INPUT_BYTES;
    info->model_is_int8 = TINYFORGE_MODEL_INT8;
    info->has_anomaly = TINYFORGE_HAS_ANOMALY;
}
