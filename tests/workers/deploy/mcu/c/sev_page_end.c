/*
 * A SEV marker in the second-to-last halfword of a 1 KB page (QEMU's M-profile page): QEMU 7.2
 * hands the plugin the 16-bit instruction there as 4 bytes. Two regions: the NOPs up to the
 * page end, then exactly one NOP.
 */
#include "tinyforge_semihost.h"
#include "tinyforge_startup.h"

int main(void)
{
    __asm__ volatile("sev\n\t.p2align 10\n\t.rept 510\n\tnop\n\t.endr\n\tsev\n\tsev\n\tnop\n\tsev" ::: "memory");
    tinyforge_semihost_puts("done\n");
    return 0;
}
