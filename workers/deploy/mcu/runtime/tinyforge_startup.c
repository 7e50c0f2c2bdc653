/*
 * Bare-metal start-up for the Tinyforge Cortex-M verification runtime.
 *
 * The vector table names only the core exceptions (no device interrupts are enabled).
 * Reset enables the FPU (and Helium on the M55) through CPACR before any floating-point
 * or vector instruction can run, makes unaligned accesses trap in ARMv6-M builds, copies .data from its load image, zeroes .bss, paints the
 * stack so its high-water mark can be measured, runs main() and hands its return value to
 * the host as the exit code. Any fault is reported over semihosting and ends the run with
 * TINYFORGE_FAULT_EXIT_CODE.
 */
#include <stdint.h>

#include "tinyforge_semihost.h"
#include "tinyforge_startup.h"

/* Symbols defined by the linker script. */
extern uint32_t __data_load[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_limit[];
extern uint32_t __stack_top[];

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void tinyforge_fault_entry(void);

#define TINYFORGE_STACK_PAINT 0x5afe57acu

__attribute__((used, section(".vectors"))) void (*const tinyforge_vectors[16])(void) = {
    (void (*)(void)) (uintptr_t) __stack_top, /* initial main stack pointer */
    Reset_Handler,
    tinyforge_fault_entry, /* NMI */
    tinyforge_fault_entry, /* HardFault */
    tinyforge_fault_entry, /* MemManage */
    tinyforge_fault_entry, /* BusFault */
    tinyforge_fault_entry, /* UsageFault */
    tinyforge_fault_entry, /* SecureFault (ARMv8-M) */
    0,
    0,
    0,
    tinyforge_fault_entry, /* SVCall */
    tinyforge_fault_entry, /* DebugMonitor */
    0,
    tinyforge_fault_entry, /* PendSV */
    tinyforge_fault_entry, /* SysTick */
};

__attribute__((noinline)) static void tinyforge_crt_init(void)
{
    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0u;
    }
    /* Paint the stack below the current frame (with a margin for this function). */
    uint32_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (volatile uint32_t *p = __stack_limit; (uint32_t)(uintptr_t) p < sp - 64u; p++) {
        *p = TINYFORGE_STACK_PAINT;
    }
}

uint32_t tinyforge_stack_used_bytes(void)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == TINYFORGE_STACK_PAINT) {
        p++;
    }
    return (uint32_t) ((uintptr_t) __stack_top - (uintptr_t) p);
}

uint32_t tinyforge_stack_size_bytes(void)
{
    return (uint32_t) ((uintptr_t) __stack_top - (uintptr_t) __stack_limit);
}

void Reset_Handler(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CPACR: full access to CP10 and CP11 (the FPU and, on ARMv8.1-M, Helium). */
    volatile uint32_t *cpacr = (volatile uint32_t *) 0xE000ED88u;
    *cpacr |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
#if defined(__ARM_ARCH_6M__)
    /* CCR.UNALIGN_TRP: on an ARMv6-M core it is read-as-one; set it so that ARMv6-M code
     * verified on an ARMv7-M machine faults on unaligned accesses as it would on its core. */
    *(volatile uint32_t *) 0xE000ED14u |= (1u << 3);
#endif
    tinyforge_crt_init();
    tinyforge_semihost_exit(main());
}

/* Called from tinyforge_fault_entry with the main stack pointer at the time of the fault. */
__attribute__((used, noreturn)) static void tinyforge_fault_report(const uint32_t *frame)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    tinyforge_semihost_puts("\ntinyforge: fault: exception ");
    tinyforge_semihost_put_u32(ipsr & 0x1ffu);
    tinyforge_semihost_puts(" pc=0x");
    tinyforge_semihost_put_hex32(frame[6]);
    tinyforge_semihost_puts(" lr=0x");
    tinyforge_semihost_put_hex32(frame[5]);
#if defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
    tinyforge_semihost_puts(" cfsr=0x");
    tinyforge_semihost_put_hex32(*(volatile uint32_t *) 0xE000ED28u);
    tinyforge_semihost_puts(" hfsr=0x");
    tinyforge_semihost_put_hex32(*(volatile uint32_t *) 0xE000ED2Cu);
#endif
    tinyforge_semihost_puts("\n");
    tinyforge_semihost_exit(TINYFORGE_FAULT_EXIT_CODE);
}

__attribute__((naked)) void tinyforge_fault_entry(void)
{
    __asm__ volatile(
        "mrs r0, msp\n\t"
        "ldr r1, =tinyforge_fault_report\n\t"
        "bx r1\n\t"
        ".ltorg");
}
