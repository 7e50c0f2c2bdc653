/* Executes an undefined instruction: the start-up code's fault handler must report it. */
#include "tf_semihost.h"

int main(void)
{
    tf_sh_puts("about to trap\n");
    __builtin_trap();
}
