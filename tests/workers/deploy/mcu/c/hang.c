/* Never finishes: the runner's timeout must stop it. */
#include "tf_semihost.h"

int main(void)
{
    tf_sh_puts("hanging\n");
    for (;;) {
        __asm__ volatile("nop");
    }
}
