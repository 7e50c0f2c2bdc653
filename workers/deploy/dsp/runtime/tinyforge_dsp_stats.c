/*
 * Raw, Flatten, Spectral analysis (FFT or wavelets) and Image blocks (docs/dsp.md "Processing blocks").
 *
 * Flatten, the Butterworth filter and the moments of Spectral analysis run in double, as the
 * reference does (it computes them in float64); everything else is float32. On a core
 * without a double-precision FPU these are software routines, but the blocks are O(n).
 */
#include <math.h>
#include <stddef.h>

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

/* One level of pywt.dwt(x, mode="symmetric"): out[o] = sum_j f[j] * ext(2o + 1 - j), ext the
 * half-sample symmetric extension of x (period 2n), summed in double in pywt's order. */
static void dwt_level(const float *x, uint32_t n, const tinyforge_dsp_spectral_t *cfg, float *approx,
                      float *detail)
{
    const uint32_t taps = cfg->wavelet_taps;
    const uint32_t out_n = (n + taps - 1u) / 2u;
    const int32_t period = 2 * (int32_t) n;
    for (uint32_t o = 0; o < out_n; o++) {
        const int32_t i = 2 * (int32_t) o + 1;
        double sa = 0.0, sd = 0.0;
        if (i >= (int32_t) taps - 1 && i < (int32_t) n) { /* inside the signal: no extension */
            const float *xi = x + i;
            for (uint32_t j = 0; j < taps; j++) {
                sa += cfg->dec_lo[j] * (double) xi[-(int32_t) j];
                sd += cfg->dec_hi[j] * (double) xi[-(int32_t) j];
            }
        } else {
            for (uint32_t j = 0; j < taps; j++) {
                int32_t m = (i - (int32_t) j) % period;
                if (m < 0) m += period;
                if (m >= (int32_t) n) m = period - 1 - m;
                sa += cfg->dec_lo[j] * (double) x[m];
                sd += cfg->dec_hi[j] * (double) x[m];
            }
        }
        approx[o] = (float) sa;
        detail[o] = (float) sd;
    }
}

/* Move v[root] down the max-heap v[0..n) until both children are smaller. */
static void sift_down(float *v, uint32_t root, uint32_t n)
{
    while (2u * root + 1u < n) {
        uint32_t child = 2u * root + 1u;
        if (child + 1u < n && v[child] < v[child + 1u]) child++;
        if (!(v[root] < v[child])) return;
        const float t = v[root]; v[root] = v[child]; v[child] = t;
        root = child;
    }
}

static void heapsort_f32(float *v, uint32_t n)
{
    for (uint32_t start = n / 2u; start-- > 0u;) sift_down(v, start, n);
    for (uint32_t end = n; end-- > 1u;) {
        const float t = v[0]; v[0] = v[end]; v[end] = t;
        sift_down(v, 0u, end);
    }
}

/* numpy.percentile(..., method="linear") of sorted values, with numpy's two-sided lerp */
static double percentile_sorted(const float *s, uint32_t m, double q)
{
    const double vi = (double) (m - 1u) * q;
    const double below = floor(vi);
    const uint32_t lo = (uint32_t) below;
    const uint32_t hi = lo + 1u < m ? lo + 1u : m - 1u;
    const double t = vi - below, a = (double) s[lo], b = (double) s[hi], diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

/* The 11 statistics of one coefficient array (reference: blocks/spectral.wavelet_features). */
static void wavelet_stats(const float *c, uint32_t m, float *sorted, float *out)
{
    static const double quantiles[5] = {0.05, 0.25, 0.5, 0.75, 0.95};
    double sum = 0.0, sq = 0.0;
    for (uint32_t i = 0; i < m; i++) {
        sum += (double) c[i];
        sq += (double) c[i] * (double) c[i];
    }
    const double mean = sum / (double) m;
    double var = 0.0;
    uint32_t zc = 0u, mc = 0u;
    for (uint32_t i = 0; i < m; i++) {
        const double d = (double) c[i] - mean;
        var += d * d;
        if (i > 0u) {
            zc += signbit(c[i]) != signbit(c[i - 1u]);
            mc += signbit(d) != signbit((double) c[i - 1u] - mean);
        }
        sorted[i] = c[i];
    }
    heapsort_f32(sorted, m);
    double entropy = 0.0;
    if (sq > 0.0) {
        for (uint32_t i = 0; i < m; i++) {
            const double p = (double) c[i] * (double) c[i] / sq;
            /* logf: a double log per coefficient is most of the block's time on a core without
             * a double-precision FPU; its float32 rounding stays far inside the tolerance */
            const float pf = (float) p;  /* below float's range a term is < 1e-36: skipped */
            if (pf > 0.0f) entropy -= p * (double) logf(pf);
        }
    }
    const double denom = (double) (m > 1u ? m - 1u : 1u);
    *out++ = (float) mean;
    *out++ = (float) sqrt(var / (double) m);
    *out++ = (float) sqrt(sq / (double) m);
    for (uint32_t k = 0; k < 5u; k++) *out++ = (float) percentile_sorted(sorted, m, quantiles[k]);
    *out++ = (float) ((double) zc / denom);
    *out++ = (float) ((double) mc / denom);
    *out++ = (float) entropy;
}

/* wavedec to cfg->wavelet_levels: features for [cA_L, cD_L, ..., cD_1]; work: 4 * max_len floats */
static void wavelet_features(const tinyforge_dsp_spectral_t *cfg, const float *x, uint32_t n, float *work,
                             float *out)
{
    const uint32_t levels = cfg->wavelet_levels, max_len = cfg->wavelet_max_len;
    float *approx = work, *next = work + max_len, *detail = work + 2u * max_len, *sorted = work + 3u * max_len;
    const float *in = x;
    uint32_t len = n;
    for (uint32_t level = 1u; level <= levels; level++) {
        const uint32_t out_n = (len + cfg->wavelet_taps - 1u) / 2u;
        dwt_level(in, len, cfg, next, detail);
        wavelet_stats(detail, out_n, sorted, out + (levels - level + 1u) * TINYFORGE_DSP_WAVELET_STATS);
        float *t = approx;
        approx = next;
        next = t;
        in = approx;
        len = out_n;
    }
    wavelet_stats(in, len, sorted, out);
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

    if (cfg->n_sections > 16u) {
        return TINYFORGE_DSP_EBADCONFIG;
    }
    if (cfg->wavelet_levels > 0u
            ? (cfg->wavelet_taps < 2u || cfg->wavelet_max_len == 0u || cfg->dec_lo == NULL || cfg->dec_hi == NULL)
            : (n < n_fft || cfg->n_segments == 0u)) {
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
        if (cfg->wavelet_levels > 0u) {
            wavelet_features(cfg, x, n, scratch + n, out);
            out += (cfg->wavelet_levels + 1u) * TINYFORGE_DSP_WAVELET_STATS;
            continue;
        }

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
