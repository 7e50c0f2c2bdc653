/* Executes an undefined instruction: the start-up code's fault handler must report it. */
#include "tinyforge_semihost.h"

int main(void)
{
    tinyforge_semihost_puts("about to trap\n");
    __builtin_trap();
}
