/*
 * Three SEV-delimited regions of known, different work (LOOPS, 2*LOOPS and 0 iterations of
 * a loop the compiler cannot remove), for the instruction counter tests.
 */
#include <stdint.h>

#include "tf_semihost.h"
#include "tf_startup.h"

volatile uint32_t sink;

__attribute__((noinline)) static void work(uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        sink = sink + i;
    }
}

int main(void)
{
    TF_MARK();
    work(LOOPS);
    TF_MARK();
    TF_MARK();
    work(2 * LOOPS);
    TF_MARK();
    TF_MARK();
    TF_MARK();
    tf_sh_puts("done\n");
    return 0;
}
