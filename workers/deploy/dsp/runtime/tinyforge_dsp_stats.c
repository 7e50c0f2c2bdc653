/*
 * Raw, Flatten, Spectral analysis (FFT) and Image blocks (docs/dsp.md "Processing blocks").
 *
 * Flatten, the Butterworth filter and the moments of Spectral analysis run in double, as the
 * reference does (it computes them in float64); everything else is float32. On a core
 * without a double-precision FPU these are software routines, but the blocks are O(n).
 */
#include <math.h>

#include "tinyforge_dsp.h"

#define LOG_FLOOR 1e-30f

void tinyforge_dsp_raw(const float *window, float *features, uint32_t n, float scale)
{
    for (uint32_t i = 0; i < n; i++) {
        features[i] = window[i] * scale;
    }
}

/* Central moments of one axis in double: mean, m2, m3, m4 (reference: blocks/flatten.moments). */
typedef struct {
    double mean, m2, m3, m4;
} moments_t;

static moments_t moments_f32(const float *x, uint32_t stride, uint32_t n)
{
    moments_t r;
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        sum += (double) x[i * stride];
    }
    r.mean = sum / (double) n;
    double s2 = 0.0, s3 = 0.0, s4 = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        const double c = (double) x[i * stride] - r.mean;
        const double c2 = c * c;
        s2 += c2;
        s3 += c2 * c;
        s4 += c2 * c2;
    }
    r.m2 = s2 / (double) n;
    r.m3 = s3 / (double) n;
    r.m4 = s4 / (double) n;
    return r;
}

/* Skewness m3/m2^1.5 and excess kurtosis m4/m2^2 - 3; 0 for a constant window. */
static void shape_stats(const moments_t *r, double *skew, double *kurt)
{
    const double scale = fabs(r->mean) + 1e-30;
    const double limit = 1e-12 * scale;
    if (r->m2 <= limit * limit) {
        *skew = 0.0;
        *kurt = 0.0;
        return;
    }
    *skew = r->m3 / (r->m2 * sqrt(r->m2));
    *kurt = r->m4 / (r->m2 * r->m2) - 3.0;
}

int tinyforge_dsp_flatten(const tinyforge_dsp_flatten_t *cfg, const float *window,
                          float *features)
{
    const uint32_t n = cfg->n_samples;
    const uint32_t axes = cfg->n_axes;
    const double scale = cfg->scale;
    float *out = features;
    if (n == 0u || cfg->stat_mask == 0u) {
        return TINYFORGE_DSP_EBADCONFIG;
    }
    for (uint32_t a = 0; a < axes; a++) {
        const float *x = window + a;
        double sum = 0.0, sq = 0.0;
        double lo = (double) x[0] * scale, hi = lo;
        for (uint32_t i = 0; i < n; i++) {
            const double v = (double) x[i * axes] * scale;
            sum += v;
            sq += v * v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        const double mean = sum / (double) n;
        double s2 = 0.0, s3 = 0.0, s4 = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            const double c = (double) x[i * axes] * scale - mean;
            const double c2 = c * c;
            s2 += c2;
            s3 += c2 * c;
            s4 += c2 * c2;
        }
        moments_t r = {mean, s2 / (double) n, s3 / (double) n, s4 / (double) n};
        double skew, kurt;
        shape_stats(&r, &skew, &kurt);
        const uint32_t mask = cfg->stat_mask;
        if (mask & TINYFORGE_DSP_STAT_AVERAGE) *out++ = (float) mean;
        if (mask & TINYFORGE_DSP_STAT_MINIMUM) *out++ = (float) lo;
        if (mask & TINYFORGE_DSP_STAT_MAXIMUM) *out++ = (float) hi;
        if (mask & TINYFORGE_DSP_STAT_RMS) *out++ = (float) sqrt(sq / (double) n);
        if (mask & TINYFORGE_DSP_STAT_STDEV) *out++ = (float) sqrt(r.m2);
        if (mask & TINYFORGE_DSP_STAT_SKEWNESS) *out++ = (float) skew;
        if (mask & TINYFORGE_DSP_STAT_KURTOSIS) *out++ = (float) kurt;
    }
    return TINYFORGE_DSP_OK;
}

void tinyforge_dsp_sosfilt(const double *sos, uint32_t n_sections, const float *x,
                           uint32_t stride, float *y, uint32_t n)
{
    double z[2 * 16];
    const uint32_t sections = n_sections > 16u ? 16u : n_sections;
    for (uint32_t s = 0; s < 2u * sections; s++) {
        z[s] = 0.0;
    }
    for (uint32_t i = 0; i < n; i++) {
        double v = (double) x[i * stride];
        for (uint32_t s = 0; s < sections; s++) {
            const double *c = sos + 6u * s;
            const double out = c[0] * v + z[2u * s];
            z[2u * s] = c[1] * v - c[4] * out + z[2u * s + 1u];
            z[2u * s + 1u] = c[2] * v - c[5] * out;
            v = out;
        }
        y[i] = (float) v;
    }
}

int tinyforge_dsp_spectral(const tinyforge_dsp_spectral_t *cfg, const float *window,
                           float *features, float *scratch)
{
    const uint32_t n = cfg->n_samples;
    const uint32_t axes = cfg->n_axes;
    const uint32_t n_fft = cfg->fft.n;
    const uint32_t bins = n_fft / 2u + 1u;
    float *x = scratch;                 /* n */
    float *seg = scratch + n;           /* n_fft + 2 */
    float *acc = seg + n_fft + 2u;      /* bins */
    float *out = features;

    if (cfg->n_sections > 16u || n < n_fft || cfg->n_segments == 0u) {
        return TINYFORGE_DSP_EBADCONFIG;
    }
    for (uint32_t a = 0; a < axes; a++) {
        for (uint32_t i = 0; i < n; i++) {
            x[i] = window[i * axes + a] * cfg->scale;
        }
        if (cfg->n_sections > 0u) {
            tinyforge_dsp_sosfilt(cfg->sos, cfg->n_sections, x, 1u, x, n);
        }
        double sum = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            sum += (double) x[i];
        }
        const float mean = (float) (sum / (double) n);
        double sq = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            x[i] = x[i] - mean;
            sq += (double) x[i] * (double) x[i];
        }
        moments_t r = moments_f32(x, 1u, n);
        double skew, kurt;
        shape_stats(&r, &skew, &kurt);
        *out++ = (float) sqrt(sq / (double) n);
        *out++ = (float) skew;
        *out++ = (float) kurt;

        /* Welch: Hann-windowed segments, |X|^2 * psd_scale, inner bins doubled, mean */
        for (uint32_t k = 0; k < bins; k++) {
            acc[k] = 0.0f;
        }
        for (uint32_t s = 0; s < cfg->n_segments; s++) {
            const float *src = x + s * cfg->step;
            for (uint32_t i = 0; i < n_fft; i++) {
                seg[i] = src[i] * cfg->hann[i];
            }
            tinyforge_dsp_rfft(&cfg->fft, seg);
            for (uint32_t k = 0; k < bins; k++) {
                const float re = seg[2u * k];
                const float im = seg[2u * k + 1u];
                float p = (re * re + im * im) * cfg->psd_scale;
                if (k > 0u && k < bins - 1u) {
                    p *= 2.0f;
                }
                acc[k] += p;
            }
        }
        const float count = (float) cfg->n_segments;
        for (uint32_t k = 1; k < bins; k++) { /* DC is dropped */
            float p = acc[k] / count;
            if (cfg->do_log) {
                p = log10f(p > LOG_FLOOR ? p : LOG_FLOOR);
            }
            *out++ = p;
        }
    }
    return TINYFORGE_DSP_OK;
}

int tinyforge_dsp_image(const tinyforge_dsp_image_t *cfg, const float *pixels,
                        float *features)
{
    const uint32_t cin = cfg->in_channels;
    const uint32_t cout = cfg->out_channels;
    if ((cin != 1u && cin != 3u) || (cout != 1u && cout != 3u)) {
        return TINYFORGE_DSP_EBADCONFIG;
    }
    for (uint32_t p = 0; p < cfg->n_pixels; p++) {
        const float *px = pixels + p * cin;
        float v[3];
        if (cout == 1u && cin == 3u) {
            /* BT.601 luma, rounded half up (x @ [0.299, 0.587, 0.114] + 0.5, floor) */
            const float luma = px[0] * 0.299f + px[1] * 0.587f + px[2] * 0.114f;
            v[0] = floorf(luma + 0.5f);
        } else if (cout == 3u && cin == 1u) {
            v[0] = v[1] = v[2] = px[0];
        } else {
            for (uint32_t c = 0; c < cout; c++) {
                v[c] = px[c];
            }
        }
        for (uint32_t c = 0; c < cout; c++) {
            features[p * cout + c] = cfg->int8_range ? v[c] - 128.0f : v[c] / 255.0f;
        }
    }
    return TINYFORGE_DSP_OK;
}
