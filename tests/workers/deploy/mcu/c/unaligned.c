/* A 32-bit load from an odd address: faults on ARMv6-M, allowed on ARMv7-M. */
#include <stdint.h>

#include "tinyforge_semihost.h"

static uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
volatile uint32_t offset = 1;

int main(void)
{
    const volatile uint32_t *word = (const volatile uint32_t *) (void *) &bytes[offset];
    uint32_t value = *word;
    tinyforge_semihost_puts("loaded\n");
    return value == 0x05040302u ? 0 : 1;
}
