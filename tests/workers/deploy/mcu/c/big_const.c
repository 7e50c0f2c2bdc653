/* A constant table larger than the micro:bit's 256 KB flash: linking must fail clearly. */
#include <stdint.h>

const uint8_t table[300 * 1024] = {1};

volatile unsigned index_ = 12345;

int main(void)
{
    return table[index_];
}
