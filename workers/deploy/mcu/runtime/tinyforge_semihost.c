/*
 * Arm semihosting over BKPT 0xAB (M profile). See the Arm "Semihosting for AArch32 and
 * AArch64" specification: operation number in r0, pointer to a parameter block in r1,
 * result in r0.
 */
#include "tinyforge_semihost.h"

#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20

#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023

static int tinyforge_semihost_call(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static int tinyforge_semihost_stdout = -1;

void tinyforge_semihost_write(const void *data, size_t len)
{
    if (tinyforge_semihost_stdout < 0) {
        /* ":tt" opened for writing ("w" is mode 4) is the host console's stdout. */
        uint32_t open_args[3] = {(uint32_t)(uintptr_t) ":tt", 4u, 3u};
        tinyforge_semihost_stdout = tinyforge_semihost_call(SYS_OPEN, open_args);
    }
    while (len > 0) {
        uint32_t args[3] = {(uint32_t) tinyforge_semihost_stdout, (uint32_t)(uintptr_t) data, (uint32_t) len};
        int not_written = tinyforge_semihost_call(SYS_WRITE, args);
        if (not_written < 0 || (size_t) not_written >= len) {
            return; /* the host refused; nothing sensible left to do */
        }
        data = (const uint8_t *) data + (len - (size_t) not_written);
        len = (size_t) not_written;
    }
}

void tinyforge_semihost_puts(const char *text)
{
    size_t len = 0;
    while (text[len] != '\0') {
        len++;
    }
    tinyforge_semihost_write(text, len);
}

void tinyforge_semihost_put_u32(uint32_t value)
{
    char digits[10];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n] = (char) ('0' + value % 10u);
        value /= 10u;
        n++;
    } while (value != 0u);
    tinyforge_semihost_write(&digits[sizeof digits - n], n);
}

void tinyforge_semihost_put_i32(int32_t value)
{
    if (value < 0) {
        tinyforge_semihost_write("-", 1);
        tinyforge_semihost_put_u32(0u - (uint32_t) value);
    } else {
        tinyforge_semihost_put_u32((uint32_t) value);
    }
}

static const char tinyforge_hex_digits[] = "0123456789abcdef";

void tinyforge_semihost_put_hex32(uint32_t value)
{
    char text[8];
    for (int i = 7; i >= 0; i--) {
        text[i] = tinyforge_hex_digits[value & 0xfu];
        value >>= 4;
    }
    tinyforge_semihost_write(text, sizeof text);
}

void tinyforge_semihost_put_hex_bytes(const void *data, size_t len)
{
    char chunk[128];
    size_t used = 0;
    const uint8_t *bytes = (const uint8_t *) data;
    for (size_t i = 0; i < len; i++) {
        chunk[used++] = tinyforge_hex_digits[bytes[i] >> 4];
        chunk[used++] = tinyforge_hex_digits[bytes[i] & 0xfu];
        if (used == sizeof chunk) {
            tinyforge_semihost_write(chunk, used);
            used = 0;
        }
    }
    if (used > 0) {
        tinyforge_semihost_write(chunk, used);
    }
}

void tinyforge_semihost_exit(int code)
{
    /* SYS_EXIT_EXTENDED carries the exit code on AArch32; QEMU exits with it. */
    uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t) code};
    tinyforge_semihost_call(SYS_EXIT_EXTENDED, args);
    /* A host without the extension: plain SYS_EXIT (AArch32 passes the reason in r1). */
    tinyforge_semihost_call(SYS_EXIT, (void *) (uintptr_t) (code == 0 ? ADP_STOPPED_APPLICATION_EXIT
                                                          : ADP_STOPPED_RUNTIME_ERROR_UNKNOWN));
    for (;;) {
        __asm__ volatile("wfi");
    }
}
