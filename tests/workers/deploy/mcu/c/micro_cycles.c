/*
 * Micro-programs whose cycle counts the Arm TRMs state, one SEV-delimited region each, for the
 * cycle model tests (tests/workers/deploy/profile/test_cycles.py). A region a core cannot run
 * (no DSP, no divider, no FPU, no Helium) is left empty and counts 0.
 *
 *  0: 64 x SMLAD                       6: 16 x (CMP; BEQ) taken
 *  1: 32 x LDR                         7: 16 x SDIV
 *  2: 16 x (LDR; STR)                  8: 8 x (PUSH {r4-r7}; POP {r4-r7})
 *  3: 32 x STR                         9: 16 x VADD.F32
 *  4: 16 x B (taken)                  10: 16 x VMLA.F32
 *  5: 16 x (CMP; BNE) not taken       11: 4 x VDIV.F32
 *                                     12: 16 x (VLDRW.U32; VMLADAVA.S8) (Helium)
 *                                     13: 16 x VMLADAVA.S8 (Helium)
 */
#include <stdint.h>

#include "tinyforge_semihost.h"
#include "tinyforge_startup.h"

static uint32_t buf[16] __attribute__((aligned(16)));

#define EMPTY() __asm__ volatile("sev\n\tsev" ::: "memory")

int main(void)
{
    uint32_t *p = buf;
#if defined(__ARM_FEATURE_DSP)
    __asm__ volatile("sev\n\t.rept 64\n\tsmlad r0, r1, r2, r0\n\t.endr\n\tsev" ::: "r0", "memory");
#else
    EMPTY();
#endif
    __asm__ volatile("mov r4, %0\n\tsev\n\t.rept 32\n\tldr r3, [r4]\n\t.endr\n\tsev"
                     :
                     : "r"(p)
                     : "r3", "r4", "memory");
    __asm__ volatile("mov r4, %0\n\tsev\n\t.rept 16\n\tldr r3, [r4]\n\tstr r3, [r4, #4]\n\t.endr\n\t"
                     "sev"
                     :
                     : "r"(p)
                     : "r3", "r4", "memory");
    __asm__ volatile("mov r4, %0\n\tsev\n\t.rept 32\n\tstr r3, [r4]\n\t.endr\n\tsev"
                     :
                     : "r"(p)
                     : "r3", "r4", "memory");
    __asm__ volatile("sev\n\t.rept 16\n\tb 1f\n\tnop\n1:\n\t.endr\n\tsev" ::: "memory");
    __asm__ volatile("sev\n\t.rept 16\n\tcmp r0, r0\n\tbne 1f\n\tnop\n1:\n\t.endr\n\tsev" ::: "cc", "memory");
    __asm__ volatile("sev\n\t.rept 16\n\tcmp r0, r0\n\tbeq 1f\n\tnop\n1:\n\t.endr\n\tsev" ::: "cc", "memory");
#if defined(__ARM_FEATURE_IDIV)
    __asm__ volatile("movs r1, #100\n\tmovs r2, #7\n\tsev\n\t.rept 16\n\tsdiv r0, r1, r2\n\t.endr\n\t"
                     "sev" ::: "r0", "r1", "r2", "memory");
#else
    EMPTY();
#endif
    __asm__ volatile("sev\n\t.rept 8\n\tpush {r4-r7}\n\tpop {r4-r7}\n\t.endr\n\tsev" ::: "memory");
#if defined(__ARM_FP)
    __asm__ volatile("sev\n\t.rept 16\n\tvadd.f32 s0, s1, s2\n\t.endr\n\tsev" ::: "s0", "memory");
    __asm__ volatile("sev\n\t.rept 16\n\tvmla.f32 s0, s1, s2\n\t.endr\n\tsev" ::: "s0", "memory");
    __asm__ volatile("vmov.f32 s1, #1.0\n\tvmov.f32 s2, #3.0\n\tsev\n\t.rept 4\n\t"
                     "vdiv.f32 s0, s1, s2\n\t.endr\n\tsev" ::: "s0", "s1", "s2", "memory");
#else
    EMPTY();
    EMPTY();
    EMPTY();
#endif
#if defined(__ARM_FEATURE_MVE)
    __asm__ volatile("mov r4, %0\n\tsev\n\t.rept 16\n\tvldrw.u32 q0, [r4]\n\t"
                     "vmladava.s8 r0, q0, q1\n\t.endr\n\tsev"
                     :
                     : "r"(p)
                     : "r0", "r4", "q0", "memory");
    __asm__ volatile("sev\n\t.rept 16\n\tvmladava.s8 r0, q0, q1\n\t.endr\n\tsev" ::: "r0", "memory");
#else
    EMPTY();
    EMPTY();
#endif
    tinyforge_semihost_puts("done\n");
    return 0;
}
