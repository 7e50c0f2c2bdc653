/*
 * One float operation per SEV region, as the anomaly scorer (package/runtime/tinyforge_classifier.c,
 * anomaly_score) uses them: add, multiply, fused multiply-add (c + a * b), divide, sqrtf, expf,
 * logf. On a core without FPU each is a libgcc/libm call, on the others an FPU instruction or a
 * libm call. Measured by workers/deploy/profile/anomaly.py (measure_float_ops) to fill its table.
 *
 *  0: a + b    1: a * b    2: c + a * b    3: a / b    4: sqrtf(a)    5: expf(a)    6: logf(a)
 *  7: empty (the cost of the barriers alone, subtracted)
 */
#include <math.h>

#include "tinyforge_semihost.h"
#include "tinyforge_startup.h"

static volatile float va = 1.2345f, vb = 0.98765f, vc = 0.3f, vr;

#if defined(__ARM_FP)
#define KEEP(x) __asm__ volatile("" : "+t"(x))
#else
#define KEEP(x) __asm__ volatile("" : "+r"(x))
#endif
#define SEV() __asm__ volatile("sev" ::: "memory")
#define REGION(expr)                                                                                  \
    do {                                                                                              \
        float a = va, b = vb, c = vc, r;                                                              \
        KEEP(a);                                                                                      \
        KEEP(b);                                                                                      \
        KEEP(c);                                                                                      \
        SEV();                                                                                        \
        KEEP(a);                                                                                      \
        KEEP(b);                                                                                      \
        KEEP(c);                                                                                      \
        r = (expr);                                                                                   \
        KEEP(r);                                                                                      \
        SEV();                                                                                        \
        vr = r;                                                                                       \
        (void)a;                                                                                      \
        (void)b;                                                                                      \
        (void)c;                                                                                      \
    } while (0)

int main(void)
{
    REGION(a + b);
    REGION(a * b);
    REGION(c + a * b);
    REGION(a / b);
    REGION(sqrtf(a));
    REGION(expf(-a));
    REGION(logf(a));
    REGION(a);
    tinyforge_semihost_puts("TINYFORGE DONE\n");
    return 0;
}
