/*
 * Real FFT for power-of-two lengths: an n/2-point complex radix-2 FFT of the packed signal
 * followed by the split into the n/2 + 1 bins of the real transform. float32 throughout;
 * the twiddles come from a const table generated at build time (see tinyforge_dsp.h).
 */
#include "tinyforge_dsp.h"

static void complex_fft(const tinyforge_dsp_rfft_t *plan, float *z)
{
    const uint32_t m = plan->n >> 1; /* complex points */
    const float *tw = plan->twiddle;

    /* bit-reversal permutation */
    for (uint32_t i = 0; i < m; i++) {
        const uint32_t j = plan->bitrev[i];
        if (j > i) {
            const float re = z[2u * i];
            const float im = z[2u * i + 1u];
            z[2u * i] = z[2u * j];
            z[2u * i + 1u] = z[2u * j + 1u];
            z[2u * j] = re;
            z[2u * j + 1u] = im;
        }
    }

    /* sizes 2 and 4 together (twiddles 1 and -i: no multiplications) */
    if (m >= 4u) {
        for (uint32_t s = 0; s < m; s += 4u) {
            float *a = &z[2u * s];
            const float r0 = a[0], i0 = a[1], r1 = a[2], i1 = a[3];
            const float r2 = a[4], i2 = a[5], r3 = a[6], i3 = a[7];
            const float sr = r0 + r1, si = i0 + i1, pr = r0 - r1, pi = i0 - i1;
            const float tr = r2 + r3, ti = i2 + i3, qr = r2 - r3, qi = i2 - i3;
            a[0] = sr + tr;
            a[1] = si + ti;
            a[4] = sr - tr;
            a[5] = si - ti;
            a[2] = pr + qi; /* p + (-i) q */
            a[3] = pi - qr;
            a[6] = pr - qi;
            a[7] = pi + qr;
        }
    } else {
        for (uint32_t s = 0; s < m; s += 2u) {
            float *a = &z[2u * s];
            const float ar = a[0], ai = a[1], br = a[2], bi = a[3];
            a[0] = ar + br;
            a[1] = ai + bi;
            a[2] = ar - br;
            a[3] = ai - bi;
        }
    }

    /* Then two radix-2 stages at a time (radix-4 butterflies on the bit-reversed order): with
     * sub-transforms of length h done, the points A, B, C, D at j, j+h, j+2h, j+3h of a block
     * of 4h combine with w = exp(-2 pi i j / 4h) into
     *   X[j] = (A + w^2 B) + (w C + w^3 D),   X[j+2h] = (A + w^2 B) - (w C + w^3 D),
     *   X[j+h] = (A - w^2 B) - i (w C - w^3 D), X[j+3h] = (A - w^2 B) + i (w C - w^3 D).
     * Twiddle w^p is table entry p j n / 4h; entries past n/2 are minus the entry n/2 earlier. */
    const uint32_t n = plan->n;
    uint32_t h = 4u;
    for (; 4u * h <= m; h <<= 2) {
        const uint32_t step = n / (4u * h);
        for (uint32_t j = 0; j < h; j++) {
            float c1, s1, c2, s2, c3, s3;
            {
                const uint32_t k1 = j * step, k2 = 2u * j * step, k3 = 3u * j * step;
                c1 = tw[2u * k1];
                s1 = tw[2u * k1 + 1u];
                c2 = tw[2u * k2];
                s2 = tw[2u * k2 + 1u];
                if (k3 < m) {
                    c3 = tw[2u * k3];
                    s3 = tw[2u * k3 + 1u];
                } else {
                    c3 = -tw[2u * (k3 - m)];
                    s3 = -tw[2u * (k3 - m) + 1u];
                }
            }
            for (uint32_t start = j; start < m; start += 4u * h) {
                float *pa = &z[2u * start];
                float *pb = pa + 2u * h;
                float *pc = pb + 2u * h;
                float *pd = pc + 2u * h;
                const float ar = pa[0], ai = pa[1];
                const float br = pb[0] * c2 + pb[1] * s2; /* w^2 B, w = c - i s */
                const float bi = pb[1] * c2 - pb[0] * s2;
                const float cr = pc[0] * c1 + pc[1] * s1; /* w C */
                const float ci = pc[1] * c1 - pc[0] * s1;
                const float dr = pd[0] * c3 + pd[1] * s3; /* w^3 D */
                const float di = pd[1] * c3 - pd[0] * s3;
                const float sr = ar + br, si = ai + bi, er = ar - br, ei = ai - bi;
                const float ur = cr + dr, ui = ci + di, vr = cr - dr, vi = ci - di;
                pa[0] = sr + ur;
                pa[1] = si + ui;
                pc[0] = sr - ur;
                pc[1] = si - ui;
                pb[0] = er + vi; /* e - i v */
                pb[1] = ei - vr;
                pd[0] = er - vi; /* e + i v */
                pd[1] = ei + vr;
            }
        }
    }

    /* a last radix-2 stage when log2(m) is odd: W = exp(-2 pi i j / 2h) */
    if (2u * h <= m) {
        const uint32_t step = n / (2u * h);
        for (uint32_t j = 0; j < h; j++) {
            const float c = tw[2u * j * step];
            const float s = tw[2u * j * step + 1u];
            for (uint32_t start = j; start < m; start += 2u * h) {
                float *a = &z[2u * start];
                float *b = a + 2u * h;
                const float ar = a[0], ai = a[1], br = b[0], bi = b[1];
                const float tr = br * c + bi * s;
                const float ti = bi * c - br * s;
                b[0] = ar - tr;
                b[1] = ai - ti;
                a[0] = ar + tr;
                a[1] = ai + ti;
            }
        }
    }
}

void tinyforge_dsp_rfft(const tinyforge_dsp_rfft_t *plan, float *buf)
{
    const uint32_t n = plan->n;
    const uint32_t m = n >> 1;
    const float *tw = plan->twiddle;

    complex_fft(plan, buf);

    /* X[k] = Fe[k] + W^k Fo[k] with Fe = (Z[k] + conj Z[m-k]) / 2,
     * Fo = (Z[k] - conj Z[m-k]) / 2i, W = exp(-2 pi i / n); X[m-k] = conj(Fe - W^k Fo). */
    const float z0r = buf[0], z0i = buf[1];
    buf[0] = z0r + z0i;
    buf[1] = 0.0f;
    buf[n] = z0r - z0i;
    buf[n + 1u] = 0.0f;
    for (uint32_t k = 1; k <= m / 2u; k++) {
        const uint32_t j = m - k;
        const float ar = buf[2u * k], ai = buf[2u * k + 1u];
        const float br = buf[2u * j], bi = buf[2u * j + 1u];
        const float fer = 0.5f * (ar + br);
        const float fei = 0.5f * (ai - bi);
        const float for_ = 0.5f * (ai + bi);
        const float foi = 0.5f * (br - ar);
        const float c = tw[2u * k];
        const float s = tw[2u * k + 1u];
        const float wr = for_ * c + foi * s; /* (c - i s)(for + i foi) */
        const float wi = foi * c - for_ * s;
        buf[2u * k] = fer + wr;
        buf[2u * k + 1u] = fei + wi;
        buf[2u * j] = fer - wr;
        buf[2u * j + 1u] = wi - fei;
    }
}
