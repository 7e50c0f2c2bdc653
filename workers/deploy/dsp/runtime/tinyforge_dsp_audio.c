/*
 * Frame-based audio blocks (docs/dsp.md "Primitives", Spectrogram, MFE, MFCC):
 * scale -> pre-emphasis -> rectangular frames -> real FFT -> power spectrum ->
 * sparse mel filterbank -> log / dB mapping -> orthonormal DCT-II -> sliding CMVN.
 * float32 arithmetic; the order of operations follows the NumPy reference.
 */
#include <math.h>

#include "tinyforge_dsp.h"

#define LOG_FLOOR 1e-30f
#define CMVN_EPS 9.3132257461547852e-10f /* 2^-30 */

float tinyforge_dsp_log_floor(float x)
{
    return logf(x > LOG_FLOOR ? x : LOG_FLOOR);
}

float tinyforge_dsp_db_map(float power, float noise_floor_db, float db_scale)
{
    const float db = 10.0f * log10f(power > LOG_FLOOR ? power : LOG_FLOOR);
    const float v = (db - noise_floor_db) * db_scale;
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

void tinyforge_dsp_load_frame(const tinyforge_dsp_audio_t *cfg, const float *window,
                              uint32_t axis, uint32_t frame, float *buf)
{
    const uint32_t n_fft = cfg->fft.n;
    const uint32_t axes = cfg->n_axes;
    const uint32_t start = frame * cfg->stride_samples;
    const uint32_t len = cfg->frame_samples < n_fft ? cfg->frame_samples : n_fft;
    const float scale = cfg->input_scale;
    const float c = cfg->pre_cof;
    const float *x = window + axis;
    uint32_t i = 0;

    if (c != 0.0f) {
        if (start == 0u && len > 0u) {
            buf[0] = x[0] * scale; /* the filter starts at rest: y[0] = x[0] */
            i = 1;
        }
        for (; i < len; i++) {
            const uint32_t t = start + i;
            const float cur = x[t * axes] * scale;
            const float prev = x[(t - 1u) * axes] * scale;
            buf[i] = cur - c * prev;
        }
    } else {
        for (; i < len; i++) {
            buf[i] = x[(start + i) * axes] * scale;
        }
    }
    for (i = len; i < n_fft; i++) {
        buf[i] = 0.0f;
    }
}

/* |X_k|^2 for k = 0..n/2, in place over the interleaved spectrum (bin k -> spectrum[k]). */
static void power_in_place(float *spec, uint32_t bins)
{
    for (uint32_t k = 0; k < bins; k++) {
        const float re = spec[2u * k];
        const float im = spec[2u * k + 1u];
        spec[k] = re * re + im * im;
    }
}

void tinyforge_dsp_mel_energies(const tinyforge_dsp_audio_t *cfg, const float *power,
                                float *energies, float *total)
{
    const float *w = cfg->fb_weights;
    for (uint32_t j = 0; j < cfg->num_filters; j++) {
        const float *p = power + cfg->fb_start[j];
        const uint32_t len = cfg->fb_len[j];
        float acc = 0.0f;
        for (uint32_t k = 0; k < len; k++) {
            acc += p[k] * w[k];
        }
        w += len;
        energies[j] = acc;
    }
    if (total != 0) {
        const uint32_t bins = cfg->fft.n / 2u + 1u;
        const float gain = cfg->energy_gain;
        float acc = 0.0f;
        for (uint32_t k = 0; k < bins; k++) {
            acc += power[k] * gain;
        }
        *total = acc;
    }
}

int tinyforge_dsp_spectrogram(const tinyforge_dsp_audio_t *cfg, const float *window,
                              float *features, float *scratch)
{
    const uint32_t bins = cfg->fft.n / 2u + 1u;
    float *out = features;
    for (uint32_t a = 0; a < cfg->n_axes; a++) {
        for (uint32_t t = 0; t < cfg->n_frames; t++) {
            tinyforge_dsp_load_frame(cfg, window, a, t, scratch);
            tinyforge_dsp_rfft(&cfg->fft, scratch);
            power_in_place(scratch, bins);
            for (uint32_t k = 0; k < bins; k++) {
                out[k] = tinyforge_dsp_db_map(scratch[k] * cfg->power_scale,
                                              cfg->noise_floor_db, cfg->db_scale);
            }
            out += bins;
        }
    }
    return TINYFORGE_DSP_OK;
}

int tinyforge_dsp_mfe(const tinyforge_dsp_audio_t *cfg, const float *window, float *features,
                      float *scratch)
{
    const uint32_t bins = cfg->fft.n / 2u + 1u;
    float *out = features;
    for (uint32_t a = 0; a < cfg->n_axes; a++) {
        for (uint32_t t = 0; t < cfg->n_frames; t++) {
            tinyforge_dsp_load_frame(cfg, window, a, t, scratch);
            tinyforge_dsp_rfft(&cfg->fft, scratch);
            power_in_place(scratch, bins);
            tinyforge_dsp_mel_energies(cfg, scratch, out, 0);
            for (uint32_t j = 0; j < cfg->num_filters; j++) {
                out[j] = tinyforge_dsp_db_map(out[j], cfg->noise_floor_db, cfg->db_scale);
            }
            out += cfg->num_filters;
        }
    }
    return TINYFORGE_DSP_OK;
}

/* Mean over the win_size padded rows src[0..win_size-1] (frame indices of the padding) of
 * coefficients k..k+3 (4 at a time so the sums stay in registers), summed as offsets from the
 * window's first row: a window of identical rows has exactly that row as its mean (so a
 * stretch of digital silence normalises to exactly 0 instead of to amplified rounding noise),
 * and the shift keeps the float32 sums well conditioned. */
static void window_mean4(const float *x, uint32_t n_coef, uint32_t k, const uint16_t *src,
                         uint32_t win_size, float inv_win, float *mean)
{
    const float *o = x + (uint32_t) src[0] * n_coef + k;
    const float o0 = o[0], o1 = o[1], o2 = o[2], o3 = o[3];
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (uint32_t t = 1; t < win_size; t++) {
        const float *row = x + (uint32_t) src[t] * n_coef + k;
        a0 += row[0] - o0;
        a1 += row[1] - o1;
        a2 += row[2] - o2;
        a3 += row[3] - o3;
    }
    mean[0] = o0 + a0 * inv_win;
    mean[1] = o1 + a1 * inv_win;
    mean[2] = o2 + a2 * inv_win;
    mean[3] = o3 + a3 * inv_win;
}

static float window_mean1(const float *x, uint32_t n_coef, uint32_t k, const uint16_t *src,
                          uint32_t win_size, float inv_win)
{
    const float o0 = x[(uint32_t) src[0] * n_coef + k];
    float a0 = 0.0f;
    for (uint32_t t = 1; t < win_size; t++) {
        a0 += x[(uint32_t) src[t] * n_coef + k] - o0;
    }
    return o0 + a0 * inv_win;
}

/* Population variance about `mu` over the window, coefficients k..k+3 / k. */
static void window_var4(const float *x, uint32_t n_coef, uint32_t k, const uint16_t *src,
                        uint32_t win_size, float inv_win, const float *mu, float *var)
{
    const float m0 = mu[0], m1 = mu[1], m2 = mu[2], m3 = mu[3];
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (uint32_t t = 0; t < win_size; t++) {
        const float *row = x + (uint32_t) src[t] * n_coef + k;
        const float d0 = row[0] - m0, d1 = row[1] - m1, d2 = row[2] - m2, d3 = row[3] - m3;
        a0 += d0 * d0;
        a1 += d1 * d1;
        a2 += d2 * d2;
        a3 += d3 * d3;
    }
    var[0] = a0 * inv_win;
    var[1] = a1 * inv_win;
    var[2] = a2 * inv_win;
    var[3] = a3 * inv_win;
}

static float window_var1(const float *x, uint32_t n_coef, uint32_t k, const uint16_t *src,
                         uint32_t win_size, float inv_win, float mu)
{
    float a0 = 0.0f;
    for (uint32_t t = 0; t < win_size; t++) {
        const float d0 = x[(uint32_t) src[t] * n_coef + k] - mu;
        a0 += d0 * d0;
    }
    return a0 * inv_win;
}

void tinyforge_dsp_sliding_cmvn(float *c, float *m, float *acc, uint32_t n_frames,
                                uint32_t n_coef, uint32_t win_size, const uint16_t *source)
{
    const float inv_win = 1.0f / (float) win_size;
    float *mu = acc;
    float *var = acc + n_coef;
    /* m_i = c_i - mean(window of c) */
    for (uint32_t i = 0; i < n_frames; i++) {
        const uint16_t *src = source + i;
        uint32_t k = 0;
        for (; k + 4u <= n_coef; k += 4u) {
            window_mean4(c, n_coef, k, src, win_size, inv_win, mu + k);
        }
        for (; k < n_coef; k++) {
            mu[k] = window_mean1(c, n_coef, k, src, win_size, inv_win);
        }
        for (k = 0; k < n_coef; k++) {
            m[i * n_coef + k] = c[i * n_coef + k] - mu[k];
        }
    }
    /* y_i = m_i / (std(window of m) + 2^-30), population std, two passes per window */
    for (uint32_t i = 0; i < n_frames; i++) {
        const uint16_t *src = source + i;
        uint32_t k = 0;
        for (; k + 4u <= n_coef; k += 4u) {
            window_mean4(m, n_coef, k, src, win_size, inv_win, mu + k);
            window_var4(m, n_coef, k, src, win_size, inv_win, mu + k, var + k);
        }
        for (; k < n_coef; k++) {
            mu[k] = window_mean1(m, n_coef, k, src, win_size, inv_win);
            var[k] = window_var1(m, n_coef, k, src, win_size, inv_win, mu[k]);
        }
        for (k = 0; k < n_coef; k++) {
            c[i * n_coef + k] = m[i * n_coef + k] / (sqrtf(var[k]) + CMVN_EPS);
        }
    }
}

int tinyforge_dsp_mfcc(const tinyforge_dsp_audio_t *cfg, const float *window, float *features,
                       float *scratch)
{
    const uint32_t n_fft = cfg->fft.n;
    const uint32_t bins = n_fft / 2u + 1u;
    const uint32_t nf = cfg->num_filters;
    const uint32_t nc = cfg->num_cepstral;
    const uint32_t first = (n_fft + 2u > 2u * nc) ? n_fft + 2u : 2u * nc;
    float *spec = scratch;                     /* n_fft + 2 (CMVN: 2 * num_cepstral) */
    float *logs = scratch + first;             /* num_filters + 1 */
    float *m = logs + nf + 1u;                 /* n_frames * num_cepstral (CMVN) */
    float *out = features;

    for (uint32_t a = 0; a < cfg->n_axes; a++) {
        float *axis_out = out;
        for (uint32_t t = 0; t < cfg->n_frames; t++) {
            float total;
            tinyforge_dsp_load_frame(cfg, window, a, t, spec);
            tinyforge_dsp_rfft(&cfg->fft, spec);
            power_in_place(spec, bins);
            tinyforge_dsp_mel_energies(cfg, spec, logs, &total);
            for (uint32_t j = 0; j < nf; j++) {
                logs[j] = tinyforge_dsp_log_floor(logs[j]);
            }
            const float *row = cfg->dct + nf; /* row 0 is replaced below */
            for (uint32_t k = 1; k < nc; k++) {
                float acc = 0.0f;
                for (uint32_t j = 0; j < nf; j++) {
                    acc += logs[j] * row[j];
                }
                out[k] = acc;
                row += nf;
            }
            out[0] = tinyforge_dsp_log_floor(total); /* c0 := log frame energy */
            out += nc;
        }
        if (cfg->win_size > 0u) {
            tinyforge_dsp_sliding_cmvn(axis_out, m, spec, cfg->n_frames, nc, cfg->win_size,
                                       cfg->cmvn_source);
        }
    }
    return TINYFORGE_DSP_OK;
}
