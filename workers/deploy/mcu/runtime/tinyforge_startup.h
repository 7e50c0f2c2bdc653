/* Tinyforge Cortex-M verification runtime: what the start-up code offers to programs. */
#ifndef TINYFORGE_STARTUP_H
#define TINYFORGE_STARTUP_H

#include <stdint.h>

/* Exit code of a run stopped by a fault (HardFault, BusFault, ...). */
#define TINYFORGE_FAULT_EXIT_CODE 254

/* Deepest stack use so far, measured against the paint laid down at reset. */
uint32_t tinyforge_stack_used_bytes(void);
/* Bytes reserved for the stack by the linker script. */
uint32_t tinyforge_stack_size_bytes(void);

/* Marks the start and the end of a measured region (counted by the insn_count plugin). */
#define TINYFORGE_MARK() __asm__ volatile("sev" ::: "memory")

#endif /* TINYFORGE_STARTUP_H */
