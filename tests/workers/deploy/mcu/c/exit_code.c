/* Returns EXIT_CODE from main: the run's exit code must be exactly that. */
#include "tinyforge_semihost.h"

int main(void)
{
    tinyforge_semihost_puts("exiting\n");
    return EXIT_CODE;
}
