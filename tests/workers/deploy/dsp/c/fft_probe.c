/*
 * FFT probe: reads uint32 n, n float32 twiddles, n/2 uint16 bit-reversal entries (the tables
 * the builder generates), then signals of n float32 until end of input; writes the n/2 + 1
 * interleaved (re, im) bins of tinyforge_dsp_rfft for each.
 */
#include <stdint.h>
#include <stdio.h>

#include "tinyforge_dsp.h"

#define MAX_N 4096u

static float twiddle[MAX_N];
static uint16_t bitrev[MAX_N / 2u];
static float buf[MAX_N + 2u];

int main(void)
{
    uint32_t n = 0;
    if (fread(&n, sizeof n, 1, stdin) != 1 || n < 4u || n > MAX_N || (n & (n - 1u)) != 0u) {
        fprintf(stderr, "bad length\n");
        return 2;
    }
    if (fread(twiddle, sizeof(float), n, stdin) != n ||
        fread(bitrev, sizeof(uint16_t), n / 2u, stdin) != n / 2u) {
        fprintf(stderr, "short tables\n");
        return 2;
    }
    const tinyforge_dsp_rfft_t plan = {n, twiddle, bitrev};
    while (fread(buf, sizeof(float), n, stdin) == n) {
        tinyforge_dsp_rfft(&plan, buf);
        fwrite(buf, sizeof(float), n + 2u, stdout);
    }
    return 0;
}
