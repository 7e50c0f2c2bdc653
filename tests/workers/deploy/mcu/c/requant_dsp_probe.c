/* The scalar fast requantisation of the optimised kernels (mbqm_opt: mbqm_right2 for right
 * shifts >= 2, SMLAL in inline assembly on DSP cores; requant_r2 with the SSAT clamp) against
 * the reference tinyforge_mbqm (TFLM's MultiplyByQuantizedMultiplier) for the non-negative
 * multipliers the compiler makes: ties, extremes, pseudo-random values.
 * Exit code 0 when all agree, 1 on a mismatch (printed). Runs on a host too (C path). */
#include <stdint.h>

#include "runtime/tinyforge_kernels_s8_opt.c"
#include "tinyforge_semihost.h"

static uint32_t state = 2463534242u;
static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static int check(int32_t acc, int32_t mult, int32_t shift, int32_t off, int32_t lo, int32_t hi)
{
    const int32_t want = tinyforge_mbqm(acc, mult, shift);
    const int32_t got = mbqm_opt(acc, mult, shift);
    int bad = got != want;
    if (shift <= -2) {
        const int32_t q = tinyforge_clamp_i32(want + off, lo, hi);
        const int full = lo == -128 && hi == 127;
        bad |= requant_r2(acc, mult, ~shift - 1, off, lo, hi, full) != (int8_t)q;
    }
    if (bad) {
        tinyforge_semihost_puts("mismatch acc ");
        tinyforge_semihost_put_i32(acc);
        tinyforge_semihost_puts(" mult ");
        tinyforge_semihost_put_i32(mult);
        tinyforge_semihost_puts(" shift ");
        tinyforge_semihost_put_i32(shift);
        tinyforge_semihost_puts(" got ");
        tinyforge_semihost_put_i32(got);
        tinyforge_semihost_puts(" want ");
        tinyforge_semihost_put_i32(want);
        tinyforge_semihost_puts("\n");
    }
    return bad;
}

int main(void)
{
    static const int32_t edges[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 1 << 20, -(1 << 20),
                                    0x3fffffff, -0x40000000, INT32_MAX, INT32_MIN, INT32_MIN + 1};
    static const int32_t mults[] = {1 << 30, 0x40000001, 0x7fffffff, 1518500250, 1686629713, 1, 0};
    const int n_edges = (int)(sizeof edges / sizeof edges[0]);
    const int n_mults = (int)(sizeof mults / sizeof mults[0]);
    int bad = 0, i, j, s;
    for (i = 0; i < n_edges; ++i)
        for (j = 0; j < n_mults; ++j)
            for (s = -31; s <= 3; ++s) {
                bad |= check(edges[i], mults[j], s, 0, INT32_MIN, INT32_MAX);
                bad |= check(edges[i], mults[j], s, -128, -128, 127);
            }
    /* exact ties of the rounding right shift: acc * 2^30 = (2q + 1) * 2^(30 + s - 1) */
    for (s = 1; s <= 20; ++s) {
        const int32_t t = (int32_t)(3u << (s - 1));
        bad |= check(t, 1 << 30, -s, 0, INT32_MIN, INT32_MAX);
        bad |= check(-t, 1 << 30, -s, 0, INT32_MIN, INT32_MAX);
        bad |= check(t + 1, 1 << 30, -s, 0, INT32_MIN, INT32_MAX);
        bad |= check(-t - 1, 1 << 30, -s, 0, INT32_MIN, INT32_MAX);
    }
    /* pseudo-random: multipliers in [2^30, 2^31) and below, shifts -31..+2, int8 clamps */
    for (i = 0; i < 50000; ++i) {
        const int32_t acc = (int32_t)next() >> (next() % 31);
        const int32_t mult =
            (i & 7) ? (int32_t)(0x40000000u | (next() >> 2)) : (int32_t)(next() >> 1);
        const int32_t shift = (int32_t)(next() % 34) - 31;
        const int32_t off = (int32_t)(next() % 256) - 128;
        bad |= check(acc, mult, shift, off, -128, 127);
        bad |= check(acc, mult, shift, off, off, 127);
    }
    return bad;
}
