/*
 * Arm semihosting for the Tinyforge Cortex-M verification runtime (QEMU, debug probes).
 *
 * Only what the harness needs: write bytes to the host's stdout and leave with an exit code.
 */
#ifndef TINYFORGE_SEMIHOST_H
#define TINYFORGE_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

/* Write `len` bytes to the host's stdout (the console ":tt"). */
void tinyforge_semihost_write(const void *data, size_t len);
/* Write a NUL-terminated string. */
void tinyforge_semihost_puts(const char *text);
/* Write an unsigned decimal number. */
void tinyforge_semihost_put_u32(uint32_t value);
/* Write a signed decimal number. */
void tinyforge_semihost_put_i32(int32_t value);
/* Write `value` as 8 hexadecimal digits. */
void tinyforge_semihost_put_hex32(uint32_t value);
/* Write `len` bytes as lowercase hexadecimal, two digits per byte, no separators. */
void tinyforge_semihost_put_hex_bytes(const void *data, size_t len);
/* Stop the machine; the emulator exits with `code` (0-255 on a POSIX host). */
void tinyforge_semihost_exit(int code) __attribute__((noreturn));

#endif /* TINYFORGE_SEMIHOST_H */
