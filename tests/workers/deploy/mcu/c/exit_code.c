/* Returns EXIT_CODE from main: the run's exit code must be exactly that. */
#include "tf_semihost.h"

int main(void)
{
    tf_sh_puts("exiting\n");
    return EXIT_CODE;
}
