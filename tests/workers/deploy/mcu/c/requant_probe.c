/* Helium requantisation (requant_mve, mbqm_mve) against the scalar reference tinyforge_mbqm
 * (TFLM's MultiplyByQuantizedMultiplier, double rounding) on edge cases and pseudo-random
 * values. Exit code: 0 when every lane agrees, 1 on a mismatch (printed), 2 without Helium. */
#include <stdint.h>

#include "runtime/tinyforge_kernels_s8_opt.c"
#include "tinyforge_semihost.h"

#if !TINYFORGE_MVE
int main(void) { return 2; }
#else
static uint32_t state = 2463534242u;
static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static int check(const int32_t acc[4], const int32_t mult[4], const int32_t shift[4], int32_t off,
                 int32_t lo, int32_t hi)
{
    int32_t got[4], raw[4];
    int j, bad = 0;
    vst1q_s32(got, requant_mve(vld1q_s32(acc), vld1q_s32(mult), vld1q_s32(shift), off, lo, hi));
    vst1q_s32(raw, mbqm_mve(vld1q_s32(acc), vld1q_s32(mult), vld1q_s32(shift)));
    for (j = 0; j < 4; ++j) {
        const int32_t m = tinyforge_mbqm(acc[j], mult[j], shift[j]);
        const int32_t want = tinyforge_clamp_i32(m + off, lo, hi);
        if (got[j] != want || raw[j] != m) {
            tinyforge_semihost_puts("mismatch acc ");
            tinyforge_semihost_put_i32(acc[j]);
            tinyforge_semihost_puts(" mult ");
            tinyforge_semihost_put_i32(mult[j]);
            tinyforge_semihost_puts(" shift ");
            tinyforge_semihost_put_i32(shift[j]);
            tinyforge_semihost_puts(" got ");
            tinyforge_semihost_put_i32(raw[j]);
            tinyforge_semihost_puts(" want ");
            tinyforge_semihost_put_i32(m);
            tinyforge_semihost_puts("\n");
            bad = 1;
        }
    }
    return bad;
}

int main(void)
{
    static const int32_t edges[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 1 << 20, -(1 << 20),
                                    0x3fffffff, -0x40000000, INT32_MAX, INT32_MIN, INT32_MIN + 1};
    static const int32_t mults[] = {1 << 30, 0x40000001, 0x7fffffff, 1518500250, 1073741824,
                                    2147483647, 1686629713, 1};
    const int n_edges = (int)(sizeof edges / sizeof edges[0]);
    const int n_mults = (int)(sizeof mults / sizeof mults[0]);
    int bad = 0, i, j, s;
    /* every edge accumulator with every multiplier, shifts -31..+3 (ties and saturation) */
    for (i = 0; i < n_edges; ++i) {
        for (j = 0; j < n_mults; ++j) {
            for (s = -31; s <= 3; s += 4) {
                const int32_t acc[4] = {edges[i], -edges[i], edges[(i + 1) % n_edges], edges[i] >> 1};
                const int32_t mult[4] = {mults[j], mults[j], mults[(j + 1) % n_mults], mults[j]};
                const int32_t shift[4] = {s, s + 1, s + 2, s + 3 > 3 ? 0 : s + 3};
                bad |= check(acc, mult, shift, 0, INT32_MIN, INT32_MAX);
            }
        }
    }
    /* exact ties of the rounding right shift: acc * mult = (2q + 1) * 2^(30 + n) */
    for (s = 1; s <= 12; ++s) {
        const int32_t t = (int32_t)(3u << (s - 1));
        const int32_t acc[4] = {t, -t, t + 1, -t - 1};
        const int32_t mult[4] = {1 << 30, 1 << 30, 1 << 30, 1 << 30};
        const int32_t shift[4] = {-s + 1, -s + 1, -s + 1, -s + 1};
        bad |= check(acc, mult, shift, 0, INT32_MIN, INT32_MAX);
    }
    /* pseudo-random accumulators, multipliers as the compiler makes them ([2^30, 2^31)), conv
     * shifts, offsets and int8 clamps */
    for (i = 0; i < 20000; ++i) {
        int32_t acc[4], mult[4], shift[4];
        for (j = 0; j < 4; ++j) {
            acc[j] = (int32_t)next() >> (next() % 24);
            mult[j] = (int32_t)(0x40000000u | (next() >> 2));
            shift[j] = (int32_t)(next() % 16) - 12;
        }
        bad |= check(acc, mult, shift, (int32_t)(next() % 256) - 128, -128, 127);
    }
    return bad;
}
#endif
