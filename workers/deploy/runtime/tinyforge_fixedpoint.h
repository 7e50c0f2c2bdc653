/* Fixed-point helpers with exactly TensorFlow Lite's (gemmlowp's) integer semantics.
 * Hand-written runtime of the Tinyforge compiler; copied into every generated library. */
#ifndef TINYFORGE_FIXEDPOINT_H
#define TINYFORGE_FIXEDPOINT_H

#include <stdint.h>

/* Wrapping add/sub (gemmlowp's Add/Sub on int32 raw values), without signed overflow UB. */
static inline int32_t tinyforge_fp_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t tinyforge_fp_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static inline int32_t tinyforge_srdhm(int32_t a, int32_t b)
{
    const int overflow = (a == b) && (a == INT32_MIN);
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    const int32_t high = (int32_t)((ab + nudge) / ((int64_t)1 << 31));
    return overflow ? INT32_MAX : high;
}

/* gemmlowp RoundingDivideByPOT: round half away from zero. */
static inline int32_t tinyforge_rdbypot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT for a run-time exponent. */
static inline int32_t tinyforge_srmbpot(int32_t x, int exponent)
{
    if (exponent > 0) {
        const int32_t threshold = (int32_t)((((int64_t)1) << (31 - exponent)) - 1);
        if (x > threshold) return INT32_MAX;
        if (x < -threshold) return INT32_MIN;
        return (int32_t)((uint32_t)x << exponent);
    }
    if (exponent < 0) return tinyforge_rdbypot(x, -exponent);
    return x;
}

/* TFLite MultiplyByQuantizedMultiplier (double rounding variant, TFLM's default). */
static inline int32_t tinyforge_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left_shift = shift > 0 ? (int)shift : 0;
    const int right_shift = shift > 0 ? 0 : (int)-shift;
    return tinyforge_rdbypot(tinyforge_srdhm((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}

/* tinyforge_mbqm for multipliers >= 0 (all the compiler makes), in fewer instructions:
 * SaturatingRoundingDoublingHighMul cannot saturate then, and its round-half-away
 * nudge-and-truncate equals (a * b + 2^30) >> 31 with an arithmetic (flooring) shift. */
static inline int32_t tinyforge_mbqm_fast(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left_shift = shift > 0 ? (int)shift : 0;
    const int right_shift = shift > 0 ? 0 : (int)-shift;
    const int64_t ab = (int64_t)(int32_t)((uint32_t)x << left_shift) * multiplier + ((int64_t)1 << 30);
    const int32_t high = (int32_t)(ab >> 31);
    return tinyforge_rdbypot(high, right_shift);
}

/* exp(x) for x in [-1/4, 0), Q0.31 in and out. */
static inline int32_t tinyforge_exp_quarter(int32_t a)
{
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = tinyforge_fp_add(a, 1 << 28);
    const int32_t x2 = tinyforge_srdhm(x, x);
    const int32_t x3 = tinyforge_srdhm(x2, x);
    const int32_t x4 = tinyforge_srdhm(x2, x2);
    const int32_t x4_over_4 = tinyforge_srmbpot(x4, -2);
    const int32_t poly = tinyforge_srmbpot(
        tinyforge_fp_add(tinyforge_srdhm(tinyforge_fp_add(x4_over_4, x3), constant_1_over_3), x2), -1);
    return tinyforge_fp_add(constant_term, tinyforge_srdhm(constant_term, tinyforge_fp_add(x, poly)));
}

/* gemmlowp exp_on_negative_values: input with `integer_bits` integer bits, result Q0.31. */
static inline int32_t tinyforge_exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535, 720401, 242};
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = tinyforge_fp_sub(a & mask, one_quarter);
    int32_t result = tinyforge_exp_quarter(tinyforge_srmbpot(a_mod_quarter_minus_one_quarter, integer_bits));
    const int32_t remainder = tinyforge_fp_sub(a_mod_quarter_minus_one_quarter, a);
    int exponent;
    for (exponent = -2; exponent <= 4; ++exponent) {
        if (integer_bits > exponent) {
            const int shift = fractional_bits + exponent;
            if (remainder & (int32_t)((uint32_t)1 << shift)) {
                result = tinyforge_srdhm(result, multipliers[exponent + 2]);
            }
        }
    }
    if (integer_bits > 5) {
        const int32_t clamp = -((int32_t)1 << (36 - integer_bits));
        if (a < clamp) result = 0;
    }
    if (a == 0) result = INT32_MAX;
    return result;
}

/* Newton-Raphson iterations shared by 1/(1+x) and (1-x)/(1+x); returns Q2.29. */
static inline int32_t tinyforge_nr_reciprocal(int32_t half_denominator)
{
    const int32_t constant_48_over_17 = 1515870810;
    const int32_t constant_neg_32_over_17 = -1010580540;
    int32_t x = tinyforge_fp_add(constant_48_over_17, tinyforge_srdhm(half_denominator, constant_neg_32_over_17));
    int i;
    for (i = 0; i < 3; i++) {
        const int32_t half_denominator_times_x = tinyforge_srdhm(half_denominator, x);
        const int32_t one_minus = tinyforge_fp_sub((int32_t)1 << 29, half_denominator_times_x);
        x = tinyforge_fp_add(x, tinyforge_srmbpot(tinyforge_srdhm(x, one_minus), 2));
    }
    return x;
}

static inline int32_t tinyforge_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* 1 / (1 + x) for x in (0, 1), Q0.31. */
static inline int32_t tinyforge_one_over_one_plus_x(int32_t a)
{
    const int32_t x = tinyforge_nr_reciprocal(tinyforge_rounding_half_sum(a, INT32_MAX));
    return tinyforge_srmbpot(x, 1);
}

/* (1 - x) / (1 + x) for x in (0, 1), Q0.31. */
static inline int32_t tinyforge_one_minus_x_over_one_plus_x(int32_t a)
{
    const int32_t x = tinyforge_nr_reciprocal(tinyforge_rounding_half_sum(a, INT32_MAX));
    return tinyforge_srmbpot(tinyforge_fp_sub(x, (int32_t)1 << 29), 2);
}

/* gemmlowp logistic(): input with `integer_bits` integer bits, result Q0.31. */
static inline int32_t tinyforge_logistic_q(int32_t a, int integer_bits)
{
    int32_t abs_input, pos;
    if (a == 0) return (int32_t)1 << 30;
    abs_input = a > 0 ? a : tinyforge_fp_sub(0, a);
    pos = tinyforge_one_over_one_plus_x(tinyforge_exp_on_negative_values(tinyforge_fp_sub(0, abs_input), integer_bits));
    return a > 0 ? pos : tinyforge_fp_sub(INT32_MAX, pos);
}

/* gemmlowp tanh(): input with `integer_bits` integer bits, result Q0.31. */
static inline int32_t tinyforge_tanh_q(int32_t a, int integer_bits)
{
    int32_t n, t;
    if (a == 0) return 0;
    n = a < 0 ? a : tinyforge_fp_sub(0, a);
    t = tinyforge_one_minus_x_over_one_plus_x(tinyforge_exp_on_negative_values(n, integer_bits + 1));
    return a < 0 ? tinyforge_fp_sub(0, t) : t;
}

static inline int tinyforge_clz32(uint32_t x)
{
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) { x <<= 1; ++n; }
    return n;
}

static inline int32_t tinyforge_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* TINYFORGE_FIXEDPOINT_H */
