/* SIMD paths of the optimised int8 kernels for Linux targets, bit-exact with tinyforge_kernels_s8.c.
 * Hand-written runtime of the Tinyforge compiler; copied into every generated library.
 *
 * x86-64: SSE4.1 and AVX2 versions of the convolution, depthwise convolution and fully connected
 * kernels (AVX2 also ADD), and AVX-512 VNNI versions of all four, compiled with
 * __attribute__((target)) so the library builds with plain flags; the level is chosen once at run
 * time (__builtin_cpu_supports): 3 AVX-512 VNNI, 2 AVX2, 1 SSE4.1, capped by -DTINYFORGE_SIMD.
 * aarch64: NEON convolution and fully connected (depthwise and ADD take the generic loops there).
 * Elsewhere (Cortex-M, or -DTINYFORGE_SIMD=0) this file compiles to nothing.
 * The x86-64 kernels use static buffers (.bss): expanded columns 64 KiB, the expanded depthwise filter
 * 64 KiB, VNNI biases 8 KiB, the VNNI level's flipped input 256 KiB and its pack pool 2 MiB (pages
 * never touched cost no memory); shapes past them take the generic loops or the unpacked kernels.
 *
 * The VNNI level repacks: a convolution's or depthwise's filter is packed on the layer's first call
 * with output channels along the lanes (conv_pack, dw_pack: 16-channel blocks, 4 taps per 32-bit lane
 * for VPDPBUSD; int32 [taps][C] for the depthwise) and kept in the pool, keyed by the filter and bias
 * pointers, so filters must not change between calls (the compiler's are const arrays) and the
 * first inference pays the packing. No horizontal folds, no per-pixel column copies (the taps read a
 * flipped, zero-point-framed copy of the input). Not thread-safe, like the other static buffers.
 *
 * The other levels use the layouts the compiler makes for every target (tinyforge_kernels.h):
 *  - convolution filter rows in channel pairs interleaved 4 bytes at a time: a column expanded to
 *    int16 as x[0..3], x[0..3], x[4..7], x[4..7] meets 8 bytes of a pair in one PMADDWD, whose
 *    lanes hold partial sums of the two rows; PHADDD folds them. Four pixels x four channels per
 *    pass, each column expanded once per pass of four pixels;
 *  - fully connected rows interleaved in fours: four taps of four rows per PMADDWD;
 *  - depthwise filters grouped by four channels: expanded once per call into [taps][C] int16,
 *    channels along the lanes, PMULLW (an int8 product fits int16) widened into int32 sums.
 * Products and sums are exact integers, so any order gives the reference's accumulator.
 *
 * Requantisation, vectorised: TFLM's MultiplyByQuantizedMultiplier with the double rounding, for
 * the non-negative multipliers the compiler makes (tinyforge_mbqm_fast): x << left, the 64-bit
 * product with the multiplier in even and odd lanes (PMULDQ), (S + 2^30) >> 31 (the low 32 bits of a
 * logical shift equal the arithmetic one's for shifts <= 32), then RoundingDivideByPOT with
 * gemmlowp's remainder/threshold test: VPSRAVD on AVX2; on SSE4.1, which has no per-lane shifts,
 * x << left is a PMULLD by 2^left and h >> r the high half of h * 2^(31-r) (PMULDQ, r >= 1); the powers
 * of two come from the float exponent. Parameters are derived from the shift vectors on the fly. */
#include <stdint.h>
#include <string.h>

#include "tinyforge_fixedpoint.h"
#include "tinyforge_kernels.h"

#ifdef TINYFORGE_SIMD_PATHS

/* Longest convolution column (col_stride) and largest channel count the static buffers take. */
#define TINYFORGE_SIMD_MAX_K 4096
#define TINYFORGE_SIMD_MAX_C 2048
#define TINYFORGE_SIMD_MAX_DW 32768 /* depthwise taps x channels */

/* One output the scalar way (tails): the same arithmetic as the reference. */
static inline int8_t rq_scalar(int32_t acc, int32_t multiplier, int32_t shift, int32_t off, int32_t lo,
                               int32_t hi)
{
    return (int8_t)tinyforge_clamp_i32(tinyforge_mbqm_fast(acc, multiplier, shift) + off, lo, hi);
}

#ifdef TINYFORGE_SIMD_X86 /* buffers and helpers of the x86-64 kernels */
static int8_t tinyforge_simd_xbuf_bytes[4 * 4 * TINYFORGE_SIMD_MAX_K] __attribute__((aligned(64)));
#define tinyforge_xbuf ((int16_t *)(void *)tinyforge_simd_xbuf_bytes)
static int16_t tinyforge_dwbuf[TINYFORGE_SIMD_MAX_DW] __attribute__((aligned(32)));

/* Depthwise filter, grouped by four channels ([C/4][taps][4]), expanded to [taps][C] int16. */
static void dw_expand(const int8_t *filter, int taps, int C)
{
    int t, c;
    for (t = 0; t < taps; ++t)
        for (c = 0; c < C; ++c) tinyforge_dwbuf[t * C + c] = filter[(c & ~3) * taps + 4 * t + (c & 3)];
}

/* The tap pointers of output pixel (oy, ox): into the input, or the zero-point row `zrow`. */
static void dw_rows(const tinyforge_conv_s8_t *p, const int8_t *in_b, int oy, int ox, const int8_t *zrow,
                    const int8_t **rows)
{
    const int in_y0 = oy * p->stride_h - p->pad_h, in_x0 = ox * p->stride_w - p->pad_w;
    int fy, fx, t = 0;
    for (fy = 0; fy < p->f_h; ++fy) {
        const int in_y = in_y0 + p->dil_h * fy;
        for (fx = 0; fx < p->f_w; ++fx) {
            const int in_x = in_x0 + p->dil_w * fx;
            rows[t++] = (in_y < 0 || in_y >= p->in_h || in_x < 0 || in_x >= p->in_w)
                            ? zrow : in_b + (in_y * p->in_w + in_x) * p->in_c;
        }
    }
}

/* dw_rows, with the precomputed tap offsets for pixels whose taps all lie inside the image. */
static inline void dw_pixel_rows(const tinyforge_conv_s8_t *p, const int8_t *in_b, int oy, int ox,
                                 const int8_t *zrow, const int *tap_offset, const int8_t **rows)
{
    const int in_y0 = oy * p->stride_h - p->pad_h, in_x0 = ox * p->stride_w - p->pad_w;
    if (in_y0 >= 0 && in_y0 + (p->f_h - 1) * p->dil_h < p->in_h && in_x0 >= 0 &&
        in_x0 + (p->f_w - 1) * p->dil_w < p->in_w) {
        const int8_t *base = in_b + (in_y0 * p->in_w + in_x0) * p->in_c;
        const int taps = p->f_h * p->f_w;
        int t;
        for (t = 0; t < taps; ++t) rows[t] = base + tap_offset[t];
    } else {
        dw_rows(p, in_b, oy, ox, zrow, rows);
    }
}

/* Filter byte (output channel oc, tap t) of the optimised convolution's layout: rows in channel pairs
 * interleaved 4 bytes at a time, an odd last row plain. */
static inline int8_t conv_filter_at(const int8_t *filter, int k, int C, int oc, int t)
{
    if ((oc | 1) < C) return filter[(oc & ~1) * k + 2 * (t & ~3) + 4 * (oc & 1) + (t & 3)];
    return filter[oc * k + t];
}

static void dw_tap_offsets(const tinyforge_conv_s8_t *p, int *tap_offset)
{
    int fy, fx, t = 0;
    for (fy = 0; fy < p->f_h; ++fy)
        for (fx = 0; fx < p->f_w; ++fx) tap_offset[t++] = (fy * p->dil_h * p->in_w + fx * p->dil_w) * p->in_c;
}

#endif

static inline int32_t dot_plain(const int8_t *a, const int8_t *b, int n, int32_t acc)
{
    int i;
    for (i = 0; i < n; ++i) acc += (int32_t)a[i] * b[i];
    return acc;
}

#endif /* TINYFORGE_SIMD_PATHS */

/* ------------------------------------------------------------------------------------------ */
#ifdef TINYFORGE_SIMD_X86
#include <immintrin.h>

#define TF_SSE41 __attribute__((target("sse4.1")))
#define TF_AVX2 __attribute__((target("avx2")))

int tinyforge_simd_level(void)
{
    static int level = -1;
    if (level < 0) {
        int l = 0;
        __builtin_cpu_init();
        if (__builtin_cpu_supports("sse4.1")) l = 1;
        if (__builtin_cpu_supports("avx2")) l = 2;
        if (l == 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
            l = 3;
#if defined(TINYFORGE_SIMD)
        if (l > TINYFORGE_SIMD) l = TINYFORGE_SIMD;
#endif
        level = l;
    }
    return level;
}

/* ---- SSE4.1 ---- */

/* 2^n for 0 <= n <= 31 on four lanes (through the float exponent; 2^31 converts to 0x80000000). */
TF_SSE41 static inline __m128i pow2_sse(__m128i n)
{
    return _mm_cvttps_epi32(_mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(n, _mm_set1_epi32(127)), 23)));
}

/* tinyforge_mbqm_fast on four lanes (multipliers m >= 0, shifts s per lane). */
TF_SSE41 static inline __m128i mbqm_sse(__m128i x, __m128i m, __m128i s)
{
    const __m128i r30 = _mm_set1_epi64x((int64_t)1 << 30), zero = _mm_setzero_si128();
    const __m128i right = _mm_max_epi32(_mm_sub_epi32(zero, s), zero);
    const __m128i p31r = pow2_sse(_mm_sub_epi32(_mm_set1_epi32(31), right));
    const __m128i mask = _mm_sub_epi32(pow2_sse(right), _mm_set1_epi32(1));
    __m128i e, o, h, q, rem, thr;
    x = _mm_mullo_epi32(x, pow2_sse(_mm_max_epi32(s, zero)));
    e = _mm_srli_epi64(_mm_add_epi64(_mm_mul_epi32(x, m), r30), 31);
    o = _mm_slli_epi64(_mm_add_epi64(_mm_mul_epi32(_mm_srli_epi64(x, 32), _mm_srli_epi64(m, 32)), r30), 1);
    h = _mm_blend_epi16(e, o, 0xCC);
    e = _mm_srli_epi64(_mm_mul_epi32(h, p31r), 31);
    o = _mm_slli_epi64(_mm_mul_epi32(_mm_srli_epi64(h, 32), _mm_srli_epi64(p31r, 32)), 1);
    q = _mm_blendv_epi8(_mm_blend_epi16(e, o, 0xCC), h, _mm_cmpeq_epi32(right, zero));
    rem = _mm_and_si128(h, mask);
    thr = _mm_sub_epi32(_mm_srli_epi32(mask, 1), _mm_srai_epi32(h, 31));
    return _mm_sub_epi32(q, _mm_cmpgt_epi32(rem, thr));
}

/* Requantise four accumulators, add the offset, clamp. */
TF_SSE41 static inline __m128i rq_sse(__m128i x, __m128i m, __m128i s, __m128i off, __m128i lo, __m128i hi)
{
    return _mm_min_epi32(_mm_max_epi32(_mm_add_epi32(mbqm_sse(x, m, s), off), lo), hi);
}

TF_SSE41 static inline void store4_sse(int8_t *dst, __m128i v)
{
    const int32_t w = _mm_cvtsi128_si32(_mm_packs_epi16(_mm_packs_epi32(v, v), v));
    memcpy(dst, &w, 4);
}

/* Column of k bytes (a multiple of 4) expanded for the pair PMADDWD: per 4 taps, x[0..3] twice as
 * int16; zero-padded to a multiple of 8 taps (the AVX2 loop reads 8 at a time). */
TF_SSE41 static void expand_column(const int8_t *x, int k, int16_t *dst)
{
    const __m128i dup = _mm_setr_epi8(0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7);
    int i;
    for (i = 0; i + 8 <= k; i += 8, dst += 16) {
        const __m128i w = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)(x + i)), dup);
        _mm_store_si128((__m128i *)dst, _mm_cvtepi8_epi16(w));
        _mm_store_si128((__m128i *)(dst + 8), _mm_cvtepi8_epi16(_mm_srli_si128(w, 8)));
    }
    if (i < k) { /* 4 taps left */
        int32_t w4;
        memcpy(&w4, x + i, 4);
        _mm_store_si128((__m128i *)dst, _mm_cvtepi8_epi16(_mm_shuffle_epi8(_mm_cvtsi32_si128(w4), dup)));
        _mm_store_si128((__m128i *)(dst + 8), _mm_setzero_si128());
    }
}

/* Four pixels (expanded columns xb, xs int16 apart) x channels [oc, oc + 4): two filter pairs. */
TF_SSE41 static void conv_quad_sse(const int16_t *xb, int xs, const int8_t *fa, int k, __m128i *res)
{
    const int8_t *fb = fa + 2 * k;
    __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int t;
    for (t = 0; t < k; t += 4, xb += 8, fa += 8, fb += 8) {
        const __m128i wa = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)fa));
        const __m128i wb = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)fb));
        __m128i x = _mm_load_si128((const __m128i *)xb);
        a0 = _mm_add_epi32(a0, _mm_madd_epi16(x, wa));
        b0 = _mm_add_epi32(b0, _mm_madd_epi16(x, wb));
        x = _mm_load_si128((const __m128i *)(xb + xs));
        a1 = _mm_add_epi32(a1, _mm_madd_epi16(x, wa));
        b1 = _mm_add_epi32(b1, _mm_madd_epi16(x, wb));
        x = _mm_load_si128((const __m128i *)(xb + 2 * xs));
        a2 = _mm_add_epi32(a2, _mm_madd_epi16(x, wa));
        b2 = _mm_add_epi32(b2, _mm_madd_epi16(x, wb));
        x = _mm_load_si128((const __m128i *)(xb + 3 * xs));
        a3 = _mm_add_epi32(a3, _mm_madd_epi16(x, wa));
        b3 = _mm_add_epi32(b3, _mm_madd_epi16(x, wb));
    }
    res[0] = _mm_hadd_epi32(a0, b0);
    res[1] = _mm_hadd_epi32(a1, b1);
    res[2] = _mm_hadd_epi32(a2, b2);
    res[3] = _mm_hadd_epi32(a3, b3);
}

/* Expanded columns are 8-tap blocks stepped 4 taps at a time by SSE: same memory layout. */
TF_SSE41 static void conv_sse(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias_eff, int8_t *output, int8_t *scratch)
{
    const int k = p->col_stride, xs = (k + 7) / 8 * 16, pixels = p->batches * p->out_h * p->out_w;
    const int oc4 = p->out_c & ~3;
    const __m128i off = _mm_set1_epi32(p->output_offset);
    const __m128i lo = _mm_set1_epi32(p->act_min), hi = _mm_set1_epi32(p->act_max);
    const int8_t *cols[4];
    int pix, j, oc;
    for (pix = 0; pix < pixels; pix += 4) {
        const int n = pixels - pix < 4 ? pixels - pix : 4;
        for (j = 0; j < 4; ++j) {
            if (j < n) cols[j] = tinyforge_conv_column_s8(p, input, pix + j, scratch + j * k);
            expand_column(cols[j < n ? j : n - 1], k, tinyforge_xbuf + j * xs);
        }
        for (oc = 0; oc < oc4; oc += 4) {
            __m128i res[4];
            const __m128i bias = _mm_loadu_si128((const __m128i *)(bias_eff + oc));
            const __m128i m = _mm_loadu_si128((const __m128i *)(p->multiplier + oc));
            const __m128i s = _mm_loadu_si128((const __m128i *)(p->shift + oc));
            conv_quad_sse(tinyforge_xbuf, xs, filter + oc * k, k, res);
            for (j = 0; j < n; ++j)
                store4_sse(output + (pix + j) * p->out_c + oc, rq_sse(_mm_add_epi32(res[j], bias), m, s, off, lo, hi));
        }
        for (; oc < p->out_c; ++oc) { /* a last pair, or the odd plain row: scalar */
            const int pair = oc + 1 < p->out_c || (p->out_c & 1) == 0;
            const int8_t *row = filter + (oc & ~1) * k;
            for (j = 0; j < n; ++j) {
                int32_t acc = bias_eff[oc];
                int g, i;
                if (pair) {
                    for (g = 0; g < k; g += 4)
                        for (i = 0; i < 4; ++i) acc += (int32_t)cols[j][g + i] * row[2 * g + 4 * (oc & 1) + i];
                } else {
                    acc = dot_plain(cols[j], row, k, acc);
                }
                output[(pix + j) * p->out_c + oc] = rq_scalar(acc, p->multiplier[oc], p->shift[oc], p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}

TF_SSE41 static void dw_sse(const tinyforge_conv_s8_t *p, const int8_t *input, const int32_t *bias_eff,
                            int8_t *output, const int8_t *zrow)
{
    const int C = p->in_c, taps = p->f_h * p->f_w;
    const __m128i off = _mm_set1_epi32(p->output_offset);
    const __m128i lo = _mm_set1_epi32(p->act_min), hi = _mm_set1_epi32(p->act_max);
    const int8_t *rows[64];
    int tap_offset[64];
    int b, oy, ox, c, t;
    dw_tap_offsets(p, tap_offset);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * C;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * C;
                dw_pixel_rows(p, in_b, oy, ox, zrow, tap_offset, rows);
                for (c = 0; c + 8 <= C; c += 8) {
                    __m128i a0 = _mm_loadu_si128((const __m128i *)(bias_eff + c));
                    __m128i a1 = _mm_loadu_si128((const __m128i *)(bias_eff + c + 4));
                    const int16_t *f = tinyforge_dwbuf + c;
                    for (t = 0; t < taps; ++t, f += C) {
                        const __m128i x = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(rows[t] + c)));
                        const __m128i pr = _mm_mullo_epi16(x, _mm_loadu_si128((const __m128i *)f));
                        a0 = _mm_add_epi32(a0, _mm_cvtepi16_epi32(pr));
                        a1 = _mm_add_epi32(a1, _mm_cvtepi16_epi32(_mm_srli_si128(pr, 8)));
                    }
                    store4_sse(out + c, rq_sse(a0, _mm_loadu_si128((const __m128i *)(p->multiplier + c)), _mm_loadu_si128((const __m128i *)(p->shift + c)), off, lo, hi));
                    store4_sse(out + c + 4, rq_sse(a1, _mm_loadu_si128((const __m128i *)(p->multiplier + c + 4)), _mm_loadu_si128((const __m128i *)(p->shift + c + 4)), off, lo, hi));
                }
                for (; c < C; ++c) {
                    int32_t acc = bias_eff[c];
                    for (t = 0; t < taps; ++t) acc += (int32_t)rows[t][c] * tinyforge_dwbuf[t * C + c];
                    out[c] = rq_scalar(acc, p->multiplier[c], p->shift[c], p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* x (k int8, k a multiple of 4) to int16. */
TF_SSE41 static void widen(const int8_t *x, int k, int16_t *dst)
{
    int i = 0;
    for (; i + 8 <= k; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(x + i))));
    for (; i < k; ++i) dst[i] = x[i];
}

TF_SSE41 static void fc_sse(const tinyforge_fc_s8_t *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias_eff, int8_t *output)
{
    const int k = p->accum_depth, o4 = p->out_depth & ~3;
    const __m128i off = _mm_set1_epi32(p->output_offset);
    const __m128i lo = _mm_set1_epi32(p->act_min), hi = _mm_set1_epi32(p->act_max);
    const __m128i m1 = _mm_set1_epi32(p->multiplier[0]), s1 = _mm_set1_epi32(p->shift[0]);
    int b, oc, t;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * k;
        int8_t *out = output + b * p->out_depth;
        widen(x, k, tinyforge_xbuf);
        for (oc = 0; oc < o4; oc += 4) {
            const int8_t *f = filter + oc * k;
            __m128i al = _mm_setzero_si128(), ah = al;
            for (t = 0; t < k; t += 4, f += 16) {
                int64_t x4;
                __m128i xv;
                memcpy(&x4, tinyforge_xbuf + t, 8);
                xv = _mm_set1_epi64x(x4);
                al = _mm_add_epi32(al, _mm_madd_epi16(xv, _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)f))));
                ah = _mm_add_epi32(ah, _mm_madd_epi16(xv, _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(f + 8)))));
            }
            al = _mm_add_epi32(_mm_hadd_epi32(al, ah), _mm_loadu_si128((const __m128i *)(bias_eff + oc)));
            store4_sse(out + oc, rq_sse(al, p->per_channel ? _mm_loadu_si128((const __m128i *)(p->multiplier + oc)) : m1,
                                        p->per_channel ? _mm_loadu_si128((const __m128i *)(p->shift + oc)) : s1, off, lo, hi));
        }
        for (; oc < p->out_depth; ++oc)
            out[oc] = rq_scalar(dot_plain(x, filter + oc * k, k, bias_eff[oc]), p->multiplier[p->per_channel ? oc : 0],
                                p->shift[p->per_channel ? oc : 0],
                                p->output_offset,
                                p->act_min, p->act_max);
    }
}

/* ---- AVX2 ---- */

/* tinyforge_mbqm_fast on eight lanes (multipliers m >= 0, shifts s per lane). */
TF_AVX2 static inline __m256i mbqm_avx2(__m256i x, __m256i m, __m256i s)
{
    const __m256i r30 = _mm256_set1_epi64x((int64_t)1 << 30), zero = _mm256_setzero_si256();
    const __m256i right = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
    const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(_mm256_set1_epi32(1), right), _mm256_set1_epi32(1));
    __m256i e, o, h, rem, thr;
    x = _mm256_sllv_epi32(x, _mm256_max_epi32(s, zero));
    e = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, m), r30), 31);
    o = _mm256_slli_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), r30), 1);
    h = _mm256_blend_epi32(e, o, 0xAA);
    rem = _mm256_and_si256(h, mask);
    thr = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), _mm256_srai_epi32(h, 31));
    return _mm256_sub_epi32(_mm256_srav_epi32(h, right), _mm256_cmpgt_epi32(rem, thr));
}

/* Requantise eight accumulators, add the offset, clamp. */
TF_AVX2 static inline __m256i rq_avx2(__m256i x, __m256i m, __m256i s, __m256i off, __m256i lo, __m256i hi)
{
    return _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(mbqm_avx2(x, m, s), off), lo), hi);
}

TF_AVX2 static inline __m256i load44(const int32_t *a, const int32_t *b)
{
    return _mm256_setr_m128i(_mm_loadu_si128((const __m128i *)a), _mm_loadu_si128((const __m128i *)b));
}

/* Eight int32 (already in [-128, 127]) to bytes: lanes 0-3 to a, 4-7 to b. */
TF_AVX2 static inline void store44_avx2(int8_t *a, int8_t *b, __m256i v)
{
    const __m128i p = _mm_packs_epi16(_mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)),
                                      _mm_setzero_si128());
    const int64_t w = _mm_cvtsi128_si64(p);
    memcpy(a, &w, 4);
    memcpy(b, (const char *)&w + 4, 4);
}

/* Four pixels x channels [oc, oc + 4), 8 taps per step. */
TF_AVX2 static void conv_quad_avx2(const int16_t *xb, int xs, const int8_t *fa, int k, __m128i *res)
{
    const int8_t *fb = fa + 2 * k;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int t;
    for (t = 0; t + 8 <= k; t += 8, xb += 16, fa += 16, fb += 16) {
        const __m256i wa = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)fa));
        const __m256i wb = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)fb));
        __m256i x = _mm256_load_si256((const __m256i *)xb);
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x, wa));
        b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(x, wb));
        x = _mm256_load_si256((const __m256i *)(xb + xs));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x, wa));
        b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(x, wb));
        x = _mm256_load_si256((const __m256i *)(xb + 2 * xs));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x, wa));
        b2 = _mm256_add_epi32(b2, _mm256_madd_epi16(x, wb));
        x = _mm256_load_si256((const __m256i *)(xb + 3 * xs));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(x, wa));
        b3 = _mm256_add_epi32(b3, _mm256_madd_epi16(x, wb));
    }
    if (t < k) { /* 4 taps: the filter's upper half loads as zeros */
        const __m256i wa = _mm256_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)fa));
        const __m256i wb = _mm256_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)fb));
        __m256i x = _mm256_load_si256((const __m256i *)xb);
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x, wa));
        b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(x, wb));
        x = _mm256_load_si256((const __m256i *)(xb + xs));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x, wa));
        b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(x, wb));
        x = _mm256_load_si256((const __m256i *)(xb + 2 * xs));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x, wa));
        b2 = _mm256_add_epi32(b2, _mm256_madd_epi16(x, wb));
        x = _mm256_load_si256((const __m256i *)(xb + 3 * xs));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(x, wa));
        b3 = _mm256_add_epi32(b3, _mm256_madd_epi16(x, wb));
    }
#define TF_FOLD(A, B) \
    (a = _mm256_hadd_epi32((A), (B)), _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1)))
    {
        __m256i a;
        res[0] = TF_FOLD(a0, b0);
        res[1] = TF_FOLD(a1, b1);
        res[2] = TF_FOLD(a2, b2);
        res[3] = TF_FOLD(a3, b3);
    }
#undef TF_FOLD
}

TF_AVX2 static void conv_avx2(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias_eff, int8_t *output, int8_t *scratch)
{
    const int k = p->col_stride, xs = (k + 7) / 8 * 16, pixels = p->batches * p->out_h * p->out_w;
    const int oc4 = p->out_c & ~3, C = p->out_c;
    const __m256i off = _mm256_set1_epi32(p->output_offset);
    const __m256i lo = _mm256_set1_epi32(p->act_min), hi = _mm256_set1_epi32(p->act_max);
    const int8_t *cols[4];
    int pix, j, oc;
    for (pix = 0; pix < pixels; pix += 4) {
        const int n = pixels - pix < 4 ? pixels - pix : 4;
        int8_t *out = output + pix * C;
        int8_t spill[4][4];
        for (j = 0; j < 4; ++j) {
            if (j < n) cols[j] = tinyforge_conv_column_s8(p, input, pix + j, scratch + j * k);
            expand_column(cols[j < n ? j : n - 1], k, tinyforge_xbuf + j * xs);
        }
        for (oc = 0; oc < oc4; oc += 4) {
            __m128i res[4];
            const __m128i bias = _mm_loadu_si128((const __m128i *)(bias_eff + oc));
            const __m256i bias2 = _mm256_setr_m128i(bias, bias);
            const __m256i m = load44(p->multiplier + oc, p->multiplier + oc);
            const __m256i s = load44(p->shift + oc, p->shift + oc);
            conv_quad_avx2(tinyforge_xbuf, xs, filter + oc * k, k, res);
            if (n == 4) {
                store44_avx2(out + oc, out + C + oc,
                             rq_avx2(_mm256_add_epi32(_mm256_setr_m128i(res[0], res[1]), bias2), m, s, off, lo, hi));
                store44_avx2(out + 2 * C + oc, out + 3 * C + oc,
                             rq_avx2(_mm256_add_epi32(_mm256_setr_m128i(res[2], res[3]), bias2), m, s, off, lo, hi));
            } else {
                store44_avx2(spill[0], spill[1],
                             rq_avx2(_mm256_add_epi32(_mm256_setr_m128i(res[0], res[1]), bias2), m, s, off, lo, hi));
                store44_avx2(spill[2], spill[3],
                             rq_avx2(_mm256_add_epi32(_mm256_setr_m128i(res[2], res[3]), bias2), m, s, off, lo, hi));
                for (j = 0; j < n; ++j) memcpy(out + j * C + oc, spill[j], 4);
            }
        }
        for (; oc < C; ++oc) { /* a last pair, or the odd plain row: scalar */
            const int pair = oc + 1 < C || (C & 1) == 0;
            const int8_t *row = filter + (oc & ~1) * k;
            for (j = 0; j < n; ++j) {
                int32_t acc = bias_eff[oc];
                int g, i;
                if (pair) {
                    for (g = 0; g < k; g += 4)
                        for (i = 0; i < 4; ++i) acc += (int32_t)cols[j][g + i] * row[2 * g + 4 * (oc & 1) + i];
                } else {
                    acc = dot_plain(cols[j], row, k, acc);
                }
                out[j * C + oc] = rq_scalar(acc, p->multiplier[oc], p->shift[oc], p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}

TF_AVX2 static void dw_avx2(const tinyforge_conv_s8_t *p, const int8_t *input, const int32_t *bias_eff,
                            int8_t *output, const int8_t *zrow)
{
    const int C = p->in_c, taps = p->f_h * p->f_w;
    const __m256i off = _mm256_set1_epi32(p->output_offset);
    const __m256i lo = _mm256_set1_epi32(p->act_min), hi = _mm256_set1_epi32(p->act_max);
    const int8_t *rows[64];
    int tap_offset[64];
    int b, oy, ox, c, t;
    dw_tap_offsets(p, tap_offset);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * C;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * C;
                dw_pixel_rows(p, in_b, oy, ox, zrow, tap_offset, rows);
                for (c = 0; c + 16 <= C; c += 16) {
                    __m256i a0 = _mm256_loadu_si256((const __m256i *)(bias_eff + c));
                    __m256i a1 = _mm256_loadu_si256((const __m256i *)(bias_eff + c + 8));
                    const int16_t *f = tinyforge_dwbuf + c;
                    for (t = 0; t < taps; ++t, f += C) {
                        const __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(rows[t] + c)));
                        const __m256i pr = _mm256_mullo_epi16(x, _mm256_loadu_si256((const __m256i *)f));
                        a0 = _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(pr)));
                        a1 = _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(pr, 1)));
                    }
                    a0 = rq_avx2(a0, load44(p->multiplier + c, p->multiplier + c + 4), load44(p->shift + c, p->shift + c + 4), off, lo, hi);
                    a1 = rq_avx2(a1, load44(p->multiplier + c + 8, p->multiplier + c + 12), load44(p->shift + c + 8, p->shift + c + 12), off, lo, hi);
                    {
                        const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(a0, a1), 0xD8);
                        _mm_storeu_si128((__m128i *)(out + c),
                                         _mm_packs_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1)));
                    }
                }
                for (; c + 8 <= C; c += 8) {
                    __m256i a0 = _mm256_loadu_si256((const __m256i *)(bias_eff + c));
                    const int16_t *f = tinyforge_dwbuf + c;
                    for (t = 0; t < taps; ++t, f += C) {
                        const __m128i x = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(rows[t] + c)));
                        const __m128i pr = _mm_mullo_epi16(x, _mm_loadu_si128((const __m128i *)f));
                        a0 = _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(pr));
                    }
                    store44_avx2(out + c, out + c + 4, rq_avx2(a0, load44(p->multiplier + c, p->multiplier + c + 4), load44(p->shift + c, p->shift + c + 4), off, lo, hi));
                }
                for (; c < C; ++c) {
                    int32_t acc = bias_eff[c];
                    for (t = 0; t < taps; ++t) acc += (int32_t)rows[t][c] * tinyforge_dwbuf[t * C + c];
                    out[c] = rq_scalar(acc, p->multiplier[c], p->shift[c], p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
}

TF_AVX2 static void fc_avx2(const tinyforge_fc_s8_t *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias_eff, int8_t *output)
{
    const int k = p->accum_depth, o4 = p->out_depth & ~3, o8 = p->out_depth & ~7;
    const __m256i off = _mm256_set1_epi32(p->output_offset);
    const __m256i lo = _mm256_set1_epi32(p->act_min), hi = _mm256_set1_epi32(p->act_max);
    const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    const __m256i m1 = _mm256_set1_epi32(p->multiplier[0]), s1 = _mm256_set1_epi32(p->shift[0]);
    int b, oc, t;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * k;
        int8_t *out = output + b * p->out_depth;
        widen(x, k, tinyforge_xbuf);
        for (oc = 0; oc < o8; oc += 8) { /* two groups of four rows */
            const int8_t *fa = filter + oc * k, *fb = fa + 4 * k;
            __m256i a = _mm256_setzero_si256(), bb = a;
            for (t = 0; t < k; t += 4, fa += 16, fb += 16) {
                int64_t x4;
                __m256i xv;
                memcpy(&x4, tinyforge_xbuf + t, 8);
                xv = _mm256_set1_epi64x(x4);
                a = _mm256_add_epi32(a, _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)fa))));
                bb = _mm256_add_epi32(bb, _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)fb))));
            }
            /* hadd: [a r0, a r1, b r0, b r1 | a r2, a r3, b r2, b r3] -> rows in order */
            a = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(a, bb), order);
            a = _mm256_add_epi32(a, _mm256_loadu_si256((const __m256i *)(bias_eff + oc)));
            store44_avx2(out + oc, out + oc + 4, rq_avx2(a, p->per_channel ? load44(p->multiplier + oc, p->multiplier + oc + 4) : m1, p->per_channel ? load44(p->shift + oc, p->shift + oc + 4) : s1, off, lo, hi));
        }
        for (; oc < o4; oc += 4) {
            const int8_t *fa = filter + oc * k;
            __m256i a = _mm256_setzero_si256();
            int8_t spill[4];
            for (t = 0; t < k; t += 4, fa += 16) {
                int64_t x4;
                memcpy(&x4, tinyforge_xbuf + t, 8);
                a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_set1_epi64x(x4),
                                                          _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)fa))));
            }
            a = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(a, a), order);
            a = _mm256_add_epi32(a, _mm256_setr_m128i(_mm_loadu_si128((const __m128i *)(bias_eff + oc)), _mm_setzero_si128()));
            store44_avx2(out + oc, spill, rq_avx2(a, p->per_channel ? load44(p->multiplier + oc, p->multiplier + oc) : m1, p->per_channel ? load44(p->shift + oc, p->shift + oc) : s1, off, lo, hi));
        }
        for (; oc < p->out_depth; ++oc)
            out[oc] = rq_scalar(dot_plain(x, filter + oc * k, k, bias_eff[oc]), p->multiplier[p->per_channel ? oc : 0],
                                p->shift[p->per_channel ? oc : 0],
                                p->output_offset,
                                p->act_min, p->act_max);
    }
}

/* ADD without broadcasting, eight elements per step: TFLM's three multiplications. */
TF_AVX2 static void add_avx2(const tinyforge_binary_s8_t *p, int size, const int8_t *in1, const int8_t *in2,
                             int8_t *output)
{
    const __m256i o1 = _mm256_set1_epi32(p->input1_offset), o2 = _mm256_set1_epi32(p->input2_offset);
    const __m256i ls = _mm256_set1_epi32(p->left_shift);
    const __m256i m1 = _mm256_set1_epi32(p->input1_multiplier), s1 = _mm256_set1_epi32(p->input1_shift);
    const __m256i m2 = _mm256_set1_epi32(p->input2_multiplier), s2 = _mm256_set1_epi32(p->input2_shift);
    const __m256i mo = _mm256_set1_epi32(p->output_multiplier), so = _mm256_set1_epi32(p->output_shift);
    const __m256i off = _mm256_set1_epi32(p->output_offset);
    const __m256i lo = _mm256_set1_epi32(p->act_min), hi = _mm256_set1_epi32(p->act_max);
    int i = 0;
    for (; i + 8 <= size; i += 8) {
        const __m256i a = _mm256_sllv_epi32(
            _mm256_add_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(in1 + i))), o1), ls);
        const __m256i b = _mm256_sllv_epi32(
            _mm256_add_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(in2 + i))), o2), ls);
        const __m256i sum = _mm256_add_epi32(mbqm_avx2(a, m1, s1), mbqm_avx2(b, m2, s2));
        store44_avx2(output + i, output + i + 4, rq_avx2(sum, mo, so, off, lo, hi));
    }
    for (; i < size; ++i) {
        const int32_t a = (int32_t)((uint32_t)(p->input1_offset + in1[i]) << p->left_shift);
        const int32_t b = (int32_t)((uint32_t)(p->input2_offset + in2[i]) << p->left_shift);
        const int32_t sum = tinyforge_mbqm_fast(a, p->input1_multiplier, p->input1_shift) +
                            tinyforge_mbqm_fast(b, p->input2_multiplier, p->input2_shift);
        output[i] = rq_scalar(sum, p->output_multiplier, p->output_shift, p->output_offset, p->act_min, p->act_max);
    }
}

/* ---- AVX-512 VNNI ----
 * VPDPBUSD adds four u8 x s8 products per 32-bit lane without saturation. The int8 activations are
 * made unsigned by adding 128 (XOR 0x80), and 128 * (sum of the weights) is taken off again: exact. */
#define TF_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2")))

static int32_t tinyforge_vnni_bias[TINYFORGE_SIMD_MAX_C] __attribute__((aligned(64)));

/* Column (k bytes) as unsigned bytes in the pair layout: per 8 taps x[0..3], x[0..3], x[4..7],
 * x[4..7] XOR 0x80 (one VPERMD doubles the dwords of 32 taps), zeros up to a multiple of 32 taps. */
TF_VNNI static void expand_column_u8(const int8_t *x, int k, uint8_t *dst)
{
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    int i;
    for (i = 0; i + 32 <= k; i += 32, dst += 64) {
        const __m512i v = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(x + i)));
        _mm512_store_si512((void *)dst, _mm512_xor_si512(_mm512_permutexvar_epi32(dup, v), flip));
    }
    if (i < k) { /* the last k - i taps (a multiple of 4); lanes past them zero */
        const int n = k - i;
        const __m512i v = _mm512_castsi256_si512(_mm256_maskz_loadu_epi8((__mmask32)((1ULL << n) - 1), x + i));
        const __mmask16 keep = (__mmask16)((1u << (n / 2)) - 1);
        _mm512_store_si512((void *)dst, _mm512_maskz_xor_epi32(keep, _mm512_permutexvar_epi32(dup, v), flip));
    }
}

/* Rows of the pair (2k bytes at f) summed, lane 0 = the first row, 1 = the second. */
TF_VNNI static inline __m128i pair_fold(__m512i a)
{
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
    __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    return _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E)); /* [r0, r1, r0, r1] */
}

/* bias_eff - 128 * sum(row) for every output channel, into tinyforge_vnni_bias. */
TF_VNNI static void vnni_bias(const tinyforge_conv_s8_t *p, const int8_t *filter, const int32_t *bias_eff)
{
    const int k = p->col_stride, C = p->out_c;
    const __m512i ones = _mm512_set1_epi8(1);
    int oc, t;
    for (oc = 0; oc + 2 <= C; oc += 2) {
        const int8_t *f = filter + oc * k;
        __m512i a = _mm512_setzero_si512();
        __m128i s;
        for (t = 0; t < 2 * k; t += 64) {
            const int n = 2 * k - t;
            const __m512i w = n >= 64 ? _mm512_loadu_si512((const void *)(f + t))
                                      : _mm512_maskz_loadu_epi8((__mmask64)((1ULL << n) - 1), f + t);
            a = _mm512_dpbusd_epi32(a, ones, w);
        }
        s = pair_fold(a);
        tinyforge_vnni_bias[oc] = bias_eff[oc] - 128 * _mm_cvtsi128_si32(s);
        tinyforge_vnni_bias[oc + 1] = bias_eff[oc + 1] - 128 * _mm_extract_epi32(s, 1);
    }
}

/* Two pixels' accumulators for two channel pairs (even lanes: the pair's first row, odd: its
 * second) folded into [pixel 0 channels 0..3, pixel 1 channels 0..3]. */
TF_VNNI static inline __m256i fold2_vnni(__m512i a0, __m512i b0, __m512i a1, __m512i b1)
{
#define TF_HALF(Z) _mm256_add_epi32(_mm512_castsi512_si256(Z), _mm512_extracti64x4_epi64((Z), 1))
    const __m256i ha0 = TF_HALF(a0), hb0 = TF_HALF(b0), ha1 = TF_HALF(a1), hb1 = TF_HALF(b1);
#undef TF_HALF
    /* [a r0, a r1, b r0, b r1] partial sums in each 128-bit half */
    const __m256i s0 = _mm256_add_epi32(_mm256_unpacklo_epi64(ha0, hb0), _mm256_unpackhi_epi64(ha0, hb0));
    const __m256i s1 = _mm256_add_epi32(_mm256_unpacklo_epi64(ha1, hb1), _mm256_unpackhi_epi64(ha1, hb1));
    return _mm256_add_epi32(_mm256_permute2x128_si256(s0, s1, 0x20), _mm256_permute2x128_si256(s0, s1, 0x31));
}

/* Four pixels (unsigned pair-layout columns, xs bytes apart) x channels [oc, oc + 4): res[0] holds
 * pixels 0 and 1, res[1] pixels 2 and 3. */
TF_VNNI static void conv_quad_vnni(const uint8_t *xb, int xs, const int8_t *fa, int k, __m256i *res)
{
    const int8_t *fb = fa + 2 * k;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int t = 0;
#define TF_STEP(WA, WB)                                                 \
    do {                                                                \
        const __m512i wa = (WA), wb = (WB);                             \
        __m512i x = _mm512_load_si512((const void *)(xb + t));          \
        a0 = _mm512_dpbusd_epi32(a0, x, wa);                            \
        b0 = _mm512_dpbusd_epi32(b0, x, wb);                            \
        x = _mm512_load_si512((const void *)(xb + xs + t));             \
        a1 = _mm512_dpbusd_epi32(a1, x, wa);                            \
        b1 = _mm512_dpbusd_epi32(b1, x, wb);                            \
        x = _mm512_load_si512((const void *)(xb + 2 * xs + t));         \
        a2 = _mm512_dpbusd_epi32(a2, x, wa);                            \
        b2 = _mm512_dpbusd_epi32(b2, x, wb);                            \
        x = _mm512_load_si512((const void *)(xb + 3 * xs + t));         \
        a3 = _mm512_dpbusd_epi32(a3, x, wa);                            \
        b3 = _mm512_dpbusd_epi32(b3, x, wb);                            \
    } while (0)
    for (; t + 64 <= 2 * k; t += 64)
        TF_STEP(_mm512_loadu_si512((const void *)(fa + t)), _mm512_loadu_si512((const void *)(fb + t)));
    if (t < 2 * k) {
        const __mmask64 mask = (__mmask64)((1ULL << (2 * k - t)) - 1);
        TF_STEP(_mm512_maskz_loadu_epi8(mask, fa + t), _mm512_maskz_loadu_epi8(mask, fb + t));
    }
#undef TF_STEP
    res[0] = fold2_vnni(a0, b0, a1, b1);
    res[1] = fold2_vnni(a2, b2, a3, b3);
}

TF_VNNI static void conv_vnni(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias_eff, int8_t *output, int8_t *scratch)
{
    const int k = p->col_stride, xs = (k + 31) / 32 * 64, pixels = p->batches * p->out_h * p->out_w;
    const int oc4 = p->out_c & ~3, C = p->out_c;
    const __m256i off = _mm256_set1_epi32(p->output_offset);
    const __m256i lo = _mm256_set1_epi32(p->act_min), hi = _mm256_set1_epi32(p->act_max);
    uint8_t *const xb = (uint8_t *)tinyforge_simd_xbuf_bytes;
    const int8_t *cols[4];
    int pix, j, oc;
    vnni_bias(p, filter, bias_eff);
    for (pix = 0; pix < pixels; pix += 4) {
        const int n = pixels - pix < 4 ? pixels - pix : 4;
        int8_t *out = output + pix * C;
        int8_t spill[4][4];
        for (j = 0; j < 4; ++j) {
            if (j < n) cols[j] = tinyforge_conv_column_s8(p, input, pix + j, scratch + j * k);
            expand_column_u8(cols[j < n ? j : n - 1], k, xb + j * xs);
        }
        for (oc = 0; oc < oc4; oc += 4) {
            __m256i res[2];
            const __m128i bias = _mm_load_si128((const __m128i *)(tinyforge_vnni_bias + oc));
            const __m256i bias2 = _mm256_setr_m128i(bias, bias);
            const __m256i m = load44(p->multiplier + oc, p->multiplier + oc);
            const __m256i s = load44(p->shift + oc, p->shift + oc);
            __m256i r01, r23;
            conv_quad_vnni(xb, xs, filter + oc * k, k, res);
            r01 = rq_avx2(_mm256_add_epi32(res[0], bias2), m, s, off, lo, hi);
            r23 = rq_avx2(_mm256_add_epi32(res[1], bias2), m, s, off, lo, hi);
            if (n == 4) {
                store44_avx2(out + oc, out + C + oc, r01);
                store44_avx2(out + 2 * C + oc, out + 3 * C + oc, r23);
            } else {
                store44_avx2(spill[0], spill[1], r01);
                store44_avx2(spill[2], spill[3], r23);
                for (j = 0; j < n; ++j) memcpy(out + j * C + oc, spill[j], 4);
            }
        }
        for (; oc < C; ++oc) { /* a last pair, or the odd plain row: scalar */
            const int pair = oc + 1 < C || (C & 1) == 0;
            const int8_t *row = filter + (oc & ~1) * k;
            for (j = 0; j < n; ++j) {
                int32_t acc = bias_eff[oc];
                int g, i;
                if (pair) {
                    for (g = 0; g < k; g += 4)
                        for (i = 0; i < 4; ++i) acc += (int32_t)cols[j][g + i] * row[2 * g + 4 * (oc & 1) + i];
                } else {
                    acc = dot_plain(cols[j], row, k, acc);
                }
                out[j * C + oc] = rq_scalar(acc, p->multiplier[oc], p->shift[oc], p->output_offset, p->act_min,
                                            p->act_max);
            }
        }
    }
}

/* ---- AVX-512 VNNI, output channels along the lanes ----
 * The convolution's filter repacked, on a layer's first call, into blocks of 16 output channels: per
 * 4 taps, 64 bytes (channel 0's four taps, channel 1's, ...; channels past out_c zero). A column's 4
 * taps broadcast to every lane (as unsigned bytes) meet a block in one VPDPBUSD whose 16 lanes are the
 * 16 channels' sums: nothing to fold. Eight pixels x one or two blocks per pass. The packs, with the
 * biases less 128 * the weights' sums, live in a static pool (tinyforge_simd_pack_t); a layer past it
 * takes conv_vnni. The filter and bias must not change between calls (the compiler's are const). */
#ifndef TINYFORGE_SIMD_PACK_BYTES
#define TINYFORGE_SIMD_PACK_BYTES (2 * 1024 * 1024)
#endif
#define TINYFORGE_SIMD_PACKS 256
#define TINYFORGE_LANE_PIXELS 8

typedef struct {
    const int8_t *filter; /* the layer's filter and bias_eff: the key */
    const int32_t *bias_eff;
    int k, C;
    const int8_t *w;     /* [C/16][k/4][16][4], C rounded up to 16 */
    const int32_t *bias; /* bias_eff - 128 * sum(row), zero past C */
    const int32_t *m16, *s16; /* depthwise with C < 16: multipliers and shifts over 16 lanes */
} tinyforge_simd_pack_t;

static int8_t tinyforge_pack_pool[TINYFORGE_SIMD_PACK_BYTES] __attribute__((aligned(64)));
static tinyforge_simd_pack_t tinyforge_packs[TINYFORGE_SIMD_PACKS];
static int tinyforge_packs_n, tinyforge_pack_used;

/* The packed filter of a convolution whose columns are `ntaps` runs of `run` bytes, the first `width`
 * of each a run of the filter row (k bytes) and the rest zeros (made on first use), or NULL when the
 * pool is full. */
static const tinyforge_simd_pack_t *conv_pack(const int8_t *filter, const int32_t *bias_eff, int k, int C,
                                              int ntaps, int run, int width)
{
    const int c16 = (C + 15) / 16 * 16, kp = ntaps * run;
    const int wbytes = c16 * kp, bytes = (wbytes + 4 * c16 + 63) / 64 * 64;
    tinyforge_simd_pack_t *pk;
    int8_t *w;
    int32_t *bias;
    int i, oc, t;
    for (i = 0; i < tinyforge_packs_n; ++i) {
        pk = &tinyforge_packs[i];
        if (pk->filter == filter && pk->bias_eff == bias_eff && pk->k == kp && pk->C == C) return pk;
    }
    if (tinyforge_packs_n == TINYFORGE_SIMD_PACKS || bytes > TINYFORGE_SIMD_PACK_BYTES - tinyforge_pack_used)
        return NULL;
    w = tinyforge_pack_pool + tinyforge_pack_used;
    bias = (int32_t *)(void *)(w + wbytes); /* run is a multiple of 4: wbytes of 64 */
    for (oc = 0; oc < c16; ++oc) {
        int32_t sum = 0;
        for (t = 0; t < kp; ++t) {
            const int tap = t / run, ch = t % run;
            const int8_t v = oc < C && ch < width && tap * width + ch < k
                                 ? conv_filter_at(filter, k, C, oc, tap * width + ch) : 0;
            w[((oc / 16) * (kp / 4) + t / 4) * 64 + 4 * (oc % 16) + t % 4] = v;
            sum += v;
        }
        bias[oc] = oc < C ? bias_eff[oc] - 128 * sum : 0;
    }
    tinyforge_pack_used += bytes;
    pk = &tinyforge_packs[tinyforge_packs_n++];
    pk->filter = filter, pk->bias_eff = bias_eff, pk->k = kp, pk->C = C, pk->w = w, pk->bias = bias;
    pk->m16 = NULL, pk->s16 = NULL;
    return pk;
}

/* tinyforge_mbqm_fast on sixteen lanes (multipliers m >= 0, shifts s per lane). */
TF_VNNI static inline __m512i mbqm_512(__m512i x, __m512i m, __m512i s)
{
    const __m512i r30 = _mm512_set1_epi64((int64_t)1 << 30), zero = _mm512_setzero_si512();
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);
    const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
    __m512i e, o, h, rem, thr, q;
    x = _mm512_sllv_epi32(x, _mm512_max_epi32(s, zero));
    e = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, m), r30), 31);
    o = _mm512_slli_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(m, 32)), r30), 1);
    h = _mm512_mask_blend_epi32((__mmask16)0xAAAA, e, o);
    rem = _mm512_and_si512(h, mask);
    thr = _mm512_sub_epi32(_mm512_srli_epi32(mask, 1), _mm512_srai_epi32(h, 31));
    q = _mm512_srav_epi32(h, right);
    return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
}

/* k bytes as unsigned bytes (XOR 0x80); dst has room up to a multiple of 64 bytes (whole stores:
 * masked ones are slow on AMD). */
TF_VNNI static inline void flip_column(const int8_t *x, int k, uint8_t *dst)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    int i;
    for (i = 0; i + 64 <= k; i += 64)
        _mm512_store_si512((void *)(dst + i), _mm512_xor_si512(_mm512_loadu_si512((const void *)(x + i)), flip));
    if (i < k) {
        const __mmask64 m = (__mmask64)((1ULL << (k - i)) - 1);
        _mm512_store_si512((void *)(dst + i), _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + i), flip));
    }
}

static inline int32_t load_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Requantise a block's sixteen accumulators of pixel row `out` (channels [oc, oc + 16), fewer at the
 * end: `keep` masks them) and store them. */
TF_VNNI static inline void store_block_vnni(int8_t *out, __m512i acc, __m512i m, __m512i s, __m512i off,
                                            __m512i lo, __m512i hi, __mmask16 keep)
{
    const __m512i r = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(mbqm_512(acc, m, s), off), lo), hi);
    __m128i v = _mm512_cvtepi32_epi8(r);
    int n = __builtin_popcount(keep);
    if (n == 16) { /* whole stores, in pieces for a partial block: masked stores are slow on AMD */
        _mm_storeu_si128((__m128i *)out, v);
        return;
    }
    if (n & 8) _mm_storel_epi64((__m128i *)out, v), v = _mm_srli_si128(v, 8), out += 8;
    if (n & 4) {
        const int32_t w = _mm_cvtsi128_si32(v);
        memcpy(out, &w, 4);
        v = _mm_srli_si128(v, 4), out += 4;
    }
    if (n & 2) {
        const int16_t h = (int16_t)_mm_cvtsi128_si32(v);
        memcpy(out, &h, 2);
        v = _mm_srli_si128(v, 2), out += 2;
    }
    if (n & 1) *out = (int8_t)_mm_cvtsi128_si32(v);
}

#define TF_LANES_TILE(NAME, TWO)                                                                          \
    TF_VNNI static void NAME(const uint8_t *const *base, const int *offs, int steps, const int8_t *w0, \
                             int kp, __m512i *acc)                                                      \
    {                                                                                                   \
        const int8_t *w1 = w0 + 16 * kp;                                                               \
        const uint8_t *r0 = base[0], *r1 = base[1], *r2 = base[2], *r3 = base[3], *r4 = base[4];        \
        const uint8_t *r5 = base[5], *r6 = base[6], *r7 = base[7];                                      \
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;      \
        __m512i a7 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;        \
        int i;                                                                                          \
        for (i = 0; i < steps; ++i, w0 += 64, w1 += 64) {                                               \
            const int c = offs[i]; /* loaded: the eight loads stay base + index */                      \
            const __m512i f0 = _mm512_load_si512((const void *)w0);                                     \
            const __m512i f1 = TWO ? _mm512_load_si512((const void *)w1) : f0;                          \
            __m512i x;                                                                                  \
            TF_LANE_PIX(0, TWO) TF_LANE_PIX(1, TWO) TF_LANE_PIX(2, TWO) TF_LANE_PIX(3, TWO)             \
            TF_LANE_PIX(4, TWO) TF_LANE_PIX(5, TWO) TF_LANE_PIX(6, TWO) TF_LANE_PIX(7, TWO)             \
        }                                                                                               \
        acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3, acc[4] = a4, acc[5] = a5, acc[6] = a6;      \
        acc[7] = a7;                                                                                    \
        if (TWO) {                                                                                      \
            acc[8] = b0, acc[9] = b1, acc[10] = b2, acc[11] = b3, acc[12] = b4, acc[13] = b5;           \
            acc[14] = b6, acc[15] = b7;                                                                 \
        }                                                                                               \
    }
#define TF_LANE_PIX(J, TWO)                                 \
    x = _mm512_set1_epi32(load_i32(r##J + c));              \
    a##J = _mm512_dpbusd_epi32(a##J, x, f0);                \
    if (TWO) b##J = _mm512_dpbusd_epi32(b##J, x, f1);
/* Eight pixels x blocks of 16 channels: two blocks (acc[0..7] the first's pixels, acc[8..15] the
 * second's) or one. Step i of pixel j's column is the 4 unsigned bytes at base[j] + offs[i], in the
 * packed filter's order. */
TF_LANES_TILE(lanes_tile2_vnni, 1)
TF_LANES_TILE(lanes_tile1_vnni, 0)
#undef TF_LANE_PIX
#undef TF_LANES_TILE

/* Bytes of the flipped, padded input of the direct path (larger inputs take the im2col columns). */
#ifndef TINYFORGE_SIMD_MAX_IN
#define TINYFORGE_SIMD_MAX_IN (256 * 1024)
#endif
static int8_t tinyforge_flip_in[TINYFORGE_SIMD_MAX_IN + 64] __attribute__((aligned(64)));

/* The input flipped to unsigned bytes into tinyforge_flip_in, each pixel's channels padded to c4 and
 * the image framed by the zero point (top, left, and up to hp x wp pixels): every tap of every pixel
 * then reads inside the buffer. */
TF_VNNI static void flip_padded_input(const tinyforge_conv_s8_t *p, const int8_t *input, int c4, int hp, int wp)
{
    const int C = p->in_c, row = p->in_w * C;
    const uint8_t zp = (uint8_t)((int8_t)(-p->input_offset) ^ 0x80);
    uint8_t *const buf = (uint8_t *)tinyforge_flip_in;
    int b, y, x, c;
    memset(buf, zp, (size_t)p->batches * hp * wp * c4);
    for (b = 0; b < p->batches; ++b)
        for (y = 0; y < p->in_h; ++y) {
            const int8_t *src = input + (size_t)(b * p->in_h + y) * row;
            uint8_t *dst = buf + ((size_t)(b * hp + y + p->pad_h) * wp + p->pad_w) * c4;
            if (c4 == C) {
                const __m512i flip = _mm512_set1_epi8((char)0x80);
                int i;
                for (i = 0; i + 64 <= row; i += 64)
                    _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i)), flip));
                if (i < row) {
                    const __mmask64 m = (__mmask64)((1ULL << (row - i)) - 1);
                    _mm512_mask_storeu_epi8(dst + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), flip));
                }
            } else {
                for (x = 0; x < p->in_w; ++x)
                    for (c = 0; c < C; ++c) dst[x * c4 + c] = (uint8_t)(src[x * C + c] ^ 0x80);
            }
        }
}

TF_VNNI static void conv_lanes_vnni(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                                    const int32_t *bias_eff, int8_t *output, int8_t *scratch)
{
    const int k = p->col_stride, xs = (k + 63) / 64 * 64, pixels = p->batches * p->out_h * p->out_w;
    const int C = p->out_c, blocks = (C + 15) / 16, taps = p->f_h * p->f_w, c4 = (p->in_c + 3) / 4 * 4;
    const int hp0 = (p->out_h - 1) * p->stride_h + (p->f_h - 1) * p->dil_h + 1;
    const int wp0 = (p->out_w - 1) * p->stride_w + (p->f_w - 1) * p->dil_w + 1;
    const int hp = hp0 > p->in_h + p->pad_h ? hp0 : p->in_h + p->pad_h;
    const int wp = wp0 > p->in_w + p->pad_w ? wp0 : p->in_w + p->pad_w;
    /* direct: the taps read from the flipped, padded input, channels padded to c4 (when that adds
     * at most a third), for a call that covers the image (not a tile of the RAM plan's, whose
     * padding is negative past its first row and column); else im2col columns */
    const int direct = 4 * p->in_c >= 3 * c4 && taps <= 64 && p->pad_h >= 0 && p->pad_w >= 0 &&
                       (long)hp * wp <= 2L * hp0 * wp0 &&
                       (long)p->batches * hp * wp * c4 <= TINYFORGE_SIMD_MAX_IN;
    const int ntaps = direct ? taps : 1, run = direct ? c4 : k, kp = ntaps * run;
    const tinyforge_simd_pack_t *pk = conv_pack(filter, bias_eff, k, C, ntaps, run, direct ? p->in_c : k);
    const __m512i off = _mm512_set1_epi32(p->output_offset);
    const __m512i lo = _mm512_set1_epi32(p->act_min), hi = _mm512_set1_epi32(p->act_max);
    uint8_t *const xb = (uint8_t *)tinyforge_simd_xbuf_bytes;
    const uint8_t *base[TINYFORGE_LANE_PIXELS];
    int offs[TINYFORGE_SIMD_MAX_K / 4 + 16];
    __m512i acc[16];
    int pix, j, cb, t, c, oy, ox, yb; /* yb: the padded input row of output row oy of batch b */
    if (pk == NULL || kp > TINYFORGE_SIMD_MAX_K + 64) {
        conv_vnni(p, input, filter, bias_eff, output, scratch);
        return;
    }
    for (t = 0, j = 0; t < ntaps; ++t) {
        const int tap = direct ? (t / p->f_w * p->dil_h * wp + t % p->f_w * p->dil_w) * c4 : 0;
        for (c = 0; c < run; c += 4) offs[j++] = tap + c;
    }
    if (direct) flip_padded_input(p, input, c4, hp, wp);
    for (pix = 0, oy = 0, ox = 0, yb = 0; pix < pixels; pix += TINYFORGE_LANE_PIXELS) {
        const int n = pixels - pix < TINYFORGE_LANE_PIXELS ? pixels - pix : TINYFORGE_LANE_PIXELS;
        int8_t *out = output + pix * C;
        for (j = 0; j < TINYFORGE_LANE_PIXELS; ++j) {
            const int q = pix + (j < n ? j : n - 1);
            if (direct && j >= n) {
                base[j] = base[n - 1];
            } else if (direct) { /* pixel q = (b, oy, ox), walked in order */
                base[j] = (const uint8_t *)tinyforge_flip_in + ((size_t)(yb * wp) + ox * p->stride_w) * c4;
                if (++ox == p->out_w) {
                    ox = 0;
                    yb += p->stride_h;
                    if (++oy == p->out_h) oy = 0, yb += hp - p->out_h * p->stride_h; /* next batch */
                }
            } else {
                if (j < n) flip_column(tinyforge_conv_column_s8(p, input, q, scratch), k, xb + j * xs);
                base[j] = xb + (j < n ? j : n - 1) * xs;
            }
        }
        for (cb = 0; cb < blocks; cb += 2) {
            const int two = cb + 1 < blocks, nb = two ? 2 : 1;
            int b;
            if (two) lanes_tile2_vnni(base, offs, kp / 4, pk->w + cb * 16 * kp, kp, acc);
            else lanes_tile1_vnni(base, offs, kp / 4, pk->w + cb * 16 * kp, kp, acc);
            for (b = 0; b < nb; ++b) {
                const int oc = (cb + b) * 16, left = C - oc;
                const __mmask16 keep = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1);
                const __m512i bias = _mm512_load_si512((const void *)(pk->bias + oc));
                const __m512i m = _mm512_maskz_loadu_epi32(keep, p->multiplier + oc);
                const __m512i s = _mm512_maskz_loadu_epi32(keep, p->shift + oc);
                for (j = 0; j < n; ++j)
                    store_block_vnni(out + j * C + oc, _mm512_add_epi32(acc[8 * b + j], bias), m, s, off, lo, hi, keep);
            }
        }
    }
}

/* The depthwise filter (grouped by four channels) as int32 [taps][C rounded up to 16], made on first
 * use into the pack pool (key: filter, bias_eff, -taps, C), or NULL when the pool is full. With C < 16
 * dividing 16 the lanes repeat the C channels (w[t][i] = filter of channel i % C), and so do the
 * multipliers and shifts (m16, s16): a run of pixels with C channels each is then periodic in 16 lanes;
 * past C otherwise, zeros. */
static const tinyforge_simd_pack_t *dw_pack(const tinyforge_conv_s8_t *p, const int8_t *filter,
                                            const int32_t *bias_eff, int taps, int C)
{
    const int c16 = (C + 15) / 16 * 16, repeat = C < 16 && 16 % C == 0;
    const int bytes = (4 * taps * c16 + 2 * 64 + 63) / 64 * 64;
    tinyforge_simd_pack_t *pk;
    int32_t *w, *m16, *s16;
    int i, t, c;
    for (i = 0; i < tinyforge_packs_n; ++i) {
        pk = &tinyforge_packs[i];
        if (pk->filter == filter && pk->bias_eff == bias_eff && pk->k == -taps && pk->C == C) return pk;
    }
    if (tinyforge_packs_n == TINYFORGE_SIMD_PACKS || bytes > TINYFORGE_SIMD_PACK_BYTES - tinyforge_pack_used)
        return NULL;
    w = (int32_t *)(void *)(tinyforge_pack_pool + tinyforge_pack_used);
    m16 = w + taps * c16, s16 = m16 + 16;
    for (t = 0; t < taps; ++t)
        for (i = 0; i < c16; ++i) {
            c = repeat ? i % C : i;
            w[t * c16 + i] = c < C ? filter[(c & ~3) * taps + 4 * t + (c & 3)] : 0;
        }
    for (i = 0; i < 16; ++i) {
        m16[i] = repeat ? p->multiplier[i % C] : 0;
        s16[i] = repeat ? p->shift[i % C] : 0;
    }
    tinyforge_pack_used += bytes;
    pk = &tinyforge_packs[tinyforge_packs_n++];
    pk->filter = filter, pk->bias_eff = bias_eff, pk->k = -taps, pk->C = C;
    pk->w = (const int8_t *)(const void *)w, pk->bias = NULL, pk->m16 = m16, pk->s16 = s16;
    return pk;
}

/* One output pixel of the depthwise (tap rows `rows`): four vectors (64 channels) per pass, then
 * single vectors, the last under a mask. VPMOVSXBD, VPMULLD with the int32 filter, VPADDD. */
TF_VNNI static inline void dw_pixel_vnni(const tinyforge_conv_s8_t *p, const int32_t *w, int c16,
                                         const int8_t *const *rows, const int32_t *bias_eff, int8_t *out)
{
    const int C = p->in_c, taps = p->f_h * p->f_w;
    const __m512i off = _mm512_set1_epi32(p->output_offset);
    const __m512i lo = _mm512_set1_epi32(p->act_min), hi = _mm512_set1_epi32(p->act_max);
    int c, t;
    for (c = 0; c + 64 <= C; c += 64) {
        __m512i a0 = _mm512_loadu_si512((const void *)(bias_eff + c));
        __m512i a1 = _mm512_loadu_si512((const void *)(bias_eff + c + 16));
        __m512i a2 = _mm512_loadu_si512((const void *)(bias_eff + c + 32));
        __m512i a3 = _mm512_loadu_si512((const void *)(bias_eff + c + 48));
        const int32_t *f = w + c;
        int i;
        for (t = 0; t < taps; ++t, f += c16) {
            const int8_t *r = rows[t] + c;
#define TF_DW_MAC(A, I)                                                                                  \
    A = _mm512_add_epi32(A, _mm512_mullo_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(r + 16 * (I)))), \
                                               _mm512_load_si512((const void *)(f + 16 * (I)))))
            TF_DW_MAC(a0, 0);
            TF_DW_MAC(a1, 1);
            TF_DW_MAC(a2, 2);
            TF_DW_MAC(a3, 3);
#undef TF_DW_MAC
        }
        for (i = 0; i < 4; ++i) {
            const __m512i a = i == 0 ? a0 : i == 1 ? a1 : i == 2 ? a2 : a3;
            const int cc = c + 16 * i;
            store_block_vnni(out + cc, a, _mm512_loadu_si512((const void *)(p->multiplier + cc)),
                             _mm512_loadu_si512((const void *)(p->shift + cc)), off, lo, hi, 0xFFFF);
        }
    }
    for (; c < C; c += 16) {
        const __mmask16 keep = (__mmask16)(C - c >= 16 ? 0xFFFF : (1u << (C - c)) - 1);
        __m512i a = _mm512_maskz_loadu_epi32(keep, bias_eff + c);
        const int32_t *f = w + c;
        for (t = 0; t < taps; ++t, f += c16)
            a = _mm512_add_epi32(a, _mm512_mullo_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(keep, rows[t] + c)),
                                                       _mm512_load_si512((const void *)f)));
        store_block_vnni(out + c, a, _mm512_maskz_loadu_epi32(keep, p->multiplier + c),
                         _mm512_maskz_loadu_epi32(keep, p->shift + c), off, lo, hi, keep);
    }
}

static int32_t tinyforge_dw_rowbias[TINYFORGE_SIMD_MAX_C + 16] __attribute__((aligned(64)));

/* Depthwise on sixteen channels per vector. With stride 1 along x and C a multiple of 16 or a divisor
 * of 16 (up to 32), the inner pixels of an output row (every tap inside the image along x) are one run of bytes:
 * byte i of the run is channel i % C, and each tap's inputs for them are a run as long, so the row
 * goes sixteen bytes at a time with no per-pixel work (the packed arrays are periodic in max(C, 16)
 * lanes). Taps above or below the image are left out of the run and their zero-point products added
 * to the row's bias. The pixels at the left and right edges (and every pixel otherwise) take
 * dw_pixel_vnni. */
TF_VNNI static void dw_vnni(const tinyforge_conv_s8_t *p, const tinyforge_simd_pack_t *pk, const int8_t *input,
                            const int32_t *bias_eff, int8_t *output, const int8_t *zrow)
{
    const int C = p->in_c, c16 = (C + 15) / 16 * 16, zp = -p->input_offset;
    const int32_t *w = (const int32_t *)(const void *)pk->w;
    /* past 32 channels a pixel's four-vector passes do as well (and the row bias costs more) */
    const int runs = p->stride_w == 1 && p->pad_w >= 0 && (C == 16 || C == 32 || 16 % C == 0);
    const int period = C < 16 ? 16 : C;
    const int32_t *m = C < 16 ? pk->m16 : p->multiplier, *s = C < 16 ? pk->s16 : p->shift;
    const __m512i off = _mm512_set1_epi32(p->output_offset);
    const __m512i lo = _mm512_set1_epi32(p->act_min), hi = _mm512_set1_epi32(p->act_max);
    const int8_t *rows[64];
    const int32_t *wrow[64];
    int tap_offset[64];
    int x_lo = 0, x_hi = 0, b, oy, ox, t, i;
    dw_tap_offsets(p, tap_offset);
    if (runs) {
        x_lo = p->pad_w < p->out_w ? p->pad_w : p->out_w;
        x_hi = p->in_w + p->pad_w - (p->f_w - 1) * p->dil_w;
        x_hi = x_hi > p->out_w ? p->out_w : x_hi < x_lo ? x_lo : x_hi;
        if (C < 16) x_hi -= (x_hi - x_lo) % (16 / C); /* whole vectors */
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * C;
        for (oy = 0; oy < p->out_h; ++oy) {
            int8_t *out_row = output + (size_t)(b * p->out_h + oy) * p->out_w * C;
            for (ox = 0; ox < p->out_w; ++ox) {
                if (ox == x_lo && x_hi > x_lo) { /* the row's run */
                    const int in_y0 = oy * p->stride_h - p->pad_h, n = (x_hi - x_lo) * C;
                    int valid = 0, fy, fx, ph;
                    for (i = 0; i < period; ++i) tinyforge_dw_rowbias[i] = bias_eff[i % C];
                    for (fy = 0, t = 0; fy < p->f_h; ++fy) {
                        const int in_y = in_y0 + fy * p->dil_h;
                        for (fx = 0; fx < p->f_w; ++fx, ++t) {
                            if (in_y < 0 || in_y >= p->in_h) {
                                for (i = 0; i < period; ++i) tinyforge_dw_rowbias[i] += zp * w[t * c16 + i];
                            } else {
                                rows[valid] = in_b + ((size_t)in_y * p->in_w + x_lo - p->pad_w + fx * p->dil_w) * C;
                                wrow[valid++] = w + t * c16;
                            }
                        }
                    }
                    for (i = 0, ph = 0; i < n; i += 16, ph = ph + 16 == period ? 0 : ph + 16) {
                        __m512i a = _mm512_load_si512((const void *)(tinyforge_dw_rowbias + ph));
                        for (t = 0; t < valid; ++t)
                            a = _mm512_add_epi32(a, _mm512_mullo_epi32(
                                                        _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(rows[t] + i))),
                                                        _mm512_load_si512((const void *)(wrow[t] + ph))));
                        store_block_vnni(out_row + x_lo * C + i, a, _mm512_loadu_si512((const void *)(m + ph)),
                                         _mm512_loadu_si512((const void *)(s + ph)), off, lo, hi, 0xFFFF);
                    }
                    ox = x_hi - 1;
                    continue;
                }
                dw_pixel_rows(p, in_b, oy, ox, zrow, tap_offset, rows);
                dw_pixel_vnni(p, w, c16, rows, bias_eff, out_row + ox * C);
            }
        }
    }
}

/* One input of ADD on sixteen lanes: tinyforge_mbqm_fast((x + offset) << l, m, s) for s <= 0 and
 * 8 < l <= 22 (TFLM's l is 20). With v = x + offset (|v| <= 255) and m = mh * 2^(31-l) + ml:
 * (v * m * 2^l + 2^30) >> 31 = v * mh + ((v * ml + 2^(30-l)) >> (31-l)), both products in 32 bits;
 * then RoundingDivideByPOT by -s (one shift for every lane). */
typedef struct {
    __m512i offset, mh, ml, round, mask, half;
    __m128i down, right;
} tinyforge_add_input_512_t;

TF_VNNI static inline tinyforge_add_input_512_t add_input_params(int32_t offset, int32_t m, int32_t s, int l)
{
    tinyforge_add_input_512_t q;
    const int32_t mask = (int32_t)((1u << -s) - 1u);
    q.offset = _mm512_set1_epi32(offset);
    q.mh = _mm512_set1_epi32(m >> (31 - l));
    q.ml = _mm512_set1_epi32(m & ((1 << (31 - l)) - 1));
    q.round = _mm512_set1_epi32(1 << (30 - l));
    q.mask = _mm512_set1_epi32(mask);
    q.half = _mm512_set1_epi32(mask >> 1);
    q.down = _mm_cvtsi32_si128(31 - l);
    q.right = _mm_cvtsi32_si128(-s);
    return q;
}

TF_VNNI static inline __m512i add_input_512(const int8_t *x, const tinyforge_add_input_512_t *q)
{
    const __m512i v = _mm512_add_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)x)), q->offset);
    const __m512i lowp = _mm512_add_epi32(_mm512_mullo_epi32(v, q->ml), q->round);
    const __m512i h = _mm512_add_epi32(_mm512_mullo_epi32(v, q->mh), _mm512_sra_epi32(lowp, q->down));
    const __m512i rem = _mm512_and_si512(h, q->mask);
    const __m512i thr = _mm512_sub_epi32(q->half, _mm512_srai_epi32(h, 31));
    const __m512i r = _mm512_sra_epi32(h, q->right);
    return _mm512_mask_add_epi32(r, _mm512_cmpgt_epi32_mask(rem, thr), r, _mm512_set1_epi32(1));
}

/* ADD without broadcasting, sixteen elements per step (the tail and other shifts: add_avx2). */
TF_VNNI static int add_vnni(const tinyforge_binary_s8_t *p, int size, const int8_t *in1, const int8_t *in2,
                            int8_t *output)
{
    const int l = p->left_shift;
    tinyforge_add_input_512_t q1, q2;
    const __m512i mo = _mm512_set1_epi32(p->output_multiplier), so = _mm512_set1_epi32(p->output_shift);
    const __m512i off = _mm512_set1_epi32(p->output_offset);
    const __m512i lo = _mm512_set1_epi32(p->act_min), hi = _mm512_set1_epi32(p->act_max);
    int i;
    if (l <= 8 || l > 22 || p->input1_shift > 0 || p->input2_shift > 0 || p->input1_shift < -31 ||
        p->input2_shift < -31)
        return 0;
    q1 = add_input_params(p->input1_offset, p->input1_multiplier, p->input1_shift, l);
    q2 = add_input_params(p->input2_offset, p->input2_multiplier, p->input2_shift, l);
    for (i = 0; i + 16 <= size; i += 16) {
        const __m512i sum = _mm512_add_epi32(add_input_512(in1 + i, &q1), add_input_512(in2 + i, &q2));
        const __m512i r = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(mbqm_512(sum, mo, so), off), lo), hi);
        _mm_storeu_si128((__m128i *)(output + i), _mm512_cvtepi32_epi8(r));
    }
    if (i < size) add_avx2(p, size - i, in1 + i, in2 + i, output + i);
    return 1;
}

/* Fully connected: x as unsigned bytes, each 4-byte group repeated four times (one per row of a
 * group); the weights' sums come from a second VPDPBUSD with ones. */
TF_VNNI static void fc_vnni(const tinyforge_fc_s8_t *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias_eff, int8_t *output)
{
    const int k = p->accum_depth, o4 = p->out_depth & ~3;
    const __m256i off = _mm256_set1_epi32(p->output_offset);
    const __m256i lo = _mm256_set1_epi32(p->act_min), hi = _mm256_set1_epi32(p->act_max);
    const __m256i m1 = _mm256_set1_epi32(p->multiplier[0]), s1 = _mm256_set1_epi32(p->shift[0]);
    const __m512i ones = _mm512_set1_epi8(1);
    const __m128i flip = _mm_set1_epi8((char)0x80);
    const int kx = (k + 15) / 16 * 64; /* expanded bytes */
    uint8_t *const xb = (uint8_t *)tinyforge_simd_xbuf_bytes;
    int b, oc, t;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * k;
        int8_t *out = output + b * p->out_depth;
        for (t = 0; t < k; t += 4) {
            int32_t w4;
            memcpy(&w4, x + t, 4);
            _mm_store_si128((__m128i *)(xb + 4 * t), _mm_xor_si128(_mm_set1_epi32(w4), flip));
        }
        for (t = 4 * k; t < kx; t += 16) _mm_store_si128((__m128i *)(xb + t), _mm_setzero_si128());
        for (oc = 0; oc < o4; oc += 4) {
            const int8_t *f = filter + oc * k;
            __m512i a = _mm512_setzero_si512(), w = a;
            __m256i h;
            __m128i r;
            for (t = 0; t < 4 * k; t += 64) {
                const int n = 4 * k - t;
                const __m512i wv = n >= 64 ? _mm512_loadu_si512((const void *)(f + t))
                                           : _mm512_maskz_loadu_epi8((__mmask64)((1ULL << n) - 1), f + t);
                a = _mm512_dpbusd_epi32(a, _mm512_load_si512((const void *)(xb + t)), wv);
                w = _mm512_dpbusd_epi32(w, ones, wv);
            }
            a = _mm512_sub_epi32(a, _mm512_slli_epi32(w, 7));
            h = _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
            r = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)); /* rows 0..3 */
            r = _mm_add_epi32(r, _mm_loadu_si128((const __m128i *)(bias_eff + oc)));
            {
                int8_t spill[4];
                const __m256i mm = p->per_channel ? load44(p->multiplier + oc, p->multiplier + oc) : m1;
                const __m256i ss = p->per_channel ? load44(p->shift + oc, p->shift + oc) : s1;
                store44_avx2(out + oc, spill, rq_avx2(_mm256_setr_m128i(r, r), mm, ss, off, lo, hi));
            }
        }
        for (; oc < p->out_depth; ++oc)
            out[oc] = rq_scalar(dot_plain(x, filter + oc * k, k, bias_eff[oc]), p->multiplier[p->per_channel ? oc : 0],
                                p->shift[p->per_channel ? oc : 0], p->output_offset, p->act_min, p->act_max);
    }
}

/* ---- dispatch ---- */

int tinyforge_conv2d_s8_simd(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                             const int32_t *bias_eff, int8_t *output, int8_t *scratch)
{
    const int level = tinyforge_simd_level();
    if (level == 0 || p->col_stride > TINYFORGE_SIMD_MAX_K || p->out_c > TINYFORGE_SIMD_MAX_C) return 0;
    if (level >= 3) conv_lanes_vnni(p, input, filter, bias_eff, output, scratch);
    else if (level >= 2) conv_avx2(p, input, filter, bias_eff, output, scratch);
    else conv_sse(p, input, filter, bias_eff, output, scratch);
    return 1;
}

int tinyforge_depthwise_conv2d_s8_simd(const tinyforge_conv_s8_t *p, const int8_t *input,
                                       const int8_t *filter, const int32_t *bias_eff, int8_t *output,
                                       int8_t *scratch)
{
    const int level = tinyforge_simd_level();
    const int taps = p->f_h * p->f_w;
    if (level == 0 || p->depth_multiplier != 1 || p->in_c > TINYFORGE_SIMD_MAX_C || taps > 64 ||
        taps * p->in_c > TINYFORGE_SIMD_MAX_DW)
        return 0;
    if (level >= 3) {
        const tinyforge_simd_pack_t *pk = dw_pack(p, filter, bias_eff, taps, p->in_c);
        if (pk != NULL) {
            dw_vnni(p, pk, input, bias_eff, output, scratch);
            return 1;
        }
    }
    dw_expand(filter, taps, p->in_c);
    if (level >= 2) dw_avx2(p, input, bias_eff, output, scratch);
    else dw_sse(p, input, bias_eff, output, scratch);
    return 1;
}

int tinyforge_fully_connected_s8_simd(const tinyforge_fc_s8_t *p, const int8_t *input,
                                      const int8_t *filter, const int32_t *bias_eff, int8_t *output)
{
    const int level = tinyforge_simd_level();
    if (level == 0 || p->accum_depth > 4 * TINYFORGE_SIMD_MAX_K - 16 || p->out_depth > TINYFORGE_SIMD_MAX_C) return 0;
    if (level >= 3) fc_vnni(p, input, filter, bias_eff, output);
    else if (level >= 2) fc_avx2(p, input, filter, bias_eff, output);
    else fc_sse(p, input, filter, bias_eff, output);
    return 1;
}
int tinyforge_add_s8_simd(const tinyforge_binary_s8_t *p, int size, const int8_t *in1, const int8_t *in2,
                          int8_t *output)
{
    const int level = tinyforge_simd_level();
    if (level < 2) return 0;
    if (level < 3 || !add_vnni(p, size, in1, in2, output)) add_avx2(p, size, in1, in2, output);
    return 1;
}
#endif /* TINYFORGE_SIMD_X86 */

/* ------------------------------------------------------------------------------------------ */
#ifdef TINYFORGE_SIMD_NEON
#include <arm_neon.h>

int tinyforge_simd_level(void) { return 1; }

/* tinyforge_mbqm_fast on four lanes as gemmlowp's NEON code does it: VQRDMULH is
 * SaturatingRoundingDoublingHighMul, RoundingDivideByPOT is VRSHL after negative values are moved
 * down by one (the same steps as the Helium path). Then the offset and the clamp. */
static inline int32x4_t rq_neon(int32x4_t x, int32x4_t m, int32x4_t s, int32x4_t off, int32x4_t lo,
                                int32x4_t hi)
{
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t right = vminq_s32(s, zero);
    x = vqrdmulhq_s32(vshlq_s32(x, vmaxq_s32(s, zero)), m);
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
    x = vaddq_s32(vrshlq_s32(x, right), off);
    return vminq_s32(vmaxq_s32(x, lo), hi);
}

static inline void store4_neon(int8_t *dst, int32x4_t v)
{
    const int8x8_t b = vqmovn_s16(vcombine_s16(vqmovn_s32(v), vqmovn_s32(v)));
    vst1_lane_s32((int32_t *)(void *)dst, vreinterpret_s32_s8(b), 0);
}

/* Taps t..t+7 of a column, as x[0..3], x[0..3], x[4..7], x[4..7]. */
static inline int8x16_t dup_pairs(const int8_t *x)
{
    const uint32x4_t d = vreinterpretq_u32_s8(vcombine_s8(vld1_s8(x), vld1_s8(x)));
    return vreinterpretq_s8_u32(vzip1q_u32(d, d));
}

/* Two pixels x channels [oc, oc + 4): VMULL of 8 int8 pairs, VPADAL into four int32 lanes
 * ([r0, r0, r1, r1] of a pair), folded by VPADD. */
static void conv_quad_neon(const int8_t *x0, const int8_t *x1, const int8_t *fa, int k, int32x4_t *r0,
                           int32x4_t *r1)
{
    const int8_t *fb = fa + 2 * k;
    int32x4_t a0 = vdupq_n_s32(0), b0 = a0, a1 = a0, b1 = a0;
    int t;
    for (t = 0; t + 8 <= k; t += 8, fa += 16, fb += 16) {
        const int8x16_t wa = vld1q_s8(fa), wb = vld1q_s8(fb);
        const int8x16_t u = dup_pairs(x0 + t), v = dup_pairs(x1 + t);
        a0 = vpadalq_s16(a0, vmull_s8(vget_low_s8(u), vget_low_s8(wa)));
        a0 = vpadalq_s16(a0, vmull_high_s8(u, wa));
        b0 = vpadalq_s16(b0, vmull_s8(vget_low_s8(u), vget_low_s8(wb)));
        b0 = vpadalq_s16(b0, vmull_high_s8(u, wb));
        a1 = vpadalq_s16(a1, vmull_s8(vget_low_s8(v), vget_low_s8(wa)));
        a1 = vpadalq_s16(a1, vmull_high_s8(v, wa));
        b1 = vpadalq_s16(b1, vmull_s8(vget_low_s8(v), vget_low_s8(wb)));
        b1 = vpadalq_s16(b1, vmull_high_s8(v, wb));
    }
    if (t < k) { /* 4 taps */
        int32_t w0, w1;
        int8x8_t u, v;
        const int8x8_t wa = vld1_s8(fa), wb = vld1_s8(fb);
        memcpy(&w0, x0 + t, 4);
        memcpy(&w1, x1 + t, 4);
        u = vreinterpret_s8_s32(vdup_n_s32(w0));
        v = vreinterpret_s8_s32(vdup_n_s32(w1));
        a0 = vpadalq_s16(a0, vmull_s8(u, wa));
        b0 = vpadalq_s16(b0, vmull_s8(u, wb));
        a1 = vpadalq_s16(a1, vmull_s8(v, wa));
        b1 = vpadalq_s16(b1, vmull_s8(v, wb));
    }
    *r0 = vpaddq_s32(a0, b0);
    *r1 = vpaddq_s32(a1, b1);
}

int tinyforge_conv2d_s8_simd(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                             const int32_t *bias_eff, int8_t *output, int8_t *scratch)
{
    const int k = p->col_stride, pixels = p->batches * p->out_h * p->out_w, C = p->out_c, oc4 = C & ~3;
    const int32x4_t off = vdupq_n_s32(p->output_offset);
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    int pix, oc, j;
    for (pix = 0; pix < pixels; pix += 2) {
        const int n = pixels - pix < 2 ? pixels - pix : 2;
        const int8_t *cols[2];
        cols[0] = tinyforge_conv_column_s8(p, input, pix, scratch);
        cols[1] = n > 1 ? tinyforge_conv_column_s8(p, input, pix + 1, scratch + k) : cols[0];
        for (oc = 0; oc < oc4; oc += 4) {
            const int32x4_t bias = vld1q_s32(bias_eff + oc);
            const int32x4_t m = vld1q_s32(p->multiplier + oc), s = vld1q_s32(p->shift + oc);
            int32x4_t r0, r1;
            conv_quad_neon(cols[0], cols[1], filter + oc * k, k, &r0, &r1);
            store4_neon(output + pix * C + oc, rq_neon(vaddq_s32(r0, bias), m, s, off, lo, hi));
            if (n > 1) store4_neon(output + (pix + 1) * C + oc, rq_neon(vaddq_s32(r1, bias), m, s, off, lo, hi));
        }
        for (; oc < C; ++oc) { /* a last pair, or the odd plain row: scalar */
            const int pair = oc + 1 < C || (C & 1) == 0;
            const int8_t *row = filter + (oc & ~1) * k;
            for (j = 0; j < n; ++j) {
                int32_t acc = bias_eff[oc];
                int g, i;
                if (pair) {
                    for (g = 0; g < k; g += 4)
                        for (i = 0; i < 4; ++i) acc += (int32_t)cols[j][g + i] * row[2 * g + 4 * (oc & 1) + i];
                } else {
                    acc = dot_plain(cols[j], row, k, acc);
                }
                output[(pix + j) * C + oc] = rq_scalar(acc, p->multiplier[oc], p->shift[oc], p->output_offset,
                                                       p->act_min, p->act_max);
            }
        }
    }
    return 1;
}

/* Depthwise: the generic loops (not vectorised for NEON yet). */
int tinyforge_depthwise_conv2d_s8_simd(const tinyforge_conv_s8_t *p, const int8_t *input,
                                       const int8_t *filter, const int32_t *bias_eff, int8_t *output,
                                       int8_t *scratch)
{
    (void)p, (void)input, (void)filter, (void)bias_eff, (void)output, (void)scratch;
    return 0;
}

int tinyforge_fully_connected_s8_simd(const tinyforge_fc_s8_t *p, const int8_t *input,
                                      const int8_t *filter, const int32_t *bias_eff, int8_t *output)
{
    const int k = p->accum_depth, o4 = p->out_depth & ~3;
    const int32x4_t off = vdupq_n_s32(p->output_offset);
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int32x4_t m1 = vdupq_n_s32(p->multiplier[0]), s1 = vdupq_n_s32(p->shift[0]);
    int b, oc, t;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * k;
        int8_t *out = output + b * p->out_depth;
        for (oc = 0; oc < o4; oc += 4) {
            const int8_t *f = filter + oc * k;
            int32x4_t al = vdupq_n_s32(0), ah = al;
            for (t = 0; t < k; t += 4, f += 16) { /* 4 taps x 4 rows */
                int32_t x4;
                int8x16_t xv, w;
                memcpy(&x4, x + t, 4);
                xv = vreinterpretq_s8_s32(vdupq_n_s32(x4));
                w = vld1q_s8(f);
                al = vpadalq_s16(al, vmull_s8(vget_low_s8(xv), vget_low_s8(w)));
                ah = vpadalq_s16(ah, vmull_high_s8(xv, w));
            }
            al = vaddq_s32(vpaddq_s32(al, ah), vld1q_s32(bias_eff + oc));
            store4_neon(out + oc, rq_neon(al, p->per_channel ? vld1q_s32(p->multiplier + oc) : m1,
                                          p->per_channel ? vld1q_s32(p->shift + oc) : s1, off, lo, hi));
        }
        for (; oc < p->out_depth; ++oc)
            out[oc] = rq_scalar(dot_plain(x, filter + oc * k, k, bias_eff[oc]), p->multiplier[p->per_channel ? oc : 0],
                                p->shift[p->per_channel ? oc : 0], p->output_offset, p->act_min, p->act_max);
    }
    return 1;
}

int tinyforge_add_s8_simd(const tinyforge_binary_s8_t *p, int size, const int8_t *in1, const int8_t *in2,
                          int8_t *output)
{
    (void)p, (void)size, (void)in1, (void)in2, (void)output;
    return 0;
}
#endif /* TINYFORGE_SIMD_NEON */

/* ISO C wants at least one declaration in a translation unit. */
typedef int tinyforge_kernels_s8_simd_unused_t;
