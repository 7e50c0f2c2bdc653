/* Bench harness (bench/infer_linux.py): times tinyforge_model_invoke in process.
 * Usage: time_invoke <input file> <inferences per round> <rounds>; prints the best round's thread CPU
 * nanoseconds per inference and the output bytes of the last inference in hex. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tinyforge_model.h"

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: load elsewhere does not count */
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    static unsigned char input[TINYFORGE_INPUT_BYTES];
    static unsigned char output[TINYFORGE_OUTPUT_BYTES];
    double best = 1e300;
    int n, rounds, r, i;
    FILE *f;
    if (argc != 4) return 2;
    f = fopen(argv[1], "rb");
    if (f == NULL || fread(input, 1, sizeof input, f) != sizeof input) return 2;
    fclose(f);
    n = atoi(argv[2]);
    rounds = atoi(argv[3]);
    for (i = 0; i < 3; ++i) tinyforge_model_invoke(input, output); /* warm caches */
    for (r = 0; r < rounds; ++r) {
        const double t0 = now_ns();
        for (i = 0; i < n; ++i) tinyforge_model_invoke(input, output);
        const double t = (now_ns() - t0) / n;
        if (t < best) best = t;
    }
    printf("%.1f\n", best);
    for (i = 0; i < (int)sizeof output; ++i) printf("%02x", output[i]);
    printf("\n");
    return 0;
}
