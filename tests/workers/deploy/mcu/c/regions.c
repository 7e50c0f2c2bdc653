/*
 * Three SEV-delimited regions of known, different work (LOOPS, 2*LOOPS and 0 iterations of
 * a loop the compiler cannot remove), for the instruction counter tests.
 */
#include <stdint.h>

#include "tinyforge_semihost.h"
#include "tinyforge_startup.h"

volatile uint32_t sink;

__attribute__((noinline)) static void work(uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        sink = sink + i;
    }
}

int main(void)
{
    TINYFORGE_MARK();
    work(LOOPS);
    TINYFORGE_MARK();
    TINYFORGE_MARK();
    work(2 * LOOPS);
    TINYFORGE_MARK();
    TINYFORGE_MARK();
    TINYFORGE_MARK();
    tinyforge_semihost_puts("done\n");
    return 0;
}
