/* Never finishes: the runner's timeout must stop it. */
#include "tinyforge_semihost.h"

int main(void)
{
    tinyforge_semihost_puts("hanging\n");
    for (;;) {
        __asm__ volatile("nop");
    }
}
