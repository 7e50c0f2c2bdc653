/* Optimised int8 kernels, bit-exact with tinyforge_kernels_s8.c.
 * Hand-written runtime of the Tinyforge compiler; copied into every generated library.
 *
 * Two exact rewrites make them fast, both prepared by the compiler at build time:
 *  - the input offset is folded into the bias: sum(w * (x + off)) = sum(w * x) + off * sum(w),
 *    so `bias_eff` = bias + off * sum(w) per output channel; padded taps are fed the input
 *    zero point (x + off = 0), which keeps the fold exact at the borders;
 *  - the int8 dot products then need no offset: on cores with the DSP extension two SXTB16
 *    unpack four int8 into two int16 pairs and SMLAD does two multiply-accumulates. Both
 *    operands are unpacked alike, so no weight reordering is needed.
 * On Cortex-M55 the same loops run 16 lanes at a time with Helium (MVE), see below.
 * Build with -DTINYFORGE_EMULATE_DSP on a host to run the DSP code paths with C stand-ins. */
#include <stdint.h>
#include <string.h>

#include "tinyforge_fixedpoint.h"
#include "tinyforge_kernels.h"

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define TINYFORGE_DSP 1
#define tinyforge_sxtb16(x) __sxtb16((int32_t)(x))
static inline int32_t tinyforge_sxtb16_ror8(uint32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
#define tinyforge_smlad(a, b, acc) __smlad((a), (b), (acc))
#define tinyforge_smlabb(a, b, acc) __smlabb((a), (b), (acc))
#define tinyforge_smlatt(a, b, acc) __smlatt((a), (b), (acc))
#elif defined(TINYFORGE_EMULATE_DSP)
#define TINYFORGE_DSP 1
static int32_t tinyforge_sxtb16(uint32_t x)
{
    const uint32_t lo = (uint32_t)(int32_t)(int8_t)(x & 0xff) & 0xffffu;
    const uint32_t hi = (uint32_t)(int32_t)(int8_t)((x >> 16) & 0xff) & 0xffffu;
    return (int32_t)(lo | (hi << 16));
}
static int32_t tinyforge_sxtb16_ror8(uint32_t x) { return tinyforge_sxtb16((x >> 8) | (x << 24)); }
static int32_t tinyforge_lo(int32_t x) { return (int16_t)(x & 0xffff); }
static int32_t tinyforge_hi(int32_t x) { return (int16_t)(((uint32_t)x >> 16) & 0xffff); }
static int32_t tinyforge_smlad(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tinyforge_lo(a) * tinyforge_lo(b))
                     + (uint32_t)(tinyforge_hi(a) * tinyforge_hi(b)));
}
static int32_t tinyforge_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return acc + tinyforge_lo(a) * tinyforge_lo(b);
}
static int32_t tinyforge_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return acc + tinyforge_hi(a) * tinyforge_hi(b);
}
#else
#define TINYFORGE_DSP 0
#endif

/* Helium (M-profile Vector Extension, Cortex-M55): VMLADAVA multiplies 16 int8 lane pairs and adds
 * them to a 32-bit scalar in one instruction; VLD2/VLD4 on 32-bit words undo the compiler's
 * 4-byte interleaving of filter rows and im2col columns. Integer sums, so bit-exact in any order.
 * VLD2/VLD4 need 4-byte aligned addresses: unaligned data takes the DSP path. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(TINYFORGE_NO_MVE)
#include <arm_mve.h>
#define TINYFORGE_MVE 1
#else
#define TINYFORGE_MVE 0
#endif
#define tinyforge_aligned4(p) ((((uintptr_t)(p)) & 3u) == 0u)

#if TINYFORGE_MVE
/* tinyforge_mbqm_fast on four lanes, each with its own multiplier and shift, then the output
 * offset and the clamp: TFLM's double rounding, bit-exact. VQRDMULH is
 * SaturatingRoundingDoublingHighMul ((2ab + 2^31) >> 32, saturated); RoundingDivideByPOT
 * (round half away from zero) is VRSHL (round half up, exact wide arithmetic) after negative
 * values are moved down by one, as CMSIS-NN does it. A right shift of 0 changes nothing. */
static inline int32x4_t mbqm_mve(int32x4_t acc, int32x4_t mult, int32x4_t shift)
{
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t right = vminq_s32(shift, zero); /* <= 0: VRSHL shifts right */
    acc = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(shift, zero)), mult);
    acc = vqaddq_s32(acc, vshrq_n_s32(vandq_s32(acc, right), 31));
    return vrshlq_s32(acc, right);
}

/* acc + a * b on four lanes. In assembly so that GCC keeps the chain in order: written with
 * intrinsics, unrolled chains get re-associated into nine live products and spill the Q registers. */
static inline int32x4_t mla_mve(int32x4_t acc, int32x4_t a, int32x4_t b)
{
    int32x4_t t;
    __asm__("vmul.i32 %q1, %q2, %q3\n\tvadd.i32 %q0, %q0, %q1" : "+w"(acc), "=&w"(t) : "w"(a), "w"(b));
    return acc;
}

static inline int32x4_t requant_mve(int32x4_t acc, int32x4_t mult, int32x4_t shift, int32_t out_off,
                                    int32_t act_min, int32_t act_max)
{
    acc = vaddq_n_s32(mbqm_mve(acc, mult, shift), out_off);
    return vminq_s32(vmaxq_s32(acc, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
}
#endif

/* GCC's scheduling before register allocation hoists the vector loads of unrolled Helium loops
 * and spills the 8 Q registers; kernels with such loops turn it off. */
#if TINYFORGE_MVE && defined(__GNUC__) && !defined(__clang__)
#define TINYFORGE_NO_PRESCHED __attribute__((optimize("no-schedule-insns")))
#else
#define TINYFORGE_NO_PRESCHED
#endif
/* The same for the convolution without Helium: its unrolled SMLAD loop spills otherwise. */
#if !TINYFORGE_MVE && defined(__GNUC__) && !defined(__clang__)
#define TINYFORGE_NO_PRESCHED_CONV __attribute__((optimize("no-schedule-insns")))
#else
#define TINYFORGE_NO_PRESCHED_CONV
#endif

#if TINYFORGE_DSP
/* A word of int8 data read in place (the compiler may then pair loads into LDRD). */
#if defined(__GNUC__) || defined(__clang__)
typedef uint32_t __attribute__((may_alias)) tinyforge_word_t;
#else
typedef uint32_t tinyforge_word_t;
#endif
static inline uint32_t tinyforge_load4(const int8_t *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}
#endif

/* Inlined even where it has two callers (the fully connected kernel's two requantisations
 * without Helium): the accumulators then stay in registers instead of passing through memory. */
#if (defined(__GNUC__) || defined(__clang__)) && TINYFORGE_DSP && !TINYFORGE_MVE
#define TINYFORGE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define TINYFORGE_ALWAYS_INLINE inline
#endif

/* Dot products of `a` (k bytes, k a multiple of 4) with four filter rows stored interleaved
 * 4 bytes at a time (row0[0..3], row1[0..3], row2[0..3], row3[0..3], row0[4..7], ...). */
static TINYFORGE_ALWAYS_INLINE void dot4i_s8(const int8_t *a, const int8_t *f, int k, int32_t *acc)
{
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    const int8_t *const end = a + k;
#if TINYFORGE_MVE
    if (tinyforge_aligned4(f)) {
        for (; end - a >= 16; a += 16, f += 64) { /* 16 inputs x 4 rows */
            const int8x16_t va = vld1q_s8(a);
            const int32x4x4_t w = vld4q_s32((const int32_t *)f);
            s0 = vmladavaq_s8(s0, va, vreinterpretq_s8_s32(w.val[0]));
            s1 = vmladavaq_s8(s1, va, vreinterpretq_s8_s32(w.val[1]));
            s2 = vmladavaq_s8(s2, va, vreinterpretq_s8_s32(w.val[2]));
            s3 = vmladavaq_s8(s3, va, vreinterpretq_s8_s32(w.val[3]));
        }
    }
#endif
#if TINYFORGE_DSP
#define TINYFORGE_DOT4(WA, W0, W1, W2, W3)                                                    \
    do {                                                                                  \
        const int32_t ae = tinyforge_sxtb16(WA), ao = tinyforge_sxtb16_ror8(WA);          \
        uint32_t w = (W0);                                                                \
        s0 = tinyforge_smlad(ae, tinyforge_sxtb16(w), s0);                                \
        s0 = tinyforge_smlad(ao, tinyforge_sxtb16_ror8(w), s0);                           \
        w = (W1);                                                                         \
        s1 = tinyforge_smlad(ae, tinyforge_sxtb16(w), s1);                                \
        s1 = tinyforge_smlad(ao, tinyforge_sxtb16_ror8(w), s1);                           \
        w = (W2);                                                                         \
        s2 = tinyforge_smlad(ae, tinyforge_sxtb16(w), s2);                                \
        s2 = tinyforge_smlad(ao, tinyforge_sxtb16_ror8(w), s2);                           \
        w = (W3);                                                                         \
        s3 = tinyforge_smlad(ae, tinyforge_sxtb16(w), s3);                                \
        s3 = tinyforge_smlad(ao, tinyforge_sxtb16_ror8(w), s3);                           \
    } while (0)
#if !TINYFORGE_MVE && defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && defined(__thumb2__)
    /* In assembly (GCC neither pairs the loads nor keeps the 13 values in registers): per input
     * word its two SXTB16 halves against the four rows' words, fetched by two LDRD; two input
     * words (one LDRD) per loop, 41 + 2 instructions for 32 multiply-accumulates. */
    if (tinyforge_aligned4(a) && tinyforge_aligned4(f) && end - a >= 8) {
        int n = (int)(end - a) >> 3; /* pairs of input words */
        uint32_t x0, x1, xe, w0, w1, t;
#define TINYFORGE_DOT4_WORD(X)                                                                  \
    "sxtb16 %[xe], %[" X "]\n\t"                                                                \
    "sxtb16 %[" X "], %[" X "], ror #8\n\t"                                                     \
    "ldrd %[w0], %[w1], [%[f]], #8\n\t"                                                         \
    "sxtb16 %[t], %[w0]\n\t"                                                                    \
    "smlad %[s0], %[xe], %[t], %[s0]\n\t"                                                       \
    "sxtb16 %[w0], %[w0], ror #8\n\t"                                                           \
    "smlad %[s0], %[" X "], %[w0], %[s0]\n\t"                                                   \
    "sxtb16 %[t], %[w1]\n\t"                                                                    \
    "smlad %[s1], %[xe], %[t], %[s1]\n\t"                                                       \
    "sxtb16 %[w1], %[w1], ror #8\n\t"                                                           \
    "smlad %[s1], %[" X "], %[w1], %[s1]\n\t"                                                   \
    "ldrd %[w0], %[w1], [%[f]], #8\n\t"                                                         \
    "sxtb16 %[t], %[w0]\n\t"                                                                    \
    "smlad %[s2], %[xe], %[t], %[s2]\n\t"                                                       \
    "sxtb16 %[w0], %[w0], ror #8\n\t"                                                           \
    "smlad %[s2], %[" X "], %[w0], %[s2]\n\t"                                                   \
    "sxtb16 %[t], %[w1]\n\t"                                                                    \
    "smlad %[s3], %[xe], %[t], %[s3]\n\t"                                                       \
    "sxtb16 %[w1], %[w1], ror #8\n\t"                                                           \
    "smlad %[s3], %[" X "], %[w1], %[s3]\n\t"
        __asm__("1:\n\t"
                "ldrd %[x0], %[x1], [%[a]], #8\n\t" TINYFORGE_DOT4_WORD("x0") TINYFORGE_DOT4_WORD("x1")
                "subs %[n], %[n], #1\n\t"
                "bne 1b"
                : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [a] "+r"(a), [f] "+r"(f),
                  [n] "+r"(n), [x0] "=&r"(x0), [x1] "=&r"(x1), [xe] "=&r"(xe), [w0] "=&r"(w0),
                  [w1] "=&r"(w1), [t] "=&r"(t)
                :
                : "cc", "memory");
    }
#elif !TINYFORGE_MVE /* on the M55 it made the FC kernel slower (register allocation) */
    if (tinyforge_aligned4(a) && tinyforge_aligned4(f)) { /* two input words per loop */
        const tinyforge_word_t *x = (const tinyforge_word_t *)a, *w4 = (const tinyforge_word_t *)f;
        int n = (int)(end - a) >> 2; /* input words */
        for (; n >= 2; n -= 2, x += 2, w4 += 8) {
            TINYFORGE_DOT4(x[0], w4[0], w4[1], w4[2], w4[3]);
            TINYFORGE_DOT4(x[1], w4[4], w4[5], w4[6], w4[7]);
        }
        a = (const int8_t *)x;
        f = (const int8_t *)w4;
    }
#endif
#undef TINYFORGE_DOT4
    for (; a != end; a += 4, f += 16) {
        const uint32_t wa = tinyforge_load4(a);
        const int32_t ae = tinyforge_sxtb16(wa), ao = tinyforge_sxtb16_ror8(wa);
        uint32_t w = tinyforge_load4(f);
        s0 = tinyforge_smlad(ae, tinyforge_sxtb16(w), s0);
        s0 = tinyforge_smlad(ao, tinyforge_sxtb16_ror8(w), s0);
        w = tinyforge_load4(f + 4);
        s1 = tinyforge_smlad(ae, tinyforge_sxtb16(w), s1);
        s1 = tinyforge_smlad(ao, tinyforge_sxtb16_ror8(w), s1);
        w = tinyforge_load4(f + 8);
        s2 = tinyforge_smlad(ae, tinyforge_sxtb16(w), s2);
        s2 = tinyforge_smlad(ao, tinyforge_sxtb16_ror8(w), s2);
        w = tinyforge_load4(f + 12);
        s3 = tinyforge_smlad(ae, tinyforge_sxtb16(w), s3);
        s3 = tinyforge_smlad(ao, tinyforge_sxtb16_ror8(w), s3);
    }
#else
    int j;
    for (; a != end; a += 4, f += 16) {
        for (j = 0; j < 4; ++j) {
            s0 += (int32_t)a[j] * f[j];
            s1 += (int32_t)a[j] * f[4 + j];
            s2 += (int32_t)a[j] * f[8 + j];
            s3 += (int32_t)a[j] * f[12 + j];
        }
    }
#endif
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

static inline int32_t dot_s8(const int8_t *a, const int8_t *b, int n, int32_t acc)
{
    int i = 0;
#if TINYFORGE_MVE
    for (; i + 16 <= n; i += 16) acc = vmladavaq_s8(acc, vld1q_s8(a + i), vld1q_s8(b + i));
#endif
#if TINYFORGE_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t wa = tinyforge_load4(a + i), wb = tinyforge_load4(b + i);
        acc = tinyforge_smlad(tinyforge_sxtb16(wa), tinyforge_sxtb16(wb), acc);
        acc = tinyforge_smlad(tinyforge_sxtb16_ror8((wa)), tinyforge_sxtb16_ror8((wb)), acc);
    }
#endif
    for (; i < n; ++i) acc += (int32_t)a[i] * b[i];
    return acc;
}

/* tinyforge_mbqm_fast for a right shift r = -shift >= 2 (most channels), in one 64-bit multiply-
 * accumulate and two 32-bit steps. With S = x * m, mbqm_fast rounds twice: h = (S + 2^30) >> 31,
 * then half away from zero, (h + 2^(r-1) - [h < 0]) >> r. Nested floors of powers of two compose,
 * so that is (S + 2^30 - [h < 0] * 2^31 + 2^(30+r)) >> (31 + r); [x < 0] may replace [h < 0] (they
 * differ only when -2^30 <= S < 0, where both give 0); and as 2^(30+r) = 2^(r-2) * 2^32, the
 * last term joins the high word: (hi(S + (x < 0 ? -2^30 : 2^30)) + 2^(r-2)) >> (r-1), no overflow
 * (|hi| < 2^30). Checked against tinyforge_mbqm_fast on 2e8 random (x, m, r). */
static inline int32_t mbqm_right2_hi(int32_t x, int32_t multiplier)
{
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
    int32_t lo, hi;
    __asm__("asr %1, %2, #31\n\t"
            "orr %0, %4, %1, lsl #31\n\t" /* k = x < 0 ? -2^30 : 2^30 in lo:hi */
            "smlal %0, %1, %2, %3"
            : "=&r"(lo), "=&r"(hi)
            : "r"(x), "r"(multiplier), "r"(1 << 30));
    (void)lo;
    return hi;
#else
    const int64_t k = x < 0 ? -(1 << 30) : (1 << 30);
    return (int32_t)(((int64_t)x * multiplier + k) >> 32);
#endif
}

/* (hi + 2^(r-2)) >> (r-1) == ((hi >> (r-2)) + 1) >> 1 (nested floors again); s = r - 2. */
static inline int32_t mbqm_right2_round(int32_t hi, int s) { return ((hi >> s) + 1) >> 1; }

static inline int32_t mbqm_right2(int32_t x, int32_t multiplier, int32_t shift)
{
    return mbqm_right2_round(mbqm_right2_hi(x, multiplier), ~shift - 1);
}

#if defined(__GNUC__) || defined(__clang__)
#define TINYFORGE_LIKELY(c) __builtin_expect(!!(c), 1)
#else
#define TINYFORGE_LIKELY(c) (c)
#endif

/* Clamp to [-128, 127]: one SSAT where the core has it (the usual activation range: a ReLU
 * output with zero point -128, or no activation). */
static inline int32_t tinyforge_sat8(int32_t x)
{
#if defined(__ARM_FEATURE_SAT) && defined(__ARM_FEATURE_DSP)
    return __ssat(x, 8);
#else
    return tinyforge_clamp_i32(x, -128, 127);
#endif
}

/* mbqm_right2 with s = r - 2, output offset and clamp; `full`: the clamp is [-128, 127]. */
static inline int8_t requant_r2(int32_t acc, int32_t multiplier, int s, int32_t off, int32_t lo,
                                int32_t hi, int full)
{
    const int32_t v = mbqm_right2_round(mbqm_right2_hi(acc, multiplier), s) + off;
    return (int8_t)(full ? tinyforge_sat8(v) : tinyforge_clamp_i32(v, lo, hi));
}

/* tinyforge_mbqm_fast, through mbqm_right2 when it applies. */
static inline int32_t mbqm_opt(int32_t x, int32_t multiplier, int32_t shift)
{
    if (TINYFORGE_LIKELY(shift <= -2)) return mbqm_right2(x, multiplier, shift);
    return tinyforge_mbqm_fast(x, multiplier, shift);
}

static inline int8_t requant(int32_t acc, int32_t multiplier, int32_t shift, const tinyforge_conv_s8_t *p)
{
    acc = mbqm_opt(acc, multiplier, shift) + p->output_offset;
    return (int8_t)tinyforge_clamp_i32(acc, p->act_min, p->act_max);
}

/* Two pixels x two output channels over interleaved data: `ci` holds the two columns
 * 4 bytes at a time (col0[0..3], col1[0..3], col0[4..7], ...), `fi` the two filter rows
 * likewise, so one LDRD fetches each pair and four pointers are not needed. */
static inline void dot22i_s8(const int8_t *ci, const int8_t *fi, int k, int32_t *acc)
{
    int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
    const int8_t *const end = ci + 2 * k;
#if TINYFORGE_MVE
    if (tinyforge_aligned4(ci) && tinyforge_aligned4(fi)) {
        for (; end - ci >= 32; ci += 32, fi += 32) { /* 16 taps of two columns x two rows */
            const int32x4x2_t c = vld2q_s32((const int32_t *)ci);
            const int32x4x2_t f = vld2q_s32((const int32_t *)fi);
            const int8x16_t c0 = vreinterpretq_s8_s32(c.val[0]), c1 = vreinterpretq_s8_s32(c.val[1]);
            const int8x16_t f0 = vreinterpretq_s8_s32(f.val[0]), f1 = vreinterpretq_s8_s32(f.val[1]);
            s00 = vmladavaq_s8(s00, c0, f0);
            s01 = vmladavaq_s8(s01, c0, f1);
            s10 = vmladavaq_s8(s10, c1, f0);
            s11 = vmladavaq_s8(s11, c1, f1);
        }
    }
#endif
#if TINYFORGE_DSP
#define TINYFORGE_DOT22(WA0, WA1, WB0, WB1)                                                   \
    do {                                                                                  \
        const int32_t a0e = tinyforge_sxtb16(WA0), a0o = tinyforge_sxtb16_ror8(WA0);      \
        const int32_t a1e = tinyforge_sxtb16(WA1), a1o = tinyforge_sxtb16_ror8(WA1);      \
        const int32_t b0e = tinyforge_sxtb16(WB0), b0o = tinyforge_sxtb16_ror8(WB0);      \
        const int32_t b1e = tinyforge_sxtb16(WB1), b1o = tinyforge_sxtb16_ror8(WB1);      \
        s00 = tinyforge_smlad(a0e, b0e, s00);                                             \
        s00 = tinyforge_smlad(a0o, b0o, s00);                                             \
        s01 = tinyforge_smlad(a0e, b1e, s01);                                             \
        s01 = tinyforge_smlad(a0o, b1o, s01);                                             \
        s10 = tinyforge_smlad(a1e, b0e, s10);                                             \
        s10 = tinyforge_smlad(a1o, b0o, s10);                                             \
        s11 = tinyforge_smlad(a1e, b1e, s11);                                             \
        s11 = tinyforge_smlad(a1o, b1o, s11);                                             \
    } while (0)
    if (tinyforge_aligned4(ci) && tinyforge_aligned4(fi)) {
        /* word-aligned: LDRD with write-back fetches each pair, two steps per loop */
        const tinyforge_word_t *c = (const tinyforge_word_t *)ci, *f = (const tinyforge_word_t *)fi;
        int n = (int)(end - ci) >> 3; /* steps of one word per column */
        for (; n >= 2; n -= 2, c += 4, f += 4) {
            TINYFORGE_DOT22(c[0], c[1], f[0], f[1]);
            TINYFORGE_DOT22(c[2], c[3], f[2], f[3]);
        }
        ci = (const int8_t *)c;
        fi = (const int8_t *)f;
    }
#undef TINYFORGE_DOT22
    for (; ci != end; ci += 8, fi += 8) {
        const uint32_t wa0 = tinyforge_load4(ci), wa1 = tinyforge_load4(ci + 4);
        const uint32_t wb0 = tinyforge_load4(fi), wb1 = tinyforge_load4(fi + 4);
        const int32_t a0e = tinyforge_sxtb16(wa0), a0o = tinyforge_sxtb16_ror8(wa0);
        const int32_t a1e = tinyforge_sxtb16(wa1), a1o = tinyforge_sxtb16_ror8(wa1);
        const int32_t b0e = tinyforge_sxtb16(wb0), b0o = tinyforge_sxtb16_ror8(wb0);
        const int32_t b1e = tinyforge_sxtb16(wb1), b1o = tinyforge_sxtb16_ror8(wb1);
        s00 = tinyforge_smlad(a0e, b0e, s00);
        s00 = tinyforge_smlad(a0o, b0o, s00);
        s01 = tinyforge_smlad(a0e, b1e, s01);
        s01 = tinyforge_smlad(a0o, b1o, s01);
        s10 = tinyforge_smlad(a1e, b0e, s10);
        s10 = tinyforge_smlad(a1o, b0o, s10);
        s11 = tinyforge_smlad(a1e, b1e, s11);
        s11 = tinyforge_smlad(a1o, b1o, s11);
    }
#else
    int j;
    for (; ci != end; ci += 8, fi += 8) {
        for (j = 0; j < 4; ++j) {
            s00 += (int32_t)ci[j] * fi[j];
            s01 += (int32_t)ci[j] * fi[4 + j];
            s10 += (int32_t)ci[4 + j] * fi[j];
            s11 += (int32_t)ci[4 + j] * fi[4 + j];
        }
    }
#endif
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
}

/* Output channels of two pixels from their interleaved columns `ci`. The filter holds
 * channel pairs interleaved (2 * k bytes each), then a last plain row when out_c is odd. */
static void conv_pixel_pair(const tinyforge_conv_s8_t *p, const int8_t *ci, int k,
                            const int8_t *filter, const int32_t *bias_eff, int8_t *out0, int8_t *out1)
{
    int oc = 0, g, j;
    for (; oc + 2 <= p->out_c; oc += 2) {
        int32_t acc[4];
        acc[0] = acc[2] = bias_eff[oc];
        acc[1] = acc[3] = bias_eff[oc + 1];
        dot22i_s8(ci, filter + oc * k, k, acc);
        {
            const int32_t m0 = p->multiplier[oc], m1 = p->multiplier[oc + 1];
            const int32_t sh0 = p->shift[oc], sh1 = p->shift[oc + 1];
            if (TINYFORGE_LIKELY(sh0 <= -2 && sh1 <= -2)) { /* one shift per channel, both pixels */
                const int s0 = ~sh0 - 1, s1 = ~sh1 - 1;
                const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
                const int full = lo == -128 && hi == 127;
                out0[oc] = requant_r2(acc[0], m0, s0, off, lo, hi, full);
                out1[oc] = requant_r2(acc[2], m0, s0, off, lo, hi, full);
                out0[oc + 1] = requant_r2(acc[1], m1, s1, off, lo, hi, full);
                out1[oc + 1] = requant_r2(acc[3], m1, s1, off, lo, hi, full);
                continue;
            }
        }
        out0[oc] = requant(acc[0], p->multiplier[oc], p->shift[oc], p);
        out0[oc + 1] = requant(acc[1], p->multiplier[oc + 1], p->shift[oc + 1], p);
        out1[oc] = requant(acc[2], p->multiplier[oc], p->shift[oc], p);
        out1[oc + 1] = requant(acc[3], p->multiplier[oc + 1], p->shift[oc + 1], p);
    }
    if (oc < p->out_c) {
        const int8_t *row = filter + oc * k;
        int32_t s0 = bias_eff[oc], s1 = bias_eff[oc];
        for (g = 0; g < k; g += 4) {
            for (j = 0; j < 4; ++j) {
                s0 += (int32_t)ci[2 * g + j] * row[g + j];
                s1 += (int32_t)ci[2 * g + 4 + j] * row[g + j];
            }
        }
        out0[oc] = requant(s0, p->multiplier[oc], p->shift[oc], p);
        out1[oc] = requant(s1, p->multiplier[oc], p->shift[oc], p);
    }
}

/* Interleave two columns of k bytes (k a multiple of 4) 4 bytes at a time into `dst`. */
static void interleave_columns(const int8_t *col0, const int8_t *col1, int k, int8_t *dst)
{
    int g;
    for (g = 0; g < k; g += 4, dst += 8) {
        memcpy(dst, col0 + g, 4);
        memcpy(dst + 4, col1 + g, 4);
    }
}

/* mbqm_right2 (s = r - 2), plus the output offset, saturated to int8: with c = 2 * off + 1,
 * ((hi >> s) + 1) >> 1) + off == ((hi >> s) + c) >> 1 (an even addend commutes with the floor),
 * and the last shift joins the saturation (SSAT with ASR #1 on the core). */
static inline int8_t requant_r2_full(int32_t acc, int32_t multiplier, int s, int32_t c)
{
    return (int8_t)tinyforge_sat8(((mbqm_right2_hi(acc, multiplier) >> s) + c) >> 1);
}

#if TINYFORGE_DSP && !TINYFORGE_CONV_QUADS /* the pair layout's DSP loops (Cortex-M55's unaligned case) */
/* The DSP convolution's columns, unpacked once per pixel pair rather than once per channel pair:
 * for every 4 taps of column `which` (0 or 1) the two SXTB16 halves (taps 0 and 2, taps 1 and 3)
 * go to q[4g + 2 which] and q[4g + 2 which + 1], so `q` holds per 4 taps col0 even, col0 odd,
 * col1 even, col1 odd (16 bytes): twice the bytes of the two columns. */
static void unpack_column(const int8_t *col, int k, int which, int32_t *q)
{
    int g;
    q += 2 * which;
    for (g = 0; g < k; g += 4, q += 4) {
        const uint32_t w = tinyforge_load4(col + g);
        q[0] = tinyforge_sxtb16(w);
        q[1] = tinyforge_sxtb16_ror8(w);
    }
}

/* The same from the two columns interleaved 4 bytes at a time (interleave_columns) in the upper
 * half of q's 4 k bytes, in place: step g reads bytes 2 k + 8 g .. + 7 before it writes 16 g ..
 * 16 g + 15, and 16 g + 16 <= 2 k + 8 (g + 1) for every step g < k / 4, so no step overwrites
 * bytes a later step reads. Gathered columns thus need no more scratch than before (4 k). */
static void unpack_interleaved(int32_t *q, int k)
{
    const int32_t *src = q + k / 2;
    const int32_t *const end = q + k;
    for (; src != end; src += 2, q += 4) {
        const uint32_t w0 = (uint32_t)src[0], w1 = (uint32_t)src[1];
        q[0] = tinyforge_sxtb16(w0);
        q[1] = tinyforge_sxtb16_ror8(w0);
        q[2] = tinyforge_sxtb16(w1);
        q[3] = tinyforge_sxtb16_ror8(w1);
    }
}

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && defined(__thumb2__)
/* One 4-tap step of dot22q_s8: the two filter words unpacked (4 SXTB16), each column's pair of
 * unpacked words fetched by one LDRD: 15 instructions for 16 multiply-accumulates. */
#define TINYFORGE_DOT22Q_STEP                                                                   \
    "ldrd %[w0], %[w1], [%[f]], #8\n\t"                                                         \
    "sxtb16 %[e0], %[w0]\n\t"                                                                   \
    "sxtb16 %[w0], %[w0], ror #8\n\t"                                                           \
    "sxtb16 %[e1], %[w1]\n\t"                                                                   \
    "sxtb16 %[w1], %[w1], ror #8\n\t"                                                           \
    "ldrd %[ce], %[co], [%[q]], #8\n\t"                                                         \
    "smlad %[s00], %[e0], %[ce], %[s00]\n\t"                                                    \
    "smlad %[s00], %[w0], %[co], %[s00]\n\t"                                                    \
    "smlad %[s01], %[e1], %[ce], %[s01]\n\t"                                                    \
    "smlad %[s01], %[w1], %[co], %[s01]\n\t"                                                    \
    "ldrd %[ce], %[co], [%[q]], #8\n\t"                                                         \
    "smlad %[s10], %[e0], %[ce], %[s10]\n\t"                                                    \
    "smlad %[s10], %[w0], %[co], %[s10]\n\t"                                                    \
    "smlad %[s11], %[e1], %[ce], %[s11]\n\t"                                                    \
    "smlad %[s11], %[w1], %[co], %[s11]\n\t"
#endif

/* Two pixels x two channels: `q` the pair's unpacked columns (unpack_column), `f` the two filter
 * rows interleaved 4 bytes at a time (4-byte aligned, like q: LDRD needs it); adds to s[0..3]
 * (pixel 0: channels 0, 1; pixel 1: channels 0, 1) and returns f past the two rows. In assembly
 * on the core: GCC spills the loop's 13 live registers and does not pair the loads. */
static inline const int8_t *dot22q_s8(const int32_t *q, const int8_t *f, int k, int32_t *s)
{
    int32_t s00 = s[0], s01 = s[1], s10 = s[2], s11 = s[3];
    int n = k >> 2; /* 4-tap steps, at least one */
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && defined(__thumb2__)
    uint32_t w0, w1, e0, e1, ce, co;
    /* two steps per loop; an odd count enters the loop at its second step (n / 2 + 1 loops) */
    __asm__("lsrs %[n], %[n], #1\n\t"
            "adc %[n], %[n], #0\n\t"
            "bcs 2f\n"
            "1:\n\t" TINYFORGE_DOT22Q_STEP "2:\n\t" TINYFORGE_DOT22Q_STEP
            "subs %[n], %[n], #1\n\t"
            "bne 1b"
            : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [f] "+r"(f),
              [q] "+r"(q), [n] "+r"(n), [w0] "=&r"(w0), [w1] "=&r"(w1), [e0] "=&r"(e0), [e1] "=&r"(e1),
              [ce] "=&r"(ce), [co] "=&r"(co)
            :
            : "cc", "memory");
#else
    for (; n > 0; --n, q += 4, f += 8) {
        const uint32_t w0 = tinyforge_load4(f), w1 = tinyforge_load4(f + 4);
        const int32_t e0 = tinyforge_sxtb16(w0), o0 = tinyforge_sxtb16_ror8(w0);
        const int32_t e1 = tinyforge_sxtb16(w1), o1 = tinyforge_sxtb16_ror8(w1);
        s00 = tinyforge_smlad(o0, q[1], tinyforge_smlad(e0, q[0], s00));
        s01 = tinyforge_smlad(o1, q[1], tinyforge_smlad(e1, q[0], s01));
        s10 = tinyforge_smlad(o0, q[3], tinyforge_smlad(e0, q[2], s10));
        s11 = tinyforge_smlad(o1, q[3], tinyforge_smlad(e1, q[2], s11));
    }
#endif
    s[0] = s00;
    s[1] = s01;
    s[2] = s10;
    s[3] = s11;
    return f;
}

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && defined(__thumb2__)
/* requant_r2_full of accumulator X with multiplier M and s = S in the pair loop below: LO and HI
 * the 64-bit product, K the constant 2^30, C = 2 * off + 1; the int8 result replaces X. */
#define TINYFORGE_REQUANT_ASM(X, M, S)                                                          \
    "asr %[w1], %[" X "], #31\n\t"                                                              \
    "orr %[n], %[w0], %[w1], lsl #31\n\t"                                                       \
    "smlal %[n], %[w1], %[" X "], %[" M "]\n\t"                                                 \
    "asr %[w1], %[w1], %[" S "]\n\t"                                                            \
    "add %[w1], %[w1], %[q]\n\t"                                                                \
    "ssat %[" X "], #8, %[w1], asr #1\n\t"

/* conv_pixel_pair_q's channel pairs in one assembly loop, for layers whose every channel has a
 * right shift of at least 2 and whose clamp is [-128, 127] (the usual case): per pair the
 * biases, dot22q_s8's loop, requant_r2_full of the four sums and the four stores. Written out
 * because GCC, with 13 registers taken by the dot loop, spent about 100 instructions per pair
 * on spills and copies around it (about 60 here); the loop state lives in the stack slots of
 * the locals below. Needs at least one pair; returns the filter past the pairs. */
static const int8_t *conv_pairs_full_asm(const int32_t *q, const int8_t *f, int k, const int32_t *bias,
                                         const int32_t *mult, const int32_t *shift, int8_t *out0,
                                         int32_t out1_offset, int pairs, int32_t output_offset)
{
    const int32_t *qm = q, *bias_m = bias, *mult_m = mult, *shift_m = shift;
    const int32_t steps_m = k >> 2, c_m = 2 * output_offset + 1, d_m = out1_offset;
    int8_t *out_m = out0, *const end_m = out0 + 2 * pairs;
    int32_t s00, s01, s10, s11;
    uint32_t w0, w1, e0, e1, ce, co, n;
    const int32_t *qr;
    __asm__ volatile(
        "0:\n\t"
        "ldr %[q], %[qm]\n\t"
        "ldr %[n], %[steps_m]\n\t"
        "ldr %[w0], %[bias_m]\n\t"
        "ldrd %[s00], %[s01], [%[w0]], #8\n\t"
        "str %[w0], %[bias_m]\n\t"
        "mov %[s10], %[s00]\n\t"
        "mov %[s11], %[s01]\n\t"
        "lsrs %[n], %[n], #1\n\t"
        "adc %[n], %[n], #0\n\t"
        "bcs 2f\n"
        "1:\n\t" TINYFORGE_DOT22Q_STEP "2:\n\t" TINYFORGE_DOT22Q_STEP
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        /* multipliers in e0, e1; s = ~shift - 1 in ce, co; C in q; 2^30 in w0 */
        "ldr %[w0], %[mult_m]\n\t"
        "ldrd %[e0], %[e1], [%[w0]], #8\n\t"
        "str %[w0], %[mult_m]\n\t"
        "ldr %[w0], %[shift_m]\n\t"
        "ldrd %[ce], %[co], [%[w0]], #8\n\t"
        "str %[w0], %[shift_m]\n\t"
        "mvn %[ce], %[ce]\n\t"
        "sub %[ce], %[ce], #1\n\t"
        "mvn %[co], %[co]\n\t"
        "sub %[co], %[co], #1\n\t"
        "ldr %[q], %[c_m]\n\t"
        "mov %[w0], #0x40000000\n\t" TINYFORGE_REQUANT_ASM("s00", "e0", "ce")
            TINYFORGE_REQUANT_ASM("s10", "e0", "ce") TINYFORGE_REQUANT_ASM("s01", "e1", "co")
                TINYFORGE_REQUANT_ASM("s11", "e1", "co")
        /* out0[0..1], out1[0..1]; next pair */
        "ldr %[n], %[out_m]\n\t"
        "ldr %[w1], %[d_m]\n\t"
        "strb %[s00], [%[n]]\n\t"
        "strb %[s01], [%[n], #1]\n\t"
        "strb %[s10], [%[n], %[w1]]\n\t"
        "add %[w1], %[w1], #1\n\t"
        "strb %[s11], [%[n], %[w1]]\n\t"
        "add %[n], %[n], #2\n\t"
        "str %[n], %[out_m]\n\t"
        "ldr %[w1], %[end_m]\n\t"
        "cmp %[n], %[w1]\n\t"
        "bne 0b"
        : [f] "+r"(f), [s00] "=&r"(s00), [s01] "=&r"(s01), [s10] "=&r"(s10), [s11] "=&r"(s11),
          [w0] "=&r"(w0), [w1] "=&r"(w1), [e0] "=&r"(e0), [e1] "=&r"(e1), [ce] "=&r"(ce),
          [co] "=&r"(co), [q] "=&r"(qr), [n] "=&r"(n), [bias_m] "+m"(bias_m), [mult_m] "+m"(mult_m),
          [shift_m] "+m"(shift_m), [out_m] "+m"(out_m)
        : [qm] "m"(qm), [steps_m] "m"(steps_m), [c_m] "m"(c_m), [d_m] "m"(d_m), [end_m] "m"(end_m)
        : "cc", "memory");
    return f;
}
#undef TINYFORGE_REQUANT_ASM
#endif

/* Channels oc and oc + 1 of the two pixels: dot22q_s8 on their rows at `f`, requantised
 * (requant_r2_full when both shifts are <= -2 and the clamp is [-128, 127], else requant). */
static inline void conv_pair_q(const tinyforge_conv_s8_t *p, const int32_t *q, int k, const int8_t *f,
                               const int32_t *bias_eff, int oc, int32_t c, int full, int8_t *out0, int8_t *out1)
{
    int32_t acc[4];
    const int32_t sh0 = p->shift[oc], sh1 = p->shift[oc + 1];
    acc[0] = acc[2] = bias_eff[oc];
    acc[1] = acc[3] = bias_eff[oc + 1];
    dot22q_s8(q, f, k, acc);
    if (TINYFORGE_LIKELY(full && sh0 <= -2 && sh1 <= -2)) {
        const int32_t m0 = p->multiplier[oc], m1 = p->multiplier[oc + 1];
        const int s0 = ~sh0 - 1, s1 = ~sh1 - 1;
        out0[oc] = requant_r2_full(acc[0], m0, s0, c);
        out1[oc] = requant_r2_full(acc[2], m0, s0, c);
        out0[oc + 1] = requant_r2_full(acc[1], m1, s1, c);
        out1[oc + 1] = requant_r2_full(acc[3], m1, s1, c);
        return;
    }
    out0[oc] = requant(acc[0], p->multiplier[oc], sh0, p);
    out0[oc + 1] = requant(acc[1], p->multiplier[oc + 1], sh1, p);
    out1[oc] = requant(acc[2], p->multiplier[oc], sh0, p);
    out1[oc + 1] = requant(acc[3], p->multiplier[oc + 1], sh1, p);
}

/* conv_pixel_pair over unpacked columns `q` (the DSP path): the filter's channel pairs by
 * dot22q_s8, an odd last (plain) row against both columns. On the core, with the clamp
 * [-128, 127], runs of pairs whose shifts are <= -2 go to conv_pairs_full_asm;
 * `right2_full`: every channel's shift is (one run, no search). */
static void conv_pixel_pair_q(const tinyforge_conv_s8_t *p, const int32_t *q, int k, const int8_t *filter,
                              const int32_t *bias_eff, int8_t *out0, int8_t *out1, int right2_full)
{
    const int32_t c = 2 * p->output_offset + 1;
    const int full = p->act_min == -128 && p->act_max == 127;
    const int pairs_end = p->out_c & ~1;
    int oc = 0, g;
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && defined(__thumb2__)
    /* runs of channel pairs whose shifts are both <= -2 in assembly, the other pairs below */
    while (full && oc < pairs_end) {
        int run = pairs_end;
        if (!right2_full) {
            for (run = oc; run < pairs_end && p->shift[run] <= -2 && p->shift[run + 1] <= -2; run += 2) {
            }
        }
        if (run > oc) {
            conv_pairs_full_asm(q, filter + oc * k, k, bias_eff + oc, p->multiplier + oc, p->shift + oc, out0 + oc,
                                (int32_t)(out1 - out0), (run - oc) / 2, p->output_offset);
            oc = run;
        }
        if (oc < pairs_end) {
            conv_pair_q(p, q, k, filter + oc * k, bias_eff, oc, c, full, out0, out1);
            oc += 2;
        }
    }
#else
    (void)right2_full;
#endif
    for (; oc < pairs_end; oc += 2) conv_pair_q(p, q, k, filter + oc * k, bias_eff, oc, c, full, out0, out1);
    if (oc < p->out_c) {
        const int8_t *row = filter + oc * k;
        int32_t s0 = bias_eff[oc], s1 = bias_eff[oc];
        for (g = 0; g < k; g += 4, q += 4) {
            const uint32_t w = tinyforge_load4(row + g);
            const int32_t e = tinyforge_sxtb16(w), o = tinyforge_sxtb16_ror8(w);
            s0 = tinyforge_smlad(o, q[1], tinyforge_smlad(e, q[0], s0));
            s1 = tinyforge_smlad(o, q[3], tinyforge_smlad(e, q[2], s1));
        }
        out0[oc] = requant(s0, p->multiplier[oc], p->shift[oc], p);
        out1[oc] = requant(s1, p->multiplier[oc], p->shift[oc], p);
    }
}
#endif

#if TINYFORGE_DSP && TINYFORGE_CONV_QUADS
/* The convolution on the cores with the DSP extension and no Helium: four output channels x two
 * pixels per pass, so that each loaded filter word feeds two channels and each loaded column word
 * four. The compiler lays the filter out in channel quads (lower.quad_filter): per block of four
 * channels and per 4 taps t0..t3, words {c0 t0, c1 t0, c0 t2, c1 t2}, {c2 t0, c3 t0, c2 t2,
 * c3 t2}, then the same for t1, t3; SXTB16 of a word gives channel c0's (t0, t2) pair, of it
 * rotated by 8 channel c1's. The two columns are unpacked to match (unpack_columns_q): per 4 taps
 * {col0 (t0, t2), col1 (t0, t2), col0 (t1, t3), col1 (t1, t3)}. One step (8 column bytes,
 * 8 filter bytes) is then an LDRD, two LDR, four SXTB16 and eight SMLAD: 16 multiply-
 * accumulates. The last out_c % 4 filter rows are plain (conv_tail_q). */

/* The pair's columns (k bytes each, k a multiple of 4) into q: per 4 taps q[4g] and q[4g + 1]
 * SXTB16 of the columns' words, q[4g + 2] and q[4g + 3] SXTB16 of them rotated by 8. */
static void unpack_columns_q(const int8_t *col0, const int8_t *col1, int k, int32_t *q)
{
    const int8_t *const end = col0 + k;
    for (; col0 != end; col0 += 4, col1 += 4, q += 4) {
        const uint32_t w0 = tinyforge_load4(col0), w1 = tinyforge_load4(col1);
        q[0] = tinyforge_sxtb16(w0);
        q[1] = tinyforge_sxtb16(w1);
        q[2] = tinyforge_sxtb16_ror8(w0);
        q[3] = tinyforge_sxtb16_ror8(w1);
    }
}

/* The same from the two columns interleaved 4 bytes at a time (interleave_columns) in the upper
 * half of q's 4 k bytes, in place (the argument of unpack_interleaved holds). */
static void unpack_interleaved_q(int32_t *q, int k)
{
    const int32_t *src = q + k / 2;
    const int32_t *const end = q + k;
    for (; src != end; src += 2, q += 4) {
        const uint32_t w0 = (uint32_t)src[0], w1 = (uint32_t)src[1];
        q[0] = tinyforge_sxtb16(w0);
        q[1] = tinyforge_sxtb16(w1);
        q[2] = tinyforge_sxtb16_ror8(w0);
        q[3] = tinyforge_sxtb16_ror8(w1);
    }
}

/* Sums of one block of four channels (filter `f`, quad layout) with the pair's columns `q`:
 * s[0..3] pixel 0's channels 0..3, s[4..7] pixel 1's; adds to s. */
static void dot42q_s8(const int32_t *q, const int8_t *f, int k, int32_t *s)
{
    const int32_t *const end = q + k;
    int32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6], s7 = s[7];
    for (; q != end; q += 2, f += 8) {
        const uint32_t w0 = tinyforge_load4(f), w1 = tinyforge_load4(f + 4);
        const int32_t x0 = q[0], x1 = q[1];
        int32_t fa = tinyforge_sxtb16(w0);
        s0 = tinyforge_smlad(fa, x0, s0);
        s4 = tinyforge_smlad(fa, x1, s4);
        fa = tinyforge_sxtb16_ror8(w0);
        s1 = tinyforge_smlad(fa, x0, s1);
        s5 = tinyforge_smlad(fa, x1, s5);
        fa = tinyforge_sxtb16(w1);
        s2 = tinyforge_smlad(fa, x0, s2);
        s6 = tinyforge_smlad(fa, x1, s6);
        fa = tinyforge_sxtb16_ror8(w1);
        s3 = tinyforge_smlad(fa, x0, s3);
        s7 = tinyforge_smlad(fa, x1, s7);
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3, s[4] = s4, s[5] = s5, s[6] = s6, s[7] = s7;
}

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && defined(__thumb2__) && \
    defined(__GNUC__)
/* The blocks of conv_quads_asm: its stack frame, a copy of this struct. */
typedef struct {
    const int32_t *q, *q_end;     /* 0, 4: the pair's unpacked columns (k words) */
    const int8_t *f;              /* 8: the first block's filter (quad layout) */
    const int32_t *bias;          /* 12: bias_eff of the first block's channel 0 */
    const int32_t *rq;            /* 16: per channel {multiplier, s = right shift - 2} (quad_rq_table) */
    int32_t unused;               /* 20 */
    int8_t *out, *out_end;        /* 24, 28: pixel 0's output at the first block, and past the last */
    int32_t d;                    /* 32: pixel 1's output - pixel 0's */
    int32_t c;                    /* 36: 2 * output_offset + 1 */
    int32_t skip;                 /* 40: bytes of the step loop skipped on entry (then the address) */
    const int32_t *rq_table;      /* the layer's table (conv_pixel_pair_quads), not read by the assembly */
} conv_quads_args_t;

enum { QUAD_LOOP_STEPS = 16, QUAD_STEP_BYTES = 60, QUAD_RQ_CHANNELS = 256 }; /* 15 32-bit instructions a step */

/* One step: LDRD of the columns' pairs (r8: pixel 0, r9: pixel 1), two filter words (r10), each
 * unpacked into two channels' pairs (r11); accumulators r0-r3 pixel 0, r4-r7 pixel 1; q in r12,
 * the filter in lr. 15 instructions, 16 multiply-accumulates. */
#define TINYFORGE_QUAD_STEP                                                                     \
    "ldrd r8, r9, [r12], #8\n\t"                                                                \
    "ldr r10, [lr], #4\n\t"                                                                     \
    "sxtb16 r11, r10\n\t"                                                                       \
    "smlad r0, r11, r8, r0\n\t"                                                                 \
    "smlad r4, r11, r9, r4\n\t"                                                                 \
    "sxtb16 r11, r10, ror #8\n\t"                                                               \
    "smlad r1, r11, r8, r1\n\t"                                                                 \
    "smlad r5, r11, r9, r5\n\t"                                                                 \
    "ldr r10, [lr], #4\n\t"                                                                     \
    "sxtb16 r11, r10\n\t"                                                                       \
    "smlad r2, r11, r8, r2\n\t"                                                                 \
    "smlad r6, r11, r9, r6\n\t"                                                                 \
    "sxtb16 r11, r10, ror #8\n\t"                                                               \
    "smlad r3, r11, r8, r3\n\t"                                                                 \
    "smlad r7, r11, r9, r7\n\t"

#define TINYFORGE_QUAD_STEP4 TINYFORGE_QUAD_STEP TINYFORGE_QUAD_STEP TINYFORGE_QUAD_STEP TINYFORGE_QUAD_STEP

/* requant_r2_full of accumulator X: multiplier r8, s = r - 2 in r9, C in r10, 2^30 in lr, r11
 * and r12 scratch; the int8 result replaces X. 6 instructions. */
#define TINYFORGE_QUAD_RQ(X)                                                                    \
    "asr r11, " X ", #31\n\t"                                                                   \
    "orr r12, lr, r11, lsl #31\n\t"                                                             \
    "smlal r12, r11, " X ", r8\n\t"                                                             \
    "asr r11, r11, r9\n\t"                                                                      \
    "add r11, r11, r10\n\t"                                                                     \
    "ssat " X ", #8, r11, asr #1\n\t"

/* Channel J of the block: its multiplier and s (one LDRD at byte offset O of the table), then
 * pixel 0's and pixel 1's accumulators. */
#define TINYFORGE_QUAD_CHANNEL(O, X0, X1)                                                       \
    "ldr r12, [sp, #16]\n\t"                                                                    \
    "ldrd r8, r9, [r12, #" O "]\n\t" TINYFORGE_QUAD_RQ(X0) TINYFORGE_QUAD_RQ(X1)

/* Every block of the pair, for layers whose clamp is [-128, 127] and whose every channel's right
 * shift is at least 2: per block the biases, the step loop (sixteen steps a loop, entered past
 * `skip` bytes when k / 2 is not a multiple of 16), the eight requantisations and stores. Naked:
 * all 14 registers are the loop's, the state lives in a copy of `a` on the stack. Needs at least
 * one block. */
static __attribute__((naked, noinline)) void conv_quads_asm(const conv_quads_args_t *a __attribute__((unused)))
{
    __asm__ volatile(
        "push {r4-r11, lr}\n\t"
        "sub sp, sp, #44\n\t"
        "ldm r0, {r1-r11}\n\t"
        "stm sp, {r1-r11}\n\t"
        "adr r8, 1f\n\t" /* the loop's entry, once: 1f + skip, Thumb */
        "add r8, r8, r11\n\t"
        "orr r8, r8, #1\n\t"
        "str r8, [sp, #40]\n"
        "0:\n\t"
        "ldr r12, [sp, #12]\n\t"
        "ldm r12!, {r0-r3}\n\t"
        "str r12, [sp, #12]\n\t"
        "mov r4, r0\n\t"
        "mov r5, r1\n\t"
        "mov r6, r2\n\t"
        "mov r7, r3\n\t"
        "ldr lr, [sp, #8]\n\t"
        "ldr r12, [sp, #0]\n\t"
        "ldr r8, [sp, #40]\n\t"
        "bx r8\n\t"
        ".p2align 2\n"
        "1:\n\t" TINYFORGE_QUAD_STEP4 TINYFORGE_QUAD_STEP4 TINYFORGE_QUAD_STEP4 TINYFORGE_QUAD_STEP4
        "ldr r8, [sp, #4]\n\t"
        "cmp r12, r8\n\t"
        "bne 1b\n\t"
        "str lr, [sp, #8]\n\t"
        "ldr r10, [sp, #36]\n\t"
        "mov lr, #0x40000000\n\t"
        TINYFORGE_QUAD_CHANNEL("0", "r0", "r4") TINYFORGE_QUAD_CHANNEL("8", "r1", "r5")
        TINYFORGE_QUAD_CHANNEL("16", "r2", "r6") TINYFORGE_QUAD_CHANNEL("24", "r3", "r7")
        /* the stores; next block */
        "ldr r12, [sp, #24]\n\t"
        "ldr r11, [sp, #32]\n\t"
        "strb r0, [r12, #0]\n\t"
        "strb r1, [r12, #1]\n\t"
        "strb r2, [r12, #2]\n\t"
        "strb r3, [r12, #3]\n\t"
        "add r11, r11, r12\n\t"
        "strb r4, [r11, #0]\n\t"
        "strb r5, [r11, #1]\n\t"
        "strb r6, [r11, #2]\n\t"
        "strb r7, [r11, #3]\n\t"
        "add r12, r12, #4\n\t"
        "str r12, [sp, #24]\n\t"
        "ldr r8, [sp, #16]\n\t"
        "add r8, r8, #32\n\t"
        "str r8, [sp, #16]\n\t"
        "ldr r11, [sp, #28]\n\t"
        "cmp r12, r11\n\t"
        "bne 0b\n\t"
        "add sp, sp, #44\n\t"
        "pop {r4-r11, pc}");
}
#undef TINYFORGE_QUAD_STEP
#undef TINYFORGE_QUAD_STEP4
#undef TINYFORGE_QUAD_RQ
#undef TINYFORGE_QUAD_CHANNEL
#define TINYFORGE_HAVE_QUADS_ASM 1
#endif

/* The pair's outputs of one block of channels oc..oc + 3 from its sums s (dot42q_s8). */
static inline void quad_store(const tinyforge_conv_s8_t *p, const int32_t *s, int oc, int8_t *out0, int8_t *out1)
{
    int j;
    for (j = 0; j < 4; ++j) {
        out0[oc + j] = requant(s[j], p->multiplier[oc + j], p->shift[oc + j], p);
        out1[oc + j] = requant(s[4 + j], p->multiplier[oc + j], p->shift[oc + j], p);
    }
}

/* conv_pixel_pair over columns unpacked by unpack_columns_q and a filter in quad layout: the
 * blocks, then the plain last rows. With `rq` (the clamp is int8's, quad_rq_table) runs of blocks
 * whose four shifts are all <= -2 go to the assembly: every block when `fast` is NULL, else the
 * blocks b with fast[b]; the other blocks take C. */
static void conv_pixel_pair_quads(const tinyforge_conv_s8_t *p, const int32_t *q, int k, const int8_t *filter,
                                  const int32_t *bias_eff, int8_t *out0, int8_t *out1, void *asm_args,
                                  const uint8_t *fast)
{
    const int blocks_end = p->out_c & ~3;
    int oc = 0, g;
#ifdef TINYFORGE_HAVE_QUADS_ASM
    if (asm_args != NULL) {
        conv_quads_args_t *const a = (conv_quads_args_t *)asm_args;
        const int32_t *const rq = a->rq_table;
        const int blocks = blocks_end / 4;
        int b = 0, run;
        a->d = (int32_t)(out1 - out0);
        while (b < blocks) {
            if (fast == NULL) {
                run = blocks;
            } else {
                for (run = b; run < blocks && fast[run]; ++run) {
                }
            }
            if (run > b) {
                a->f = filter + 4 * b * k;
                a->bias = bias_eff + 4 * b;
                a->rq = rq + 8 * b;
                a->out = out0 + 4 * b;
                a->out_end = out0 + 4 * run;
                conv_quads_asm(a);
                b = run;
            }
            if (b < blocks) { /* a block with a shift > -2 */
                int32_t s[8];
                int j;
                oc = 4 * b;
                for (j = 0; j < 4; ++j) s[j] = s[4 + j] = bias_eff[oc + j];
                dot42q_s8(q, filter + oc * k, k, s);
                quad_store(p, s, oc, out0, out1);
                ++b;
            }
        }
        oc = blocks_end;
    }
#else
    (void)asm_args;
    (void)fast;
#endif
    for (; oc < blocks_end; oc += 4) {
        int32_t s[8];
        int j;
        for (j = 0; j < 4; ++j) s[j] = s[4 + j] = bias_eff[oc + j];
        dot42q_s8(q, filter + oc * k, k, s);
        quad_store(p, s, oc, out0, out1);
    }
    for (; oc < p->out_c; ++oc) {
        const int8_t *row = filter + oc * k;
        int32_t s0 = bias_eff[oc], s1 = bias_eff[oc];
        for (g = 0; g < k; g += 4) {
            const uint32_t w = tinyforge_load4(row + g);
            const int32_t e = tinyforge_sxtb16(w), o = tinyforge_sxtb16_ror8(w);
            s0 = tinyforge_smlad(o, q[g + 2], tinyforge_smlad(e, q[g], s0));
            s1 = tinyforge_smlad(o, q[g + 3], tinyforge_smlad(e, q[g + 1], s1));
        }
        out0[oc] = requant(s0, p->multiplier[oc], p->shift[oc], p);
        out1[oc] = requant(s1, p->multiplier[oc], p->shift[oc], p);
    }
}
#endif

/* n bytes copied / set: 16 per predicated vector step on Helium, memcpy / memset elsewhere. */
static inline void copy_bytes(int8_t *d, const int8_t *src, int n)
{
#if TINYFORGE_MVE
    for (; n > 0; n -= 16, d += 16, src += 16) {
        const mve_pred16_t pr = vctp8q((uint32_t)n);
        vstrbq_p_s8(d, vldrbq_z_s8(src, pr), pr);
    }
#elif TINYFORGE_DSP
    /* im2col rows of small filters are short: word copies (unaligned words are fine on these
     * cores) cost less than the library call, which wins from about 32 bytes on */
    if (n >= 32) {
        memcpy(d, src, (size_t)n);
        return;
    }
    for (; n >= 4; n -= 4, d += 4, src += 4) {
        const uint32_t w = tinyforge_load4(src);
        memcpy(d, &w, 4);
    }
    for (; n > 0; --n) *d++ = *src++;
#else
    memcpy(d, src, (size_t)n);
#endif
}

#if TINYFORGE_DSP && !TINYFORGE_MVE && defined(__GNUC__) && !defined(__clang__)
/* GCC would turn fill_bytes' store loop back into the memset call */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static inline void fill_bytes(int8_t *d, int8_t value, int n)
{
#if TINYFORGE_MVE
    const int8x16_t v = vdupq_n_s8(value);
    for (; n > 0; n -= 16, d += 16) vstrbq_p_s8(d, v, vctp8q((uint32_t)n));
#elif TINYFORGE_DSP
    /* im2col rows pad a few bytes: stores cost less than the call */
    if (n >= 32) {
        memset(d, value, (size_t)n);
        return;
    }
    for (; n > 0; --n) *d++ = value;
#else
    memset(d, value, (size_t)n);
#endif
}

/* The im2col column of output pixel `pix` (flat over batch, rows, columns): a pointer into
 * the input for unpadded 1x1 convolutions, else gathered into `dst` with padded taps set to
 * the input zero point. */
static const int8_t *conv_column(const tinyforge_conv_s8_t *p, const int8_t *input, int pix, int8_t *dst)
{
    const int ox = pix % p->out_w, oy = (pix / p->out_w) % p->out_h, b = pix / (p->out_w * p->out_h);
    const int in_y0 = oy * p->stride_h - p->pad_h, in_x0 = ox * p->stride_w - p->pad_w;
    const int8_t pad_value = (int8_t)(-p->input_offset);
    const int taps_bytes = p->f_h * p->f_w * p->in_c;
    int8_t *d = dst;
    int fy, fx, c;
    if (p->f_h == 1 && p->f_w == 1 && p->pad_h == 0 && p->pad_w == 0) {
        return input + (((b * p->in_h) + in_y0) * p->in_w + in_x0) * p->in_c;
    }
    for (c = taps_bytes; c < p->col_stride; ++c) dst[c] = 0; /* zero-weight tail (< 4 bytes) */
    if (p->dil_w == 1 && in_x0 >= 0 && in_x0 + p->f_w <= p->in_w && in_y0 >= 0 &&
        in_y0 + (p->f_h - 1) * p->dil_h < p->in_h) { /* inside the image: whole filter rows */
        const int row_bytes = p->f_w * p->in_c;
        const int8_t *src = input + (((b * p->in_h) + in_y0) * p->in_w + in_x0) * p->in_c;
        const int src_step = p->dil_h * p->in_w * p->in_c;
#if TINYFORGE_MVE
        if ((row_bytes & 15) == 0) { /* whole vectors: no predicate */
            for (fy = 0; fy < p->f_h; ++fy, d += row_bytes, src += src_step) {
                for (c = 0; c < row_bytes; c += 16) vst1q_s8(d + c, vld1q_s8(src + c));
            }
            return dst;
        }
#endif
#if TINYFORGE_MVE
        for (fy = 0; fy < p->f_h; ++fy, d += row_bytes, src += src_step) memcpy(d, src, (size_t)row_bytes);
#else
        for (fy = 0; fy < p->f_h; ++fy, d += row_bytes, src += src_step) copy_bytes(d, src, row_bytes);
#endif
        return dst;
    }
    if (p->dil_w == 1) { /* row by row: padding left, the taps inside the image, padding right */
        const int row_bytes = p->f_w * p->in_c;
        const int xa = in_x0 < 0 ? 0 : in_x0;
        const int xb = in_x0 + p->f_w < p->in_w ? in_x0 + p->f_w : p->in_w;
        const int left = (xa - in_x0) * p->in_c;
        const int inside = xb > xa ? (xb - xa) * p->in_c : 0;
        for (fy = 0; fy < p->f_h; ++fy, d += row_bytes) {
            const int in_y = in_y0 + p->dil_h * fy;
            if (in_y < 0 || in_y >= p->in_h || inside == 0) {
                fill_bytes(d, pad_value, row_bytes);
                continue;
            }
            if (left > 0) fill_bytes(d, pad_value, left);
            copy_bytes(d + left, input + (((b * p->in_h) + in_y) * p->in_w + xa) * p->in_c, inside);
            if (left + inside < row_bytes) fill_bytes(d + left + inside, pad_value, row_bytes - left - inside);
        }
        return dst;
    }
    for (fy = 0; fy < p->f_h; ++fy) {
        const int in_y = in_y0 + p->dil_h * fy;
        for (fx = 0; fx < p->f_w; ++fx) {
            const int in_x = in_x0 + p->dil_w * fx;
            if (in_y < 0 || in_y >= p->in_h || in_x < 0 || in_x >= p->in_w) {
                for (c = 0; c < p->in_c; ++c) *d++ = pad_value;
            } else {
                const int8_t *src = input + (((b * p->in_h) + in_y) * p->in_w + in_x) * p->in_c;
                c = 0;
                if ((p->in_c & 3) == 0) {
                    for (; c < p->in_c; c += 4, d += 4) memcpy(d, src + c, 4);
                }
                for (; c < p->in_c; ++c) *d++ = src[c];
            }
        }
    }
    return dst;
}

#ifdef TINYFORGE_SIMD_PATHS
const int8_t *tinyforge_conv_column_s8(const tinyforge_conv_s8_t *p, const int8_t *input, int pix,
                                       int8_t *dst)
{
    return conv_column(p, input, pix, dst);
}
#endif

#if TINYFORGE_MVE
/* Byte offsets of one row's bytes in a block of two rows interleaved 4 bytes at a time. */
static const uint8_t tinyforge_pair_offsets[16] = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};

/* Two pixels (columns x0, x1: k bytes each) times two channels (their rows interleaved 4 bytes at a
 * time in `f`, 4-byte aligned): 16 taps per step, VLD2 separating the two rows; the k % 16 tail
 * gathers the rows' bytes under a lane predicate. Stores the two channels of
 * each pixel in acc0[0..1] and acc1[0..1]. */
static inline void dot22_mve(const int8_t *x0, const int8_t *x1, const int8_t *f, int k,
                             const int32_t *bias, int32_t *acc0, int32_t *acc1)
{
    int32_t s00 = bias[0], s01 = bias[1], s10 = bias[0], s11 = bias[1];
    for (; k >= 16; k -= 16, x0 += 16, x1 += 16, f += 32) {
        const int32x4x2_t w = vld2q_s32((const int32_t *)f);
        const int8x16_t f0 = vreinterpretq_s8_s32(w.val[0]), f1 = vreinterpretq_s8_s32(w.val[1]);
        const int8x16_t a0 = vld1q_s8(x0), a1 = vld1q_s8(x1);
        s00 = vmladavaq_s8(s00, a0, f0);
        s01 = vmladavaq_s8(s01, a0, f1);
        s10 = vmladavaq_s8(s10, a1, f0);
        s11 = vmladavaq_s8(s11, a1, f1);
    }
    if (k > 0) {
        const mve_pred16_t pr = vctp8q((uint32_t)k);
        const uint8x16_t off = vld1q_u8(tinyforge_pair_offsets);
        const int8x16_t f0 = vldrbq_gather_offset_z_s8(f, off, pr);
        const int8x16_t f1 = vldrbq_gather_offset_z_s8(f + 4, off, pr);
        const int8x16_t a0 = vld1q_z_s8(x0, pr), a1 = vld1q_z_s8(x1, pr);
        s00 = vmladavaq_s8(s00, a0, f0);
        s01 = vmladavaq_s8(s01, a0, f1);
        s10 = vmladavaq_s8(s10, a1, f0);
        s11 = vmladavaq_s8(s11, a1, f1);
    }
    acc0[0] = s00;
    acc0[1] = s01;
    acc1[0] = s10;
    acc1[1] = s11;
}

/* Output channels per block of the Helium convolution's int32 accumulator rows (the scratch
 * holds three rows after three columns: lower.py sizes it with the same number). */
#define TINYFORGE_MVE_ACC_CHANNELS 32

/* Three pixels x two channels: dot22_mve with a third column, six accumulators (VMLADAVA needs
 * even registers: seven exist). */
static inline void dot32_mve(const int8_t *x0, const int8_t *x1, const int8_t *x2, const int8_t *f, int k,
                             const int32_t *bias, int32_t *acc0, int32_t *acc1, int32_t *acc2)
{
    int32_t s00 = bias[0], s01 = bias[1], s10 = bias[0], s11 = bias[1], s20 = bias[0], s21 = bias[1];
    for (; k >= 16; k -= 16, x0 += 16, x1 += 16, x2 += 16, f += 32) {
        const int32x4x2_t w = vld2q_s32((const int32_t *)f);
        const int8x16_t f0 = vreinterpretq_s8_s32(w.val[0]), f1 = vreinterpretq_s8_s32(w.val[1]);
        int8x16_t a = vld1q_s8(x0);
        s00 = vmladavaq_s8(s00, a, f0);
        s01 = vmladavaq_s8(s01, a, f1);
        a = vld1q_s8(x1);
        s10 = vmladavaq_s8(s10, a, f0);
        s11 = vmladavaq_s8(s11, a, f1);
        a = vld1q_s8(x2);
        s20 = vmladavaq_s8(s20, a, f0);
        s21 = vmladavaq_s8(s21, a, f1);
    }
    if (k > 0) {
        const mve_pred16_t pr = vctp8q((uint32_t)k);
        const uint8x16_t off = vld1q_u8(tinyforge_pair_offsets);
        const int8x16_t f0 = vldrbq_gather_offset_z_s8(f, off, pr);
        const int8x16_t f1 = vldrbq_gather_offset_z_s8(f + 4, off, pr);
        int8x16_t a = vld1q_z_s8(x0, pr);
        s00 = vmladavaq_s8(s00, a, f0);
        s01 = vmladavaq_s8(s01, a, f1);
        a = vld1q_z_s8(x1, pr);
        s10 = vmladavaq_s8(s10, a, f0);
        s11 = vmladavaq_s8(s11, a, f1);
        a = vld1q_z_s8(x2, pr);
        s20 = vmladavaq_s8(s20, a, f0);
        s21 = vmladavaq_s8(s21, a, f1);
    }
    acc0[0] = s00;
    acc0[1] = s01;
    acc1[0] = s10;
    acc1[1] = s11;
    acc2[0] = s20;
    acc2[1] = s21;
}

/* Requantise the accumulators of channels first .. first + n - 1 into out[first ..]; the
 * vectors take n rounded down to 4, the rest is scalar. */
static inline void requant_row_mve(const tinyforge_conv_s8_t *p, const int32_t *acc, int first, int n,
                                   int8_t *out)
{
    const int n4 = n & ~3;
    int c;
    for (c = 0; c < n4; c += 4) {
        vstrbq_s32(out + first + c,
                   requant_mve(vld1q_s32(acc + c), vld1q_s32(p->multiplier + first + c),
                               vld1q_s32(p->shift + first + c), p->output_offset, p->act_min, p->act_max));
    }
    for (; c < n; ++c) out[first + c] = requant(acc[c], p->multiplier[first + c], p->shift[first + c], p);
}

/* The convolution on Helium: three pixels per pass, their columns read in place (1x1 without
 * padding) or gathered by conv_column; two channels per step into a row of int32 accumulators
 * per pixel (blocks of TINYFORGE_MVE_ACC_CHANNELS, in the scratch after the three columns), then
 * each pixel's block requantised four channels per vector. A last pass with fewer pixels repeats its last one.
 * `filter` is 4-byte aligned. */
static void conv2d_mve(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                       const int32_t *bias_eff, int8_t *output, int8_t *scratch)
{
    const int k = p->col_stride;
    const int pixels = p->batches * p->out_h * p->out_w;
    int32_t *const acc0 = (int32_t *)(void *)(scratch + 3 * k);
    int32_t *const acc1 = acc0 + TINYFORGE_MVE_ACC_CHANNELS, *const acc2 = acc1 + TINYFORGE_MVE_ACC_CHANNELS;
    const int pointwise = p->f_h == 1 && p->f_w == 1 && p->pad_h == 0 && p->pad_w == 0 &&
                          p->stride_h == 1 && p->stride_w == 1;
    int pix, oc, c0, j;
    for (pix = 0; pix < pixels; pix += 3) {
        const int n = pixels - pix < 3 ? pixels - pix : 3;
        const int8_t *x0, *x1, *x2;
        int8_t *const out0 = output + pix * p->out_c;
        if (pointwise) { /* consecutive pixels, in_c bytes apart */
            x0 = input + pix * p->in_c;
            x1 = n > 1 ? x0 + p->in_c : x0;
            x2 = n > 2 ? x1 + p->in_c : x1;
        } else {
            x0 = conv_column(p, input, pix, scratch);
            x1 = n > 1 ? conv_column(p, input, pix + 1, scratch + k) : x0;
            x2 = n > 2 ? conv_column(p, input, pix + 2, scratch + 2 * k) : x1;
        }
        /* channels in blocks of TINYFORGE_MVE_ACC_CHANNELS (even: pairs never straddle two) */
        for (c0 = 0; c0 < p->out_c; c0 += TINYFORGE_MVE_ACC_CHANNELS) {
            const int c1 = c0 + TINYFORGE_MVE_ACC_CHANNELS < p->out_c ? c0 + TINYFORGE_MVE_ACC_CHANNELS : p->out_c;
            for (oc = c0; oc + 2 <= c1; oc += 2) {
                dot32_mve(x0, x1, x2, filter + oc * k, k, bias_eff + oc, acc0 + oc - c0, acc1 + oc - c0,
                          acc2 + oc - c0);
            }
            if (oc < c1) { /* odd channel count: the last row is stored plain */
                const int8_t *row = filter + oc * k;
                acc0[oc - c0] = dot_s8(x0, row, k, bias_eff[oc]);
                acc1[oc - c0] = dot_s8(x1, row, k, bias_eff[oc]);
                acc2[oc - c0] = dot_s8(x2, row, k, bias_eff[oc]);
            }
            for (j = 0; j < n; ++j) {
                requant_row_mve(p, j == 0 ? acc0 : j == 1 ? acc1 : acc2, c0, c1 - c0, out0 + j * p->out_c);
            }
        }
    }
}
#endif

TINYFORGE_NO_PRESCHED_CONV
void tinyforge_conv2d_s8_opt(const tinyforge_conv_s8_t *params, const int8_t *input, const int8_t *filter,
                             const int32_t *bias_eff, int8_t *output, int8_t *scratch)
{
    /* A local copy: int8 output stores cannot alias it, so its fields stay in registers. */
    const tinyforge_conv_s8_t local = *params, *p = &local;
    const int k = p->col_stride;
    const int pixels = p->batches * p->out_h * p->out_w;
    int8_t *const interleaved = scratch + 2 * k;
    int pix = 0;
#ifdef TINYFORGE_SIMD_PATHS
    if (tinyforge_conv2d_s8_simd(p, input, filter, bias_eff, output, scratch)) return;
#endif
#if TINYFORGE_MVE
    if (tinyforge_aligned4(filter)) {
        conv2d_mve(p, input, filter, bias_eff, output, scratch);
        return;
    }
#endif
#if TINYFORGE_DSP
    /* Columns unpacked into the scratch's 4 k bytes: straight from the input for unpadded 1x1
     * convolutions, else gathered (scratch, scratch + k), interleaved into the upper half and
     * unpacked in place. */
    if (TINYFORGE_CONV_QUADS || (tinyforge_aligned4(filter) && tinyforge_aligned4(scratch))) {
        int32_t *const q = (int32_t *)(void *)scratch; /* ALIGNED16 in the generated model */
        const int in_place = p->f_h == 1 && p->f_w == 1 && p->pad_h == 0 && p->pad_w == 0;
        const int pointwise = in_place && p->stride_h == 1 && p->stride_w == 1;
        int right2_full = p->act_min == -128 && p->act_max == 127, c;
#ifdef TINYFORGE_HAVE_QUADS_ASM
        /* the assembly's requantisation parameters, per channel {multiplier, right shift - 2}:
         * one LDRD a channel (at most QUAD_RQ_CHANNELS, 8 bytes of stack each) */
        int32_t rq[2 * (p->out_c <= QUAD_RQ_CHANNELS ? p->out_c : 1)];
        uint8_t fast_blocks[QUAD_RQ_CHANNELS / 4]; /* the blocks whose four shifts are <= -2 */
        const int use_rq = right2_full && p->out_c <= QUAD_RQ_CHANNELS;
#else
        int32_t *const rq = NULL;
        const int use_rq = 0;
        uint8_t *const fast_blocks = NULL;
#endif
        for (c = 0; c < p->out_c; ++c) right2_full &= p->shift[c] <= -2;
#ifdef TINYFORGE_HAVE_QUADS_ASM
        for (c = 0; use_rq && c < p->out_c; ++c) {
            rq[2 * c] = p->multiplier[c];
            rq[2 * c + 1] = ~p->shift[c] - 1;
            if ((c & 3) == 0) fast_blocks[c >> 2] = 1;
            if (p->shift[c] > -2) fast_blocks[c >> 2] = 0;
        }
#endif
#ifdef TINYFORGE_HAVE_QUADS_ASM
        conv_quads_args_t quads_args; /* the fields every pixel pair shares */
        void *const asm_args = use_rq ? &quads_args : NULL;
        quads_args.q = q;
        quads_args.q_end = q + k;
        quads_args.unused = 0;
        quads_args.c = 2 * p->output_offset + 1;
        quads_args.skip = (QUAD_LOOP_STEPS - (k >> 1) % QUAD_LOOP_STEPS) % QUAD_LOOP_STEPS * QUAD_STEP_BYTES;
        quads_args.rq_table = rq;
#else
        void *const asm_args = NULL;
#endif
        (void)rq; /* the pair layout's loops take the arrays */
        (void)use_rq;
        (void)fast_blocks;
        (void)asm_args;
        for (; pix < pixels; pix += 2) {
            const int last = pix + 1 >= pixels; /* odd pixel count: pair the last pixel with itself */
            const int8_t *col0, *col1;
            if (pointwise) { /* consecutive pixels, in_c bytes apart */
                col0 = input + pix * p->in_c;
                col1 = last ? col0 : col0 + p->in_c;
            } else {
                col0 = conv_column(p, input, pix, scratch);
                col1 = last ? col0 : conv_column(p, input, pix + 1, scratch + k);
            }
#if TINYFORGE_CONV_QUADS
            if (in_place) { /* the columns are in the input, not in the scratch */
                unpack_columns_q(col0, col1, k, q);
            } else {
                interleave_columns(col0, col1, k, interleaved);
                unpack_interleaved_q(q, k);
            }
            conv_pixel_pair_quads(p, q, k, filter, bias_eff, output + pix * p->out_c,
                                  last ? output + pix * p->out_c : output + (pix + 1) * p->out_c,
                                  asm_args, right2_full ? NULL : fast_blocks);
#else
            if (in_place) { /* the columns are in the input, not in the scratch */
                unpack_column(col0, k, 0, q);
                unpack_column(col1, k, 1, q);
            } else {
                interleave_columns(col0, col1, k, interleaved);
                unpack_interleaved(q, k);
            }
            conv_pixel_pair_q(p, q, k, filter, bias_eff, output + pix * p->out_c,
                              last ? output + pix * p->out_c : output + (pix + 1) * p->out_c, right2_full);
#endif
        }
        return;
    }
#endif
    for (; pix < pixels; pix += 2) {
        const int last = pix + 1 >= pixels; /* odd pixel count: pair the last pixel with itself */
        const int8_t *col0 = conv_column(p, input, pix, scratch);
        const int8_t *col1 = last ? col0 : conv_column(p, input, pix + 1, scratch + k);
        interleave_columns(col0, col1, k, interleaved);
        conv_pixel_pair(p, interleaved, k, filter, bias_eff, output + pix * p->out_c,
                        last ? output + pix * p->out_c : output + (pix + 1) * p->out_c);
    }
}

#if !TINYFORGE_MVE && defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && defined(__thumb2__)
/* requant_r2_full of X in fc_blocks_full_asm: multiplier in x0, s = ~shift - 1 in x1, C in xe,
 * 2^30 in w0; the 64-bit product in n (low word) and w1. */
#define TINYFORGE_FC_REQUANT(X)                                                                 \
    "asr %[w1], %[" X "], #31\n\t"                                                              \
    "orr %[n], %[w0], %[w1], lsl #31\n\t"                                                       \
    "smlal %[n], %[w1], %[" X "], %[x0]\n\t"                                                    \
    "asr %[w1], %[w1], %[x1]\n\t"                                                               \
    "add %[w1], %[w1], %[xe]\n\t"                                                               \
    "ssat %[" X "], #8, %[w1], asr #1\n\t"
/* Row J's multiplier and s from the per-channel arrays at t (multipliers) and a (shifts). */
#define TINYFORGE_FC_ROW_PARAMS(J)                                                              \
    "ldr %[x0], [%[t], #" J "]\n\t"                                                             \
    "ldr %[x1], [%[a], #" J "]\n\t"                                                             \
    "mvn %[x1], %[x1]\n\t"                                                                      \
    "sub %[x1], %[x1], #1\n\t"

/* The fast path of tinyforge_fully_connected_s8_opt (every shift <= -2, the int8 clamp) for one
 * input row `x` (4-byte aligned, k a multiple of 4) and `blocks` blocks of four rows of `f`
 * (aligned): per block the four biases, dot4i_s8's loop (an odd input word first),
 * requant_r2_full of the four sums (one multiplier and shift, or, `per_channel`, one per row)
 * and the four stores, in one assembly loop: about 45 instructions per block around the dot
 * loop (53 per channel), where GCC's code spent about 90 keeping the sums in memory. Its state
 * lives in the stack slots of the locals below. */
static void fc_blocks_full_asm(const int8_t *x, const int8_t *f, int k, const int32_t *bias, int8_t *out,
                               int blocks, const int32_t *multiplier, const int32_t *shift, int per_channel,
                               int32_t output_offset)
{
    const int8_t *x_m = x;
    const int32_t *bias_m = bias, *mult_m = multiplier, *shift_m = shift;
    int8_t *out_m = out, *const end_m = out + 4 * blocks;
    const int32_t steps_m = k >> 2, c_m = 2 * output_offset + 1;
    int32_t s0, s1, s2, s3;
    uint32_t x0, x1, xe, w0, w1, t, n;
    const int8_t *a;
#define TINYFORGE_FC_BLOCKS(REQUANT)                                                            \
    __asm__ volatile(                                                                           \
        "0:\n\t"                                                                                \
        "ldr %[a], %[x_m]\n\t"                                                                  \
        "ldr %[n], %[steps_m]\n\t"                                                              \
        "ldr %[t], %[bias_m]\n\t"                                                               \
        "ldrd %[s0], %[s1], [%[t]], #8\n\t"                                                     \
        "ldrd %[s2], %[s3], [%[t]], #8\n\t"                                                     \
        "str %[t], %[bias_m]\n\t"                                                               \
        "lsrs %[n], %[n], #1\n\t" /* pairs of input words; carry: an odd one */                 \
        "bcc 1f\n\t"                                                                            \
        "ldr %[x0], [%[a]], #4\n\t" TINYFORGE_DOT4_WORD("x0") "beq 3f\n" /* Z still from LSRS */ \
        "1:\n\t"                                                                                \
        "ldrd %[x0], %[x1], [%[a]], #8\n\t" TINYFORGE_DOT4_WORD("x0") TINYFORGE_DOT4_WORD("x1") \
        "subs %[n], %[n], #1\n\t"                                                               \
        "bne 1b\n"                                                                              \
        "3:\n\t"                                                                                \
        "ldr %[t], %[mult_m]\n\t"                                                               \
        "ldr %[a], %[shift_m]\n\t"                                                              \
        "ldr %[xe], %[c_m]\n\t"                                                                 \
        "mov %[w0], #0x40000000\n\t" REQUANT                                                    \
        "ldr %[t], %[out_m]\n\t"                                                                \
        "strb %[s0], [%[t]]\n\t"                                                                \
        "strb %[s1], [%[t], #1]\n\t"                                                            \
        "strb %[s2], [%[t], #2]\n\t"                                                            \
        "strb %[s3], [%[t], #3]\n\t"                                                            \
        "add %[t], %[t], #4\n\t"                                                                \
        "str %[t], %[out_m]\n\t"                                                                \
        "ldr %[w1], %[end_m]\n\t"                                                               \
        "cmp %[t], %[w1]\n\t"                                                                   \
        "bne 0b"                                                                                \
        : [f] "+r"(f), [s0] "=&r"(s0), [s1] "=&r"(s1), [s2] "=&r"(s2), [s3] "=&r"(s3), [a] "=&r"(a), \
          [n] "=&r"(n), [x0] "=&r"(x0), [x1] "=&r"(x1), [xe] "=&r"(xe), [w0] "=&r"(w0),         \
          [w1] "=&r"(w1), [t] "=&r"(t), [bias_m] "+m"(bias_m), [mult_m] "+m"(mult_m),           \
          [shift_m] "+m"(shift_m), [out_m] "+m"(out_m)                                          \
        : [x_m] "m"(x_m), [steps_m] "m"(steps_m), [c_m] "m"(c_m), [end_m] "m"(end_m)            \
        : "cc", "memory")
    if (per_channel) { /* each row's own multiplier and shift; the arrays' pointers advance */
        TINYFORGE_FC_BLOCKS(TINYFORGE_FC_ROW_PARAMS("0") TINYFORGE_FC_REQUANT("s0")
                                TINYFORGE_FC_ROW_PARAMS("4") TINYFORGE_FC_REQUANT("s1")
                                    TINYFORGE_FC_ROW_PARAMS("8") TINYFORGE_FC_REQUANT("s2")
                                        TINYFORGE_FC_ROW_PARAMS("12") TINYFORGE_FC_REQUANT("s3")
                                            "add %[t], %[t], #16\n\t"
                                            "str %[t], %[mult_m]\n\t"
                                            "add %[a], %[a], #16\n\t"
                                            "str %[a], %[shift_m]\n\t");
    } else {
        TINYFORGE_FC_BLOCKS(TINYFORGE_FC_ROW_PARAMS("0") TINYFORGE_FC_REQUANT("s0") TINYFORGE_FC_REQUANT("s1")
                                TINYFORGE_FC_REQUANT("s2") TINYFORGE_FC_REQUANT("s3"));
    }
#undef TINYFORGE_FC_BLOCKS
}
#undef TINYFORGE_FC_REQUANT
#undef TINYFORGE_FC_ROW_PARAMS
#endif

TINYFORGE_NO_PRESCHED_CONV
void tinyforge_fully_connected_s8_opt(const tinyforge_fc_s8_t *params, const int8_t *input,
                                      const int8_t *filter, const int32_t *bias_eff, int8_t *output)
{
    const tinyforge_fc_s8_t local = *params, *p = &local;
    const int k = p->accum_depth; /* a multiple of 4 */
    int b, oc, j;
#ifdef TINYFORGE_SIMD_PATHS
    if (tinyforge_fully_connected_s8_simd(p, input, filter, bias_eff, output)) return;
#endif
#if TINYFORGE_DSP && !TINYFORGE_MVE
    /* Every shift at least 2 and the int8 clamp (the usual case): blocks of four rows
     * requantised by requant_r2_full, no per-output branches. */
    {
        const int nq = p->per_channel ? p->out_depth : 1;
        int right2 = p->act_min == -128 && p->act_max == 127;
        for (j = 0; j < nq; ++j) right2 &= p->shift[j] <= -2;
        if (right2) {
            const int32_t c = 2 * p->output_offset + 1;
            for (b = 0; b < p->batches; ++b) {
                const int8_t *x = input + b * k;
                int8_t *out = output + b * p->out_depth;
                oc = 0;
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && defined(__thumb2__)
                if (p->out_depth >= 4 && tinyforge_aligned4(x) && tinyforge_aligned4(filter)) {
                    oc = p->out_depth & ~3;
                    fc_blocks_full_asm(x, filter, k, bias_eff, out, oc / 4, p->multiplier, p->shift,
                                       p->per_channel, p->output_offset);
                }
#endif
                for (; oc < p->out_depth; oc += 4) {
                    int32_t acc[4];
                    const int n = p->out_depth - oc < 4 ? p->out_depth - oc : 4;
                    if (n == 4) {
                        for (j = 0; j < 4; ++j) acc[j] = bias_eff[oc + j];
                        dot4i_s8(x, filter + oc * k, k, acc);
                    } else { /* the last out_depth % 4 rows are stored plain */
                        for (j = 0; j < n; ++j) acc[j] = dot_s8(x, filter + (oc + j) * k, k, bias_eff[oc + j]);
                    }
                    for (j = 0; j < n; ++j) {
                        const int q = p->per_channel ? oc + j : 0;
                        out[oc + j] = requant_r2_full(acc[j], p->multiplier[q], ~p->shift[q] - 1, c);
                    }
                }
            }
            return;
        }
    }
#endif
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * k;
        int8_t *out = output + b * p->out_depth;
        for (oc = 0; oc < p->out_depth; oc += 4) {
            int32_t acc[4];
            const int n = p->out_depth - oc < 4 ? p->out_depth - oc : 4;
            if (n == 4) {
                for (j = 0; j < 4; ++j) acc[j] = bias_eff[oc + j];
                dot4i_s8(x, filter + oc * k, k, acc);
#if TINYFORGE_MVE
                { /* the four rows requantised in one vector */
                    const int32x4_t m = p->per_channel ? vldrwq_s32(p->multiplier + oc) : vdupq_n_s32(p->multiplier[0]);
                    const int32x4_t sh = p->per_channel ? vldrwq_s32(p->shift + oc) : vdupq_n_s32(p->shift[0]);
                    vstrbq_s32(out + oc, requant_mve(vld1q_s32(acc), m, sh, p->output_offset, p->act_min, p->act_max));
                    continue;
                }
#endif
            } else { /* the last out_depth % 4 rows are stored plain */
                for (j = 0; j < n; ++j) acc[j] = dot_s8(x, filter + (oc + j) * k, k, bias_eff[oc + j]);
            }
            for (j = 0; j < n; ++j) {
                const int q = p->per_channel ? oc + j : 0;
                const int32_t v =
                    mbqm_opt(acc[j], p->multiplier[q], p->shift[q]) + p->output_offset;
                out[oc + j] = (int8_t)tinyforge_clamp_i32(v, p->act_min, p->act_max);
            }
        }
    }
}

#if TINYFORGE_MVE
/* Depthwise 3x3 of one output pixel inside the image on Helium, all channels (C a multiple of 4):
 * three filter rows starting at r0, r1, r2, their three taps C bytes apart; four channels per step,
 * the multiply-accumulate chain in order (mla_mve), requantised in one vector. */
static inline void dw3x3_pixel_mve(const tinyforge_conv_s8_t *p, const int8_t *r0, const int8_t *r1,
                                   const int8_t *r2, const int8_t *f, const int32_t *bias_eff, int8_t *out)
{
    const int C = p->in_c;
    int c;
    for (c = 0; c < C; c += 4, r0 += 4, r1 += 4, r2 += 4, f += 36) {
        int32x4_t acc = vldrwq_s32(bias_eff + c);
        acc = mla_mve(acc, vldrbq_s32(r0), vldrbq_s32(f));
        acc = mla_mve(acc, vldrbq_s32(r0 + C), vldrbq_s32(f + 4));
        acc = mla_mve(acc, vldrbq_s32(r0 + 2 * C), vldrbq_s32(f + 8));
        acc = mla_mve(acc, vldrbq_s32(r1), vldrbq_s32(f + 12));
        acc = mla_mve(acc, vldrbq_s32(r1 + C), vldrbq_s32(f + 16));
        acc = mla_mve(acc, vldrbq_s32(r1 + 2 * C), vldrbq_s32(f + 20));
        acc = mla_mve(acc, vldrbq_s32(r2), vldrbq_s32(f + 24));
        acc = mla_mve(acc, vldrbq_s32(r2 + C), vldrbq_s32(f + 28));
        acc = mla_mve(acc, vldrbq_s32(r2 + 2 * C), vldrbq_s32(f + 32));
        acc = requant_mve(acc, vldrwq_s32(p->multiplier + c), vldrwq_s32(p->shift + c), p->output_offset,
                          p->act_min, p->act_max);
        vstrbq_s32(out + c, acc); /* the low byte of each lane */
    }
}
#endif

#if TINYFORGE_DSP && !TINYFORGE_MVE
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#define TINYFORGE_DW_ASM 1 /* dw_row_s1 */
#else
#define TINYFORGE_DW_ASM 0
#endif
/* Depthwise 3x3 with the DSP extension (dilation 1, stride 1 or 2, channels a multiple of 4), one
 * group of four channels at a time over the whole image, so that the group's constants are
 * prepared once:
 *  - the filter, unpacked to int16 pairs: per tap, SXTB16 of the grouped word (channels 0 and 2)
 *    and of it rotated by 8 (channels 1 and 3), loaded as one LDRD per tap;
 *  - the requantisation: per channel the multiplier, the rounding term 2^(r-2) and r - 1 for a
 *    right shift r >= 2, see dw_requant (any other shift takes tinyforge_mbqm_fast).
 * The group's input rows are copied, unpacked alike, into three padded rows: the columns and
 * rows outside the image hold the input zero point (exact with the folded bias), so every pixel
 * runs the same nine taps and no pixel is at a border. An input row is copied once per group and
 * stays while the output rows read it (the padding columns are filled once per call, a copy
 * writes the inside only). Per tap SMLABB/SMLATT add the four products. Stride 1 with the fast
 * requantisation runs whole rows in assembly, two pixels at a time (dw_row_s1). Strides other
 * than 1 and 2, and rows wider than a copy, take the generic loops. */
/* A filter version's block (w[v] below): words 0..17 the unpacked taps, 18..21 the biases,
 * 22 + 3 j .. 24 + 3 j channel j's {multiplier, rounding term with the output offset, r - 1}
 * (rq[j][0], rq[j][1], rq[j][2]), so that the two-pixel loop reaches everything from one
 * pointer (byte offsets 72, 88 + 12 j). */
enum { DW_BLOCK_WORDS = 34 };
typedef struct {
    /* the filter, unpacked: w[v][2 * (3 * s + kx) + {0, 1}] = {channels 0 and 2, channels 1
     * and 3} of the tap in filter row (s - v) mod 3, column kx, the one that reads row copy s
     * when the output row's first input row y0 is in copy v = y0 mod 3; then the block's
     * biases and requantisation (DW_BLOCK_WORDS) */
    int32_t w[3][DW_BLOCK_WORDS];
    int32_t bias[4];            /* bias_eff of the four channels */
    /* per channel {multiplier, 2^(r-2) + (output_offset << (r-1)), r - 1, 2^(r-2)} */
    int32_t rq[4][4];
    int fast;                   /* all four right shifts r >= 2: dw_requant applies */
    int fold;                   /* and r <= 23: rq[j][1] holds the output offset too */
    int s1;                     /* dw_row_s1 applies (stride 1, fold, int8 clamp; see there) */
} dw_group_t;

/* Input row y is copied into copy y mod 3 of three contiguous padded rows, unpacked: per column
 * two words, SXTB16 of the input word (channels 0 and 2) and of it rotated by 8 (channels 1 and
 * 3), so a tap is two LDRD (input pair, filter pair) and four multiply-accumulates, and the
 * unpacking is done once per input word, not once per tap reading it. A copy is DW_ROW_WORDS
 * words (1440 bytes of stack for three): a pixel's taps are then at fixed offsets from one
 * pointer, all within LDRD's reach (1020 bytes). */
enum { DW_ROW_WORDS = 120, DW_ROW_COLUMNS = DW_ROW_WORDS / 2 };

/* The four products of tap T: X02, X13 the input pairs, a0..a3 the accumulators. */
#define TINYFORGE_DW_MAC(X02, X13, T)                                                           \
    do {                                                                                        \
        a0 = tinyforge_smlabb((X02), w[2 * (T)], a0);                                           \
        a2 = tinyforge_smlatt((X02), w[2 * (T)], a2);                                           \
        a1 = tinyforge_smlabb((X13), w[2 * (T) + 1], a1);                                       \
        a3 = tinyforge_smlatt((X13), w[2 * (T) + 1], a3);                                       \
    } while (0)

/* The same in assembly (GCC keeps pointers on the stack otherwise): ADDR the input pairs'
 * address, T the tap's byte offset in the unpacked filter at %[fw]; 6 instructions a tap. */
#define TINYFORGE_DW_TAP_ASM(ADDR, T)                                                           \
    "ldrd %[x02], %[x13], " ADDR "\n\t"                                                         \
    "ldrd %[f02], %[f13], [%[fw], #" T "]\n\t"                                                  \
    "smlabb %[a0], %[x02], %[f02], %[a0]\n\t"                                                   \
    "smlatt %[a2], %[x02], %[f02], %[a2]\n\t"                                                   \
    "smlabb %[a1], %[x13], %[f13], %[a1]\n\t"                                                   \
    "smlatt %[a3], %[x13], %[f13], %[a3]\n\t"

/* mbqm_right2 with the rounding folded into the 64-bit accumulate: for r >= 2,
 * (hi(S + k) + 2^(r-2)) >> (r-1) = hi(S + k + 2^(r-2) * 2^32) >> (r-1), so the rounding term joins
 * the high word of the nudge k (see mbqm_right2_hi) and one shift is left. rnd = 2^(r-2), sh = r-1
 * (rnd may also hold the output offset times 2^(r-1), see dw_group_t). */
static inline int32_t dw_requant(int32_t x, int32_t multiplier, int32_t rnd, int32_t sh)
{
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
    int32_t lo, hi;
    __asm__("asr %1, %2, #31\n\t"
            "orr %0, %5, %1, lsl #31\n\t" /* lo = x < 0 ? -2^30 : 2^30 (low word) */
            "add %1, %1, %4\n\t"          /* hi = (x < 0 ? -1 : 0) + 2^(r-2) */
            "smlal %0, %1, %2, %3"
            : "=&r"(lo), "=&r"(hi)
            : "r"(x), "r"(multiplier), "r"(rnd), "r"(1 << 30));
    (void)lo;
    return hi >> sh;
#else
    const int64_t k = (x < 0 ? -((int64_t)1 << 30) : ((int64_t)1 << 30)) + (int64_t)rnd * ((int64_t)1 << 32);
    return (int32_t)(((int64_t)x * multiplier + k) >> 32) >> sh;
#endif
}

static void dw_group_prepare(const tinyforge_conv_s8_t *p, const int8_t *filter, const int32_t *bias_eff,
                             int c, dw_group_t *g)
{
    const int8_t *f = filter + c * 9; /* group c / 4 of the grouped layout: [9 taps][4] */
    int ky, kx, j, v, dbl;
    g->fast = g->fold = 1;
    for (j = 0; j < 4; ++j) {
        const int32_t shift = p->shift[c + j];
        g->bias[j] = bias_eff[c + j];
        g->fast &= shift <= -2;
        g->fold &= shift <= -2 && shift >= -23;
        g->rq[j][0] = p->multiplier[c + j];
        g->rq[j][3] = shift <= -2 ? (int32_t)1 << (-shift - 2) : 0;
        g->rq[j][2] = -shift - 1;
        /* (hi + (off << (r-1))) >> (r-1) = (hi >> (r-1)) + off: the output offset joins the
         * rounding term; |hi| < 2^30 and |off << (r-1)| <= 2^29 for r <= 23, no overflow */
        g->rq[j][1] =
            g->fold ? (int32_t)((uint32_t)g->rq[j][3] + ((uint32_t)p->output_offset << (-shift - 1))) : 0;
    }
    g->s1 = p->stride_w == 1 && g->fold && p->act_min == -128 && p->act_max == 127;
    dbl = 0;
#if TINYFORGE_DW_ASM
    /* the assembly works on doubled accumulators (see dw_row_s1): |2 x| < 2^31 needs
     * |bias| < 2^29 (nine taps add at most 9 * 128 * 128 < 2^18); else the C loop */
    if (g->s1) {
        for (j = 0; j < 4; ++j)
            g->s1 &= g->bias[j] > -((int32_t)1 << 29) && g->bias[j] < ((int32_t)1 << 29);
        dbl = g->s1;
    }
#endif
    if (dbl) /* the taps' int16 halves doubled (|2 w| <= 256) */
        for (ky = 0; ky < 3; ++ky)
            for (kx = 0; kx < 3; ++kx, f += 4) {
                const int32_t w02 = (int32_t)((uint32_t)(uint16_t)(2 * f[0]) | (uint32_t)(uint16_t)(2 * f[2]) << 16);
                const int32_t w13 = (int32_t)((uint32_t)(uint16_t)(2 * f[1]) | (uint32_t)(uint16_t)(2 * f[3]) << 16);
                int copy = ky; /* filter row ky reads copy (ky + v) mod 3 */
                for (v = 0; v < 3; ++v, copy = copy == 2 ? 0 : copy + 1) {
                    g->w[v][2 * (3 * copy + kx)] = w02;
                    g->w[v][2 * (3 * copy + kx) + 1] = w13;
                }
            }
    else
        for (ky = 0; ky < 3; ++ky)
            for (kx = 0; kx < 3; ++kx, f += 4) {
                const uint32_t w = tinyforge_load4(f);
                const int32_t w02 = tinyforge_sxtb16(w), w13 = tinyforge_sxtb16_ror8(w);
                int copy = ky;
                for (v = 0; v < 3; ++v, copy = copy == 2 ? 0 : copy + 1) {
                    g->w[v][2 * (3 * copy + kx)] = w02;
                    g->w[v][2 * (3 * copy + kx) + 1] = w13;
                }
            }
    if (!g->s1) return; /* the blocks' rest serves dw_row_s1 only */
    for (j = 0; j < 4; ++j) { /* doubled in the assembly's build: bias, rounding term, shift + 1 */
        g->w[0][18 + j] = (int32_t)((uint32_t)g->bias[j] << dbl);
        g->w[0][22 + 3 * j] = g->rq[j][0];
        g->w[0][23 + 3 * j] = (int32_t)((uint32_t)g->rq[j][1] << dbl);
        g->w[0][24 + 3 * j] = g->rq[j][2] + dbl;
    }
    for (j = 18; j < DW_BLOCK_WORDS; ++j) g->w[1][j] = g->w[2][j] = g->w[0][j];
}

/* One pixel: tap (copy, kx) reads the pairs at q[DW_ROW_WORDS * copy + 2 * kx], w the filter
 * version (g->w[v] flattened: pairs 2t, 2t + 1 for tap t = 3 * copy + kx); q moves on by the
 * stride S (1 or 2) columns, by a post-indexed load in the assembly. */
static inline __attribute__((always_inline)) void dw3x3_pixel(const dw_group_t *g, const int32_t *w,
                                                              const int32_t **qp, int S, int32_t *acc)
{
    int32_t a0 = g->bias[0], a1 = g->bias[1], a2 = g->bias[2], a3 = g->bias[3];
    const int32_t *q = *qp;
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
    int32_t x02, x13, f02, f13;
    /* the first tap loads and moves q on by S columns (8 S bytes); tap (copy, kx) is then at
     * byte offset 480 * copy + 8 * kx - 8 * S (DW_ROW_WORDS = 120) */
#define TINYFORGE_DW_PIXEL_ASM(STEP, O01, O02, O10, O11, O12, O20, O21, O22)                     \
    __asm__(TINYFORGE_DW_TAP_ASM("[%[q]], #" STEP, "0") TINYFORGE_DW_TAP_ASM("[%[q], #" O01 "]", "8") \
                TINYFORGE_DW_TAP_ASM("[%[q], #" O02 "]", "16")                                    \
                    TINYFORGE_DW_TAP_ASM("[%[q], #" O10 "]", "24")                                \
                        TINYFORGE_DW_TAP_ASM("[%[q], #" O11 "]", "32")                            \
                            TINYFORGE_DW_TAP_ASM("[%[q], #" O12 "]", "40")                        \
                                TINYFORGE_DW_TAP_ASM("[%[q], #" O20 "]", "48")                    \
                                    TINYFORGE_DW_TAP_ASM("[%[q], #" O21 "]", "56")                \
                                        TINYFORGE_DW_TAP_ASM("[%[q], #" O22 "]", "64")            \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [q] "+r"(q),            \
              [x02] "=&r"(x02), [x13] "=&r"(x13), [f02] "=&r"(f02), [f13] "=&r"(f13)              \
            : [fw] "r"(w)                                                                         \
            : "memory")
    if (S == 1) {
        TINYFORGE_DW_PIXEL_ASM("8", "0", "8", "472", "480", "488", "952", "960", "968");
    } else {
        TINYFORGE_DW_PIXEL_ASM("16", "-8", "0", "464", "472", "480", "944", "952", "960");
    }
#undef TINYFORGE_DW_PIXEL_ASM
#else
    int copy, kx;
    for (copy = 0; copy < 3; ++copy)
        for (kx = 0; kx < 3; ++kx) {
            const int32_t *x = q + DW_ROW_WORDS * copy + 2 * kx;
            TINYFORGE_DW_MAC(x[0], x[1], 3 * copy + kx);
        }
    q += 2 * S;
#endif
    *qp = q;
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* The unpacked copy of one input row's n columns (four channels, C bytes apart) into dst; src
 * NULL: a row outside the image, all zero points. zp: the zero point's pairs (SXTB16 of four
 * zero-point bytes). The padding columns around them hold zp from the start (dw3x3_s8_dsp) and
 * are never written again. */
static inline __attribute__((always_inline)) void dw_copy_row(const int8_t *src, int C, int n, int32_t zp,
                                                              int32_t *dst)
{
    int32_t *const end = dst + 2 * n;
    if (src == NULL) {
        for (; dst != end; dst += 2) dst[0] = dst[1] = zp;
        return;
    }
#if TINYFORGE_DW_ASM
    if (n >= 2) { /* two columns a loop: two loads, four SXTB16, two STRD */
        int32_t k = n >> 1, x, y, a, b;
        __asm__ volatile("1:\n\t"
                         "ldr %[x], [%[s]]\n\t"
                         "ldr %[y], [%[s], %[c]]\n\t"
                         "add %[s], %[s], %[c], lsl #1\n\t"
                         "sxtb16 %[a], %[x]\n\t"
                         "sxtb16 %[x], %[x], ror #8\n\t"
                         "sxtb16 %[b], %[y]\n\t"
                         "sxtb16 %[y], %[y], ror #8\n\t"
                         "strd %[a], %[x], [%[d]], #16\n\t"
                         "strd %[b], %[y], [%[d], #-8]\n\t"
                         "subs %[k], %[k], #1\n\t"
                         "bne 1b"
                         : [s] "+r"(src), [d] "+r"(dst), [k] "+r"(k), [x] "=&r"(x), [y] "=&r"(y),
                           [a] "=&r"(a), [b] "=&r"(b)
                         : [c] "r"(C)
                         : "cc", "memory");
        n &= 1;
    }
#endif
    for (; n >= 2; n -= 2, dst += 4, src += 2 * C) { /* two columns a loop */
        const uint32_t x = tinyforge_load4(src), y = tinyforge_load4(src + C);
        dst[0] = tinyforge_sxtb16(x);
        dst[1] = tinyforge_sxtb16_ror8(x);
        dst[2] = tinyforge_sxtb16(y);
        dst[3] = tinyforge_sxtb16_ror8(y);
    }
    if (n > 0) {
        const uint32_t x = tinyforge_load4(src);
        dst[0] = tinyforge_sxtb16(x);
        dst[1] = tinyforge_sxtb16_ror8(x);
    }
}

/* Requantise one pixel's four accumulators into out[0..3] when g->fold and the clamp is int8's:
 * dw_requant with the output offset in its rounding term, SSAT and the store, 9 instructions an
 * output. */
static inline __attribute__((always_inline)) void dw_store_fast(const dw_group_t *g, const int32_t *acc,
                                                                int8_t *out)
{
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
    int32_t m, rnd, t, lo;
#define TINYFORGE_DW_RQ_ASM(A, J)                                                               \
    "ldrd %[m], %[rnd], [%[q], #" #J "*16]\n\t"                                                 \
    "asr %[t], %[" A "], #31\n\t"                                                               \
    "orr %[lo], %[k], %[t], lsl #31\n\t"                                                        \
    "add %[t], %[t], %[rnd]\n\t"                                                                \
    "smlal %[lo], %[t], %[" A "], %[m]\n\t"                                                     \
    "ldr %[m], [%[q], #" #J "*16+8]\n\t"                                                        \
    "asr %[t], %[t], %[m]\n\t"                                                                  \
    "ssat %[t], #8, %[t]\n\t"                                                                   \
    "strb %[t], [%[out], #" #J "]\n\t"
    /* volatile: the stores are its only effect */
    __asm__ volatile(TINYFORGE_DW_RQ_ASM("a0", 0) TINYFORGE_DW_RQ_ASM("a1", 1) TINYFORGE_DW_RQ_ASM("a2", 2)
                         TINYFORGE_DW_RQ_ASM("a3", 3)
                     : [m] "=&r"(m), [rnd] "=&r"(rnd), [t] "=&r"(t), [lo] "=&r"(lo)
                     : [a0] "r"(acc[0]), [a1] "r"(acc[1]), [a2] "r"(acc[2]), [a3] "r"(acc[3]),
                       [q] "r"(&g->rq[0][0]), [k] "r"(1 << 30), [out] "r"(out)
                     : "memory");
#undef TINYFORGE_DW_RQ_ASM
#else
    int j;
    for (j = 0; j < 4; ++j)
        out[j] = (int8_t)tinyforge_sat8(dw_requant(acc[j], g->rq[j][0], g->rq[j][1], g->rq[j][2]));
#endif
}

/* The same for any group and clamp. */
static inline void dw_store(const tinyforge_conv_s8_t *p, const dw_group_t *g, int c, const int32_t *acc,
                            int full, int8_t *out)
{
    const int32_t off = p->output_offset;
    int32_t a0, a1, a2, a3;
    if (TINYFORGE_LIKELY(g->fast)) {
        a0 = dw_requant(acc[0], g->rq[0][0], g->rq[0][3], g->rq[0][2]) + off;
        a1 = dw_requant(acc[1], g->rq[1][0], g->rq[1][3], g->rq[1][2]) + off;
        a2 = dw_requant(acc[2], g->rq[2][0], g->rq[2][3], g->rq[2][2]) + off;
        a3 = dw_requant(acc[3], g->rq[3][0], g->rq[3][3], g->rq[3][2]) + off;
    } else {
        a0 = tinyforge_mbqm_fast(acc[0], p->multiplier[c], p->shift[c]) + off;
        a1 = tinyforge_mbqm_fast(acc[1], p->multiplier[c + 1], p->shift[c + 1]) + off;
        a2 = tinyforge_mbqm_fast(acc[2], p->multiplier[c + 2], p->shift[c + 2]) + off;
        a3 = tinyforge_mbqm_fast(acc[3], p->multiplier[c + 3], p->shift[c + 3]) + off;
    }
    if (TINYFORGE_LIKELY(full)) {
        out[0] = (int8_t)tinyforge_sat8(a0);
        out[1] = (int8_t)tinyforge_sat8(a1);
        out[2] = (int8_t)tinyforge_sat8(a2);
        out[3] = (int8_t)tinyforge_sat8(a3);
    } else {
        out[0] = (int8_t)tinyforge_clamp_i32(a0, p->act_min, p->act_max);
        out[1] = (int8_t)tinyforge_clamp_i32(a1, p->act_min, p->act_max);
        out[2] = (int8_t)tinyforge_clamp_i32(a2, p->act_min, p->act_max);
        out[3] = (int8_t)tinyforge_clamp_i32(a3, p->act_min, p->act_max);
    }
}

/* One output row of n pixels, C bytes apart, for groups whose requantisation is dw_requant with
 * the int8 clamp: S a constant in each of the two callers, so that the loop has no branches. */
static inline __attribute__((always_inline)) void dw_row_fast(const tinyforge_conv_s8_t *p,
                                                              const dw_group_t *g, const int32_t *w,
                                                              const int32_t *q, int8_t *out, int n, int S)
{
    const int C = p->in_c;
    int32_t acc[4];
    for (; n >= 2; n -= 2, out += 2 * C) { /* two pixels a loop: half the loop's overhead */
        dw3x3_pixel(g, w, &q, S, acc);
        dw_store_fast(g, acc, out);
        dw3x3_pixel(g, w, &q, S, acc);
        dw_store_fast(g, acc, out + C);
    }
    if (n > 0) {
        dw3x3_pixel(g, w, &q, S, acc);
        dw_store_fast(g, acc, out);
    }
}

#if TINYFORGE_DW_ASM
/* Stride 1: one output row (ctx: {out, pairs, C, odd}: 2 pairs + odd pixels, C bytes apart)
 * for groups dw_store_fast applies to, q the row copies (three, DW_ROW_WORDS apart), fw the
 * filter version's block (DW_BLOCK_WORDS); in one loop in assembly (all 14 registers) over pairs
 * of horizontally neighbouring pixels, then the odd last pixel alone. The two
 * pixels share each tap's filter LDRD, and the input pairs of column kx + 1, loaded for the
 * right pixel's tap kx, serve the left pixel's tap kx + 1: a filter row is 3 filter and 4 input
 * LDRD for 24 multiply-accumulates. The right pixel's accumulators start from the biases in its
 * first tap (filter row 0 runs right to left for it); each channel's requantisation constants
 * are loaded once for both pixels. The requantisation is dw_requant's in two instructions, on
 * doubled accumulators (the block's taps and biases are doubled, |bias| < 2^29 so that 2 x
 * fits): with nudge = +-2^30 by the sign of x, hi(x m + nudge + rnd 2^32) >> (r - 1) =
 * (2 x m + 2 nudge + 2 rnd 2^32) >> (32 + r), and 2 nudge = +-2^31 is SMMLAR's rounding for
 * x >= 0, one less in the high word for x < 0: SMMLAR (ra = 2 rnd) plus x >> 31, then >> r (the
 * block holds 2 rnd and r). 24 bytes of stack while the loop runs (out, pairs left, q, C,
 * odd). */
#define TINYFORGE_DW_MAC2(P0, P1, P2, P3, A0, A1, A2, A3)                                         \
    "smlabb %[" P0 "], %[x02], %[f02], %[" A0 "]\n\t"                                              \
    "smlatt %[" P2 "], %[x02], %[f02], %[" A2 "]\n\t"                                              \
    "smlabb %[" P1 "], %[x13], %[f13], %[" A1 "]\n\t"                                              \
    "smlatt %[" P3 "], %[x13], %[f13], %[" A3 "]\n\t"
#define TINYFORGE_DW_MACA TINYFORGE_DW_MAC2("a0", "a1", "a2", "a3", "a0", "a1", "a2", "a3")
#define TINYFORGE_DW_MACB TINYFORGE_DW_MAC2("b0", "b1", "b2", "b3", "b0", "b1", "b2", "b3")
#define TINYFORGE_DW_LDX(OFF) "ldrd %[x02], %[x13], [%[q], #" OFF "]\n\t"
#define TINYFORGE_DW_LDF(OFF) "ldrd %[f02], %[f13], [%[fw], #" OFF "]\n\t"
/* one filter row, left to right: input columns at R0..R3 (bytes from q), taps at F0..F2 */
#define TINYFORGE_DW_ROW2(R0, R1, R2, R3, F0, F1, F2)                                             \
    TINYFORGE_DW_LDF(F0) TINYFORGE_DW_LDX(R0) TINYFORGE_DW_MACA TINYFORGE_DW_LDX(R1)               \
    TINYFORGE_DW_MACB TINYFORGE_DW_LDF(F1) TINYFORGE_DW_MACA TINYFORGE_DW_LDX(R2)                  \
    TINYFORGE_DW_MACB TINYFORGE_DW_LDF(F2) TINYFORGE_DW_MACA TINYFORGE_DW_LDX(R3) TINYFORGE_DW_MACB
/* channel J's requantisation and stores, on doubled accumulators (2 x, see dw_row_s1):
 * m = x02, 2 rnd = x13, hi = f13, out = q, the right pixel's out = b0 (set up by EXTRA in
 * channel 0, once b0 is consumed) */
#define TINYFORGE_DW_RQ2(A, B, J, EXTRA)                                                          \
    "ldrd %[x02], %[x13], [%[fw], #88+12*" #J "]\n\t"                                              \
    "smmlar %[f13], %[" A "], %[x02], %[x13]\n\t"                                                  \
    "add %[f13], %[f13], %[" A "], asr #31\n\t"                                                    \
    "smmlar %[" A "], %[" B "], %[x02], %[x13]\n\t"                                                \
    "add %[" A "], %[" A "], %[" B "], asr #31\n\t"                                                \
    "ldr %[x02], [%[fw], #96+12*" #J "]\n\t" EXTRA                                                 \
    "asr %[f13], %[f13], %[x02]\n\t"                                                               \
    "asr %[" A "], %[" A "], %[x02]\n\t"                                                           \
    "ssat %[f13], #8, %[f13]\n\t"                                                                  \
    "ssat %[" A "], #8, %[" A "]\n\t"                                                              \
    "strb %[f13], [%[q], #" #J "]\n\t"                                                             \
    "strb %[" A "], [%[b0], #" #J "]\n\t"
/* channel J of the single pixel: the same, out = q */
#define TINYFORGE_DW_RQ1(A, J)                                                                    \
    "ldrd %[x02], %[x13], [%[fw], #88+12*" #J "]\n\t"                                              \
    "smmlar %[f13], %[" A "], %[x02], %[x13]\n\t"                                                  \
    "add %[f13], %[f13], %[" A "], asr #31\n\t"                                                    \
    "ldr %[x02], [%[fw], #96+12*" #J "]\n\t"                                                       \
    "asr %[f13], %[f13], %[x02]\n\t"                                                               \
    "ssat %[f13], #8, %[f13]\n\t"                                                                  \
    "strb %[f13], [%[q], #" #J "]\n\t"
#define TINYFORGE_DW_TAP1(R, F) TINYFORGE_DW_LDF(F) TINYFORGE_DW_LDX(R) TINYFORGE_DW_MACA

static inline __attribute__((always_inline)) void dw_row_s1(const int32_t *fw, const int32_t *q,
                                                            const int32_t *ctx)
{
    int32_t a0, a1, a2, a3, b0, b1, b2, b3, f02, f13, x13;
    int32_t x02 = (int32_t)(intptr_t)ctx;
    __asm__ volatile(
        "sub sp, sp, #24\n\t"
        "ldrd %[f02], %[f13], [%[x02]]\n\t" /* out, pairs */
        "ldrd %[x13], %[x02], [%[x02], #8]\n\t" /* C, odd */
        "strd %[f02], %[f13], [sp]\n\t"
        "str %[x13], [sp, #12]\n\t"
        "str %[x02], [sp, #16]\n\t"
        "cmp %[f13], #0\n\t"
        "beq 2f\n\t"
        "1:\n\t"
        "ldrd %[a0], %[a1], [%[fw], #72]\n\t" /* the biases */
        "ldrd %[a2], %[a3], [%[fw], #80]\n\t"
        /* filter row 0, right to left: b starts from the biases; q moves on by 2 columns */
        TINYFORGE_DW_LDF("16") TINYFORGE_DW_LDX("24")
        TINYFORGE_DW_MAC2("b0", "b1", "b2", "b3", "a0", "a1", "a2", "a3")
        "ldrd %[x02], %[x13], [%[q], #16]!\n\t"
        TINYFORGE_DW_MACA TINYFORGE_DW_LDF("8") TINYFORGE_DW_MACB TINYFORGE_DW_LDX("-8")
        TINYFORGE_DW_MACA TINYFORGE_DW_LDF("0") TINYFORGE_DW_MACB TINYFORGE_DW_LDX("-16")
        TINYFORGE_DW_MACA
        /* filter rows 1 and 2 (copies at 480 and 960 bytes, less the 16 q moved on) */
        TINYFORGE_DW_ROW2("464", "472", "480", "488", "24", "32", "40")
        TINYFORGE_DW_ROW2("944", "952", "960", "968", "48", "56", "64")
        "str %[q], [sp, #8]\n\t"
        "ldr %[q], [sp]\n\t"
        TINYFORGE_DW_RQ2("a0", "b0", 0, "ldr %[b0], [sp, #12]\n\tadd %[b0], %[q], %[b0]\n\t")
        TINYFORGE_DW_RQ2("a1", "b1", 1, "")
        TINYFORGE_DW_RQ2("a2", "b2", 2, "")
        TINYFORGE_DW_RQ2("a3", "b3", 3, "")
        "ldr %[x02], [sp, #12]\n\t"
        "add %[q], %[b0], %[x02]\n\t" /* out + 2 C */
        "ldr %[x02], [sp, #4]\n\t"
        "str %[q], [sp]\n\t"
        "subs %[x02], %[x02], #1\n\t"
        "str %[x02], [sp, #4]\n\t"
        "ldr %[q], [sp, #8]\n\t"
        "bne 1b\n\t"
        "2:\n\t"
        "ldr %[x02], [sp, #16]\n\t"
        "cmp %[x02], #0\n\t"
        "beq 3f\n\t"
        /* the last pixel of an odd row, alone */
        "ldrd %[a0], %[a1], [%[fw], #72]\n\t"
        "ldrd %[a2], %[a3], [%[fw], #80]\n\t"
        TINYFORGE_DW_TAP1("0", "0") TINYFORGE_DW_TAP1("8", "8") TINYFORGE_DW_TAP1("16", "16")
        TINYFORGE_DW_TAP1("480", "24") TINYFORGE_DW_TAP1("488", "32") TINYFORGE_DW_TAP1("496", "40")
        TINYFORGE_DW_TAP1("960", "48") TINYFORGE_DW_TAP1("968", "56") TINYFORGE_DW_TAP1("976", "64")
        "ldr %[q], [sp]\n\t"
        TINYFORGE_DW_RQ1("a0", 0) TINYFORGE_DW_RQ1("a1", 1) TINYFORGE_DW_RQ1("a2", 2)
        TINYFORGE_DW_RQ1("a3", 3)
        "3:\n\t"
        "add sp, sp, #24"
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [b0] "=&r"(b0),
          [b1] "=&r"(b1), [b2] "=&r"(b2), [b3] "=&r"(b3), [f02] "=&r"(f02), [f13] "=&r"(f13),
          [x13] "=&r"(x13), [x02] "+r"(x02), [q] "+r"(q)
        : [fw] "r"(fw)
        : "cc", "memory");
    (void)a0, (void)a1, (void)a2, (void)a3, (void)b0, (void)b1, (void)b2, (void)b3;
    (void)f02, (void)f13, (void)x13, (void)x02, (void)q;
}
#undef TINYFORGE_DW_MAC2
#undef TINYFORGE_DW_MACA
#undef TINYFORGE_DW_MACB
#undef TINYFORGE_DW_LDX
#undef TINYFORGE_DW_LDF
#undef TINYFORGE_DW_ROW2
#undef TINYFORGE_DW_RQ2
#undef TINYFORGE_DW_RQ1
#undef TINYFORGE_DW_TAP1
#endif

static __attribute__((noinline)) void dw_row_fast_s1(const tinyforge_conv_s8_t *p, const dw_group_t *g,
                                                     const int32_t *w, const int32_t *q, int8_t *out, int n)
{
#if TINYFORGE_DW_ASM
    if (TINYFORGE_LIKELY(g->s1)) {
        const int32_t ctx[4] = {(int32_t)(intptr_t)out, n >> 1, p->in_c, n & 1};
        dw_row_s1(w, q, ctx);
        return;
    }
#endif
    dw_row_fast(p, g, w, q, out, n, 1);
}

static __attribute__((noinline)) void dw_row_fast_s2(const tinyforge_conv_s8_t *p, const dw_group_t *g,
                                                     const int32_t *w, const int32_t *q, int8_t *out, int n)
{
    dw_row_fast(p, g, w, q, out, n, 2);
}

/* The driver; returns 0 (nothing done) when the padded row would not fit or the stride is not
 * 1 or 2: the generic loops then run. */
static int dw3x3_s8_dsp(const tinyforge_conv_s8_t *params, const int8_t *input, const int8_t *filter,
                        const int32_t *bias_eff, int8_t *output)
{
    const tinyforge_conv_s8_t local = *params, *p = &local;
    const int C = p->in_c, out_w = p->out_w, S = p->stride_w;
    const int width = (out_w - 1) * S + 3; /* padded columns an output row reads */
    const int full = p->act_min == -128 && p->act_max == 127;
    const int32_t zp = tinyforge_sxtb16(0x01010101u * (uint8_t)(int8_t)(-p->input_offset)); /* pairs */
    const int v_first = (3 - p->pad_h % 3) % 3; /* (-pad_h) mod 3, the copy of input row y0 = -pad_h */
    /* a copied row: column i holds input column i - pad_w (the zero point outside) */
    const int lead = p->pad_w < width ? p->pad_w : width;
    const int n_in = p->in_w < width - lead ? p->in_w : width - lead;
    int32_t copies[3 * DW_ROW_WORDS];
    int b, c, oy, ox, k;
    dw_group_t g;
    int32_t acc[4];
    if (width > DW_ROW_COLUMNS || (S != 1 && S != 2)) return 0;
    for (k = 0; k < 2 * width; ++k) /* the padding columns, for good */
        copies[k] = copies[DW_ROW_WORDS + k] = copies[2 * DW_ROW_WORDS + k] = zp;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * C;
        int8_t *out_b = output + (size_t)b * p->out_h * out_w * C;
        for (c = 0; c < C; c += 4) {
            int held[3] = {INT32_MIN, INT32_MIN, INT32_MIN}; /* the input row in each copy */
            int v = v_first;                                  /* y0 mod 3 */
            dw_group_prepare(p, filter, bias_eff, c, &g);
            if (p->stride_h == 1 && TINYFORGE_LIKELY(g.s1)) {
                /* one new input row an output row: input row y goes to copy (y + pad_h + v_first)
                 * mod 3 */
                const int row_step = p->in_w * C;
                int8_t *out = out_b + c;
                int y = -p->pad_h;
                int32_t *dst = copies + v * DW_ROW_WORDS + 2 * lead;
#if TINYFORGE_DW_ASM
                int32_t ctx[4] = {0, out_w >> 1, C, out_w & 1};
#endif
                for (k = 0; k < 2; ++k, ++y) {
                    dw_copy_row(y >= 0 && y < p->in_h ? in_b + y * row_step + c : NULL, C, n_in, zp, dst);
                    dst = dst == copies + 2 * DW_ROW_WORDS + 2 * lead ? copies + 2 * lead : dst + DW_ROW_WORDS;
                }
                for (oy = 0; oy < p->out_h; ++oy, ++y, out += (size_t)out_w * C) {
                    dw_copy_row(y >= 0 && y < p->in_h ? in_b + y * row_step + c : NULL, C, n_in, zp, dst);
                    dst = dst == copies + 2 * DW_ROW_WORDS + 2 * lead ? copies + 2 * lead : dst + DW_ROW_WORDS;
#if TINYFORGE_DW_ASM
                    ctx[0] = (int32_t)(intptr_t)out;
                    dw_row_s1(&g.w[v][0], copies, ctx);
#else
                    dw_row_fast_s1(p, &g, &g.w[v][0], copies, out, out_w);
#endif
                    v = v == 2 ? 0 : v + 1;
                }
                continue;
            }
            for (oy = 0; oy < p->out_h; ++oy, v = (v + p->stride_h) % 3) {
                const int y0 = oy * p->stride_h - p->pad_h;
                const int32_t *const w = &g.w[v][0];
                const int32_t *q = copies;
                int8_t *out = out_b + (size_t)oy * out_w * C + c;
                int copy = v;
                for (k = 0; k < 3; ++k, copy = copy == 2 ? 0 : copy + 1) {
                    if (held[copy] != y0 + k) {
                        const int y = y0 + k;
                        dw_copy_row(y >= 0 && y < p->in_h ? in_b + (size_t)y * p->in_w * C + c : NULL, C,
                                    n_in, zp, copies + copy * DW_ROW_WORDS + 2 * lead);
                        held[copy] = y0 + k;
                    }
                }
                if (TINYFORGE_LIKELY(g.fold && full)) {
                    (S == 1 ? dw_row_fast_s1 : dw_row_fast_s2)(p, &g, w, q, out, out_w);
                } else {
                    for (ox = 0; ox < out_w; ++ox, out += C) {
                        dw3x3_pixel(&g, w, &q, S, acc);
                        dw_store(p, &g, c, acc, full, out);
                    }
                }
            }
        }
    }
    return 1;
}
#undef TINYFORGE_DW_MAC
#undef TINYFORGE_DW_TAP_ASM
#endif

/* Depthwise conv, depth multiplier 1, four channels per step. Taps outside the image read a
 * row of input zero points (`scratch`, in_c bytes), which the folded bias makes exact. The
 * filter is grouped by four channels (lower.group_channels): [in_c / 4 rounded up][taps][4], so
 * one group's taps are contiguous. */
TINYFORGE_NO_PRESCHED
void tinyforge_depthwise_conv2d_s8_opt(const tinyforge_conv_s8_t *params, const int8_t *input,
                                       const int8_t *filter, const int32_t *bias_eff, int8_t *output,
                                       int8_t *scratch)
{
    const tinyforge_conv_s8_t local = *params, *p = &local;
    const int C = p->in_c;
    const int taps = p->f_h * p->f_w;
    const int8_t *rows[64];
    int tap_offset[64];
    int b, oy, ox, c, fy, fx, t;
#if TINYFORGE_MVE || TINYFORGE_DSP
    const int fast3x3 = p->f_h == 3 && p->f_w == 3 && p->dil_h == 1 && p->dil_w == 1 && (C & 3) == 0;
#endif
#if TINYFORGE_MVE
    const int row_step = p->in_w * C;
#endif
    memset(scratch, (int8_t)(-p->input_offset), (size_t)C);
#ifdef TINYFORGE_SIMD_PATHS
    if (tinyforge_depthwise_conv2d_s8_simd(p, input, filter, bias_eff, output, scratch)) return;
#endif
#if TINYFORGE_DSP && !TINYFORGE_MVE
    if (fast3x3 && dw3x3_s8_dsp(p, input, filter, bias_eff, output)) return;
#endif
    for (fy = 0, t = 0; fy < p->f_h; ++fy)
        for (fx = 0; fx < p->f_w; ++fx) tap_offset[t++] = (fy * p->dil_h * p->in_w + fx * p->dil_w) * C;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * C;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int in_y0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int in_x0 = ox * p->stride_w - p->pad_w;
                int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * C;
                if (in_y0 >= 0 && in_y0 + (p->f_h - 1) * p->dil_h < p->in_h && in_x0 >= 0 &&
                    in_x0 + (p->f_w - 1) * p->dil_w < p->in_w) {
                    const int8_t *base = in_b + (in_y0 * p->in_w + in_x0) * C;
#if TINYFORGE_MVE
                    if (fast3x3) { /* no tap pointers to build */
                        dw3x3_pixel_mve(p, base, base + row_step, base + 2 * row_step, filter, bias_eff, out);
                        continue;
                    }
#endif
                    for (t = 0; t < taps; ++t) rows[t] = base + tap_offset[t];
                } else {
                    t = 0;
                    for (fy = 0; fy < p->f_h; ++fy) {
                        const int in_y = in_y0 + p->dil_h * fy;
                        for (fx = 0; fx < p->f_w; ++fx) {
                            const int in_x = in_x0 + p->dil_w * fx;
                            rows[t++] = (in_y < 0 || in_y >= p->in_h || in_x < 0 || in_x >= p->in_w)
                                            ? scratch : in_b + (in_y * p->in_w + in_x) * C;
                        }
                    }
                }
                c = 0;
#if TINYFORGE_MVE
                /* four channels per vector: widening byte loads, 32-bit lane products */
                for (; c + 4 <= C; c += 4) {
                    int32x4_t acc = vldrwq_s32(bias_eff + c);
                    const int8_t *f = filter + c * taps;
                    for (t = 0; t < taps; ++t, f += 4) {
                        acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(rows[t] + c), vldrbq_s32(f)));
                    }
                    acc = requant_mve(acc, vldrwq_s32(p->multiplier + c), vldrwq_s32(p->shift + c),
                                      p->output_offset, p->act_min, p->act_max);
                    vstrbq_s32(out + c, acc);
                }
#endif
#if TINYFORGE_DSP
                for (; c + 4 <= C; c += 4) {
                    int32_t a0 = bias_eff[c], a1 = bias_eff[c + 1], a2 = bias_eff[c + 2], a3 = bias_eff[c + 3];
                    const int8_t *f = filter + c * taps;
#define TINYFORGE_DW_TAP(T, F)                                                                   \
    do {                                                                                  \
        const uint32_t wx = tinyforge_load4(rows[T] + c);                                        \
        const uint32_t wf = tinyforge_load4(F);                                                  \
        const int32_t x02 = tinyforge_sxtb16(wx), x13 = tinyforge_sxtb16_ror8(wx);                      \
        const int32_t f02 = tinyforge_sxtb16(wf), f13 = tinyforge_sxtb16_ror8(wf);                      \
        a0 = tinyforge_smlabb(x02, f02, a0);                                                     \
        a2 = tinyforge_smlatt(x02, f02, a2);                                                     \
        a1 = tinyforge_smlabb(x13, f13, a1);                                                     \
        a3 = tinyforge_smlatt(x13, f13, a3);                                                     \
    } while (0)
                    if (taps == 9) { /* 3x3: the common case, unrolled */
                        TINYFORGE_DW_TAP(0, f);
                        TINYFORGE_DW_TAP(1, f + 4);
                        TINYFORGE_DW_TAP(2, f + 8);
                        TINYFORGE_DW_TAP(3, f + 12);
                        TINYFORGE_DW_TAP(4, f + 16);
                        TINYFORGE_DW_TAP(5, f + 20);
                        TINYFORGE_DW_TAP(6, f + 24);
                        TINYFORGE_DW_TAP(7, f + 28);
                        TINYFORGE_DW_TAP(8, f + 32);
                    } else {
                        for (t = 0; t < taps; ++t, f += 4) TINYFORGE_DW_TAP(t, f);
                    }
#undef TINYFORGE_DW_TAP
                    out[c] = requant(a0, p->multiplier[c], p->shift[c], p);
                    out[c + 1] = requant(a1, p->multiplier[c + 1], p->shift[c + 1], p);
                    out[c + 2] = requant(a2, p->multiplier[c + 2], p->shift[c + 2], p);
                    out[c + 3] = requant(a3, p->multiplier[c + 3], p->shift[c + 3], p);
                }
#endif
                for (; c < C; ++c) { /* weights of channel c: group c & ~3, lane c & 3 */
                    const int8_t *f = filter + (c & ~3) * taps + (c & 3);
                    int32_t acc = bias_eff[c];
                    for (t = 0; t < taps; ++t) acc += (int32_t)f[4 * t] * rows[t][c];
                    out[c] = requant(acc, p->multiplier[c], p->shift[c], p);
                }
            }
        }
    }
}

/* An ADD input's rescaling: mbqm_opt, and for shift 0 (the input with the larger scale, its
 * multiplier often 2^30) tinyforge_mbqm_fast without its rounding division by 2^0. */
static inline int32_t add_rescale(int32_t x, int32_t multiplier, int32_t shift)
{
    if (TINYFORGE_LIKELY(shift <= -2)) return mbqm_right2(x, multiplier, shift);
    if (shift == 0) return (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << 30)) >> 31);
    return tinyforge_mbqm_fast(x, multiplier, shift);
}

#if TINYFORGE_DSP && !TINYFORGE_MVE
/* ADD through two lookup tables: each input's rescaled value, mbqm((x + offset) << left_shift),
 * depends on its int8 value only, so both are tabulated once (2 x 256 int32 on the stack) and
 * each element costs two byte loads, two table loads and the output rescaling: exact. */
static void add_s8_tables(const tinyforge_binary_s8_t *p, int size, const int8_t *in1,
                          const int8_t *in2, int8_t *output)
{
    int32_t t1[256], t2[256];
    const int32_t *const c1 = t1 + 128, *const c2 = t2 + 128; /* indexed by the input byte */
    const int32_t mo = p->output_multiplier, so = p->output_shift, off = p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    int v, i;
    for (v = -128; v < 128; ++v) {
        t1[v + 128] = add_rescale((int32_t)((uint32_t)(p->input1_offset + v) << p->left_shift),
                                  p->input1_multiplier, p->input1_shift);
        t2[v + 128] = add_rescale((int32_t)((uint32_t)(p->input2_offset + v) << p->left_shift),
                                  p->input2_multiplier, p->input2_shift);
    }
    if (so <= -2) { /* the usual case: the one-multiply rescaling */
        const int s = ~so - 1;
        if (lo == -128 && hi == 127) {
            for (i = 0; i < size; ++i) output[i] = requant_r2(c1[in1[i]] + c2[in2[i]], mo, s, off, lo, hi, 1);
        } else {
            for (i = 0; i < size; ++i) output[i] = requant_r2(c1[in1[i]] + c2[in2[i]], mo, s, off, lo, hi, 0);
        }
        return;
    }
    for (i = 0; i < size; ++i) {
        const int32_t raw = tinyforge_mbqm_fast(c1[in1[i]] + c2[in2[i]], mo, so) + off;
        output[i] = (int8_t)tinyforge_clamp_i32(raw, lo, hi);
    }
}
#endif

/* ADD of two int8 tensors of the same shape (no broadcasting): TFLM's arithmetic per element,
 * with the fast multiply (all ADD multipliers are non-negative). */
void tinyforge_add_s8_opt(const tinyforge_binary_s8_t *params, int size, const int8_t *in1,
                          const int8_t *in2, int8_t *output)
{
    const tinyforge_binary_s8_t p = *params;
    int i = 0;
#ifdef TINYFORGE_SIMD_PATHS
    if (tinyforge_add_s8_simd(&p, size, in1, in2, output)) return;
#endif
#if TINYFORGE_MVE
    { /* four elements per step; the last step's lanes past `size` are predicated off */
        const int32x4_t m1 = vdupq_n_s32(p.input1_multiplier), s1 = vdupq_n_s32(p.input1_shift);
        const int32x4_t m2 = vdupq_n_s32(p.input2_multiplier), s2 = vdupq_n_s32(p.input2_shift);
        const int32x4_t mo = vdupq_n_s32(p.output_multiplier), so = vdupq_n_s32(p.output_shift);
        const int32x4_t ls = vdupq_n_s32(p.left_shift);
        for (; i < size; i += 4) {
            const mve_pred16_t pr = vctp32q((uint32_t)(size - i));
            const int32x4_t a = vshlq_s32(vaddq_n_s32(vldrbq_z_s32(in1 + i, pr), p.input1_offset), ls);
            const int32x4_t b = vshlq_s32(vaddq_n_s32(vldrbq_z_s32(in2 + i, pr), p.input2_offset), ls);
            const int32x4_t sum = vaddq_s32(mbqm_mve(a, m1, s1), mbqm_mve(b, m2, s2));
            const int32x4_t out = vaddq_n_s32(mbqm_mve(sum, mo, so), p.output_offset);
            vstrbq_p_s32(output + i, vminq_s32(vmaxq_s32(out, vdupq_n_s32(p.act_min)), vdupq_n_s32(p.act_max)), pr);
        }
    }
#endif
#if TINYFORGE_DSP && !TINYFORGE_MVE
    if (size >= 512) { /* the tables cost 512 rescalings; 64 KiB stacks on these machines */
        add_s8_tables(&p, size, in1, in2, output);
        return;
    }
#endif
    for (; i < size; ++i) {
        const int32_t a = (int32_t)((uint32_t)(p.input1_offset + in1[i]) << p.left_shift);
        const int32_t b = (int32_t)((uint32_t)(p.input2_offset + in2[i]) << p.left_shift);
        const int32_t sum = add_rescale(a, p.input1_multiplier, p.input1_shift) +
                            add_rescale(b, p.input2_multiplier, p.input2_shift);
        const int32_t raw = mbqm_opt(sum, p.output_multiplier, p.output_shift) + p.output_offset;
        output[i] = (int8_t)tinyforge_clamp_i32(raw, p.act_min, p.act_max);
    }
}

#if TINYFORGE_DSP && !TINYFORGE_MVE
/* acc + the sign-extended bytes 0 and 2 of x, as two int16 lanes (SXTAB16); _ror8: bytes 1 and 3. */
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
static inline int32_t pool_sxtab16(int32_t acc, uint32_t x)
{
    __asm__("sxtab16 %0, %0, %1" : "+r"(acc) : "r"(x));
    return acc;
}
static inline int32_t pool_sxtab16_ror8(int32_t acc, uint32_t x)
{
    __asm__("sxtab16 %0, %0, %1, ror #8" : "+r"(acc) : "r"(x));
    return acc;
}
#else
static int32_t pool_sxtab16(int32_t acc, uint32_t x)
{
    const uint32_t e = (uint32_t)tinyforge_sxtb16(x);
    const uint32_t lo = ((uint32_t)acc + e) & 0xffffu, hi = (((uint32_t)acc >> 16) + (e >> 16)) & 0xffffu;
    return (int32_t)(lo | (hi << 16));
}
static int32_t pool_sxtab16_ror8(int32_t acc, uint32_t x) { return pool_sxtab16(acc, (x >> 8) | (x << 24)); }
#endif

/* The int16 lane `hi` (0 or 1) of a pair, sign-extended. */
static inline int32_t pool_lane(int32_t pair, int hi)
{
    return hi ? (int32_t)((uint32_t)pair >> 16 ^ 0x8000u) - 0x8000 : (int32_t)((uint32_t)pair << 16) >> 16;
}
#endif

/* AVERAGE_POOL_2D with the reference rounding, channels innermost-contiguous walks. */
void tinyforge_avg_pool_s8_opt(const tinyforge_pool_s8_t *params, const int8_t *input, int8_t *output)
{
    const tinyforge_pool_s8_t p = *params;
    const int C = p.channels;
    int b, oy, ox, c, y, x;
    for (b = 0; b < p.batches; ++b) {
        for (oy = 0; oy < p.out_h; ++oy) {
            const int in_y0 = oy * p.stride_h - p.pad_h;
            const int y0 = in_y0 < 0 ? 0 : in_y0;
            const int y1 = (in_y0 + p.f_h < p.in_h) ? in_y0 + p.f_h : p.in_h;
            for (ox = 0; ox < p.out_w; ++ox) {
                const int in_x0 = ox * p.stride_w - p.pad_w;
                const int x0 = in_x0 < 0 ? 0 : in_x0;
                const int x1 = (in_x0 + p.f_w < p.in_w) ? in_x0 + p.f_w : p.in_w;
                const int count = (y1 - y0) * (x1 - x0);
                int8_t *out = output + ((b * p.out_h + oy) * p.out_w + ox) * C;
                c = 0;
#if TINYFORGE_DSP && !TINYFORGE_MVE
                if (count <= 256) { /* |sum| <= 256 * 128: four channels in two int16 pairs (SXTAB16) */
                    for (; c + 4 <= C; c += 4) {
                        int32_t s02 = 0, s13 = 0, acc[4];
                        int j;
                        for (y = y0; y < y1; ++y) {
                            const int8_t *row = input + (((b * p.in_h) + y) * p.in_w + x0) * C + c;
                            for (x = x0; x < x1; ++x, row += C) {
                                const uint32_t w = tinyforge_load4(row);
                                s02 = pool_sxtab16(s02, w);
                                s13 = pool_sxtab16_ror8(s13, w);
                            }
                        }
                        acc[0] = pool_lane(s02, 0), acc[1] = pool_lane(s13, 0);
                        acc[2] = pool_lane(s02, 1), acc[3] = pool_lane(s13, 1);
                        for (j = 0; j < 4; ++j) {
                            int32_t a = acc[j];
                            if (count > 0) a = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
                            out[c + j] = (int8_t)tinyforge_clamp_i32(a, p.act_min, p.act_max);
                        }
                    }
                }
#endif
#if TINYFORGE_MVE
                if (count <= 256) { /* |sum| <= 256 * 128: eight channels per int16 vector */
                    for (; c + 8 <= C; c += 8) {
                        int16x8_t sum = vdupq_n_s16(0);
                        int16_t acc[8];
                        int j;
                        for (y = y0; y < y1; ++y) {
                            const int8_t *row = input + (((b * p.in_h) + y) * p.in_w + x0) * C + c;
                            for (x = x0; x < x1; ++x, row += C) sum = vaddq_s16(sum, vldrbq_s16(row));
                        }
                        vst1q_s16(acc, sum);
                        for (j = 0; j < 8; ++j) {
                            int32_t a = acc[j];
                            if (count > 0) a = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
                            out[c + j] = (int8_t)tinyforge_clamp_i32(a, p.act_min, p.act_max);
                        }
                    }
                }
                for (; c + 4 <= C; c += 4) { /* four channels per vector, divided lane by lane */
                    int32x4_t sum = vdupq_n_s32(0);
                    int32_t acc[4];
                    int j;
                    for (y = y0; y < y1; ++y) {
                        const int8_t *row = input + (((b * p.in_h) + y) * p.in_w + x0) * C + c;
                        for (x = x0; x < x1; ++x, row += C) sum = vaddq_s32(sum, vldrbq_s32(row));
                    }
                    vst1q_s32(acc, sum);
                    for (j = 0; j < 4; ++j) {
                        int32_t a = acc[j];
                        if (count > 0) a = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
                        out[c + j] = (int8_t)tinyforge_clamp_i32(a, p.act_min, p.act_max);
                    }
                }
#endif
                for (; c < C; ++c) {
                    int32_t acc = 0;
                    for (y = y0; y < y1; ++y) {
                        const int8_t *row = input + (((b * p.in_h) + y) * p.in_w + x0) * C + c;
                        for (x = x0; x < x1; ++x, row += C) acc += *row;
                    }
                    if (count > 0) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    out[c] = (int8_t)tinyforge_clamp_i32(acc, p.act_min, p.act_max);
                }
            }
        }
    }
}
