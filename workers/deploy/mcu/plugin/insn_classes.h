/*
 * Thumb / Thumb-2 instruction classes for the cycle model (workers/deploy/profile/cycles.py).
 *
 * classify() reads one instruction's bytes (little-endian halfwords, as QEMU hands them to a
 * plugin) and returns its class; the cycle tables price each class per core. The classes follow
 * the rows of the Arm TRMs' instruction timing tables (see docs/profile.md): a table that gives
 * one cost to a group of instructions gets one class. Auxiliary counters (AUX_*) carry what a
 * class alone cannot: registers moved by LDM/STM/PUSH/POP and VLDM/VSTM, loads and stores that
 * pipeline behind the previous one, taken branches, MVE instructions that overlap the previous
 * one, pairs a dual-issue core may issue together.
 *
 * Decoding is by encoding group (ARMv7-M / ARMv8.1-M Architecture Reference Manuals, "Thumb
 * instruction set encoding"); the class of an undefined or unusual encoding is ALU (1 cycle).
 */
#ifndef TINYFORGE_INSN_CLASSES_H
#define TINYFORGE_INSN_CLASSES_H

#include <stddef.h>
#include <stdint.h>

#define TF_CLASSES(X)                                                                            \
    X(ALU, "alu")                     /* data processing, moves, extends, IT, hints */          \
    X(ALU_PC, "alu_pc")               /* MOV/ADD with PC as destination (a branch) */           \
    X(LOAD, "load")                   /* LDR/LDRB/LDRH/LDRS*, literal, LDREX */                \
    X(STORE, "store")                 /* STR/STRB/STRH immediate offset, STREX */              \
    X(STORE_REG, "store_reg")         /* STR/STRB/STRH register offset */                      \
    X(LOAD_PC, "load_pc")             /* LDR PC, [...] (a branch) */                           \
    X(LDRD, "ldrd")                   /* LDRD/STRD */                                          \
    X(LDM, "ldm")                     /* LDM/STM/PUSH/POP without PC */                        \
    X(POP_PC, "pop_pc")               /* POP/LDM with PC in the list (a branch) */             \
    X(MUL, "mul")                     /* MUL/MULS */                                           \
    X(MAC, "mac")                     /* MLA/MLS */                                            \
    X(MUL_LONG, "mul_long")           /* SMULL/UMULL */                                        \
    X(MAC_LONG, "mac_long")           /* SMLAL/UMLAL/UMAAL */                                  \
    X(DSP_MAC, "dsp_mac")             /* SMLAD/SMUAD/SMLA<xy>/SMUL<xy>/SMLAW/SMMLA/USADA8 */   \
    X(DSP_MAC_LONG, "dsp_mac_long")   /* SMLALD/SMLSLD/SMLAL<xy> */                            \
    X(DIV, "div")                     /* SDIV/UDIV */                                          \
    X(B_COND, "b_cond")               /* B<cond> */                                            \
    X(B, "b")                         /* B */                                                  \
    X(BL, "bl")                       /* BL */                                                 \
    X(BX, "bx")                       /* BX/BLX register */                                    \
    X(CBZ, "cbz")                     /* CBZ/CBNZ */                                           \
    X(TBB, "tbb")                     /* TBB/TBH */                                            \
    X(LOB, "lob")                     /* ARMv8.1-M low-overhead branches: WLS/DLS/LE */        \
    X(SYS, "sys")                     /* MSR/MRS/barriers/CPS/SVC/BKPT/UDF */                  \
    X(FP_ALU, "fp_alu")               /* VADD/VSUB/VMUL/VABS/VNEG/VCMP/VCVT/VMOV, single */    \
    X(FP_MAC, "fp_mac")               /* VMLA/VMLS/VNMLA/VNMLS/VFMA/VFMS/VFNMA/VFNMS, single */\
    X(FP_DIV, "fp_div")               /* VDIV/VSQRT, single */                                 \
    X(FP64_ALU, "fp64_alu")           /* the same, double precision */                         \
    X(FP64_MAC, "fp64_mac")                                                                      \
    X(FP64_DIV, "fp64_div")                                                                      \
    X(FP_LOAD, "fp_load")             /* VLDR */                                               \
    X(FP_STORE, "fp_store")           /* VSTR */                                               \
    X(FP_LDM, "fp_ldm")               /* VLDM/VSTM/VPUSH/VPOP */                               \
    X(FP_MOV, "fp_mov")               /* VMOV core<->FP, VMRS, VMSR */                         \
    X(MVE_MEM, "mve_mem")             /* Helium loads and stores (VLDR*, VSTR*, VLD2x/VLD4x) */\
    X(MVE_OP, "mve_op")               /* other Helium instructions: 4 beats each */

#define TF_AUX(X)                                                                                \
    X(AUX_LDM_REGS, "ldm_regs")       /* registers moved by LDM/STM/PUSH/POP (incl. PC) */     \
    X(AUX_FP_LDM_WORDS, "fp_ldm_words") /* words moved by VLDM/VSTM/VPUSH/VPOP */              \
    X(AUX_LS_PIPELINED, "ls_pipelined") /* LDR/STR right after an LDR or STR-immediate */      \
    X(AUX_MVE_OVERLAP, "mve_overlap") /* MVE insn after an MVE insn of the other kind */       \
    X(AUX_DUAL_PAIRS, "dual_pairs")   /* adjacent pairs a dual-issue core may issue together */\
    X(AUX_TAKEN_B_COND, "b_cond_taken")                                                         \
    X(AUX_TAKEN_CBZ, "cbz_taken")                                                               \
    X(AUX_TAKEN_LOB, "lob_taken")                                                               \
    X(AUX_TAKEN_OTHER, "other_taken") /* a conditional BX/POP/LDR PC/... in an IT block */     \
    X(AUX_NOT_TAKEN_OTHER, "other_not_taken")

#define TF_ENUM(name, text) TF_##name,
enum tf_class { TF_CLASSES(TF_ENUM) TF_N_CLASSES };
enum tf_aux { TF_AUX_FIRST = TF_N_CLASSES - 1, TF_AUX(TF_ENUM) TF_N_COUNTERS };
#undef TF_ENUM

#define TF_NAME(name, text) text,
static const char *const tf_counter_names[TF_N_COUNTERS] = {TF_CLASSES(TF_NAME) TF_AUX(TF_NAME)};
#undef TF_NAME

/* What one decoded instruction contributes. */
struct tf_insn {
    int cls;
    uint32_t regs;  /* LDM/POP: registers moved; FP_LDM: words moved */
};

static inline int tf_popcount(uint32_t x)
{
    return __builtin_popcount(x);
}

static inline int tf_is_branch(int cls)
{
    return cls == TF_ALU_PC || cls == TF_LOAD_PC || cls == TF_POP_PC || cls == TF_B_COND ||
           cls == TF_B || cls == TF_BL || cls == TF_BX || cls == TF_CBZ || cls == TF_TBB ||
           cls == TF_LOB;
}

static inline int tf_is_mve(int cls)
{
    return cls == TF_MVE_MEM || cls == TF_MVE_OP;
}

/* Single loads/stores after which the next single load/store pipelines (M3/M4 TRM 3.3.2). */
static inline int tf_pipelines_next(int cls)
{
    return cls == TF_LOAD || cls == TF_STORE;
}

static inline int tf_is_single_ls(int cls)
{
    return cls == TF_LOAD || cls == TF_STORE || cls == TF_STORE_REG;
}

/* Instructions a dual-issue core (Cortex-M7) can pair with a neighbour. */
static inline int tf_dual_kind(int cls)
{
    switch (cls) {
    case TF_ALU:
        return 1; /* pairs with anything pairable */
    case TF_LOAD:
    case TF_STORE:
    case TF_STORE_REG:
    case TF_FP_LOAD:
    case TF_FP_STORE:
        return 2; /* memory: pairs with ALU/MAC/FP, not with another store */
    case TF_MUL:
    case TF_MAC:
    case TF_MUL_LONG:
    case TF_MAC_LONG:
    case TF_DSP_MAC:
    case TF_DSP_MAC_LONG:
        return 3; /* one MAC pipe */
    case TF_FP_ALU:
    case TF_FP_MAC:
        return 4; /* one FP pipe */
    case TF_B_COND:
    case TF_B:
    case TF_CBZ:
        return 5; /* branch: pairs with an ALU before it */
    default:
        return 0;
    }
}

static inline int tf_can_pair(int a, int b)
{
    int ka = tf_dual_kind(a), kb = tf_dual_kind(b);
    if (ka == 0 || kb == 0) {
        return 0;
    }
    if (ka == 5) {
        return 0; /* nothing issues after a branch in the same cycle */
    }
    if (kb == 5) {
        return ka == 1;
    }
    if (ka == kb) {
        return ka == 1; /* two ALU ops; not two loads, MACs or FP ops */
    }
    return 1;
}

static inline struct tf_insn tf_classify16(uint16_t hw)
{
    struct tf_insn r = {TF_ALU, 0};
    if ((hw >> 14) == 0x0) {
        return r; /* shift, add, subtract, move, compare (immediate) */
    }
    if ((hw >> 10) == 0x10) {
        r.cls = (((hw >> 6) & 0xF) == 0xD) ? TF_MUL : TF_ALU;
        return r;
    }
    if ((hw >> 10) == 0x11) { /* special data processing, branch and exchange */
        unsigned op = (hw >> 8) & 3;
        unsigned rd = (((hw >> 7) & 1u) << 3) | (hw & 7u);
        if (op == 3) {
            r.cls = TF_BX;
        } else if (op != 1 && rd == 15) {
            r.cls = TF_ALU_PC;
        }
        return r;
    }
    if ((hw >> 11) == 0x09) {
        r.cls = TF_LOAD; /* LDR literal */
        return r;
    }
    if ((hw >> 12) == 0x5) { /* register offset */
        r.cls = (((hw >> 9) & 7) <= 2) ? TF_STORE_REG : TF_LOAD;
        return r;
    }
    if ((hw >> 13) == 0x3 || (hw >> 12) == 0x8 || (hw >> 12) == 0x9) {
        r.cls = ((hw >> 11) & 1) ? TF_LOAD : TF_STORE;
        return r;
    }
    if ((hw >> 12) == 0xA) {
        return r; /* ADR, ADD SP */
    }
    if ((hw >> 12) == 0xB) { /* miscellaneous */
        if ((hw & 0x0F00) == 0x0F00) {
            return r; /* IT, hints */
        }
        if ((hw & 0x0E00) == 0x0400) {
            r.cls = TF_LDM; /* PUSH */
            r.regs = (uint32_t) tf_popcount(hw & 0xFFu) + ((hw >> 8) & 1u);
            return r;
        }
        if ((hw & 0x0E00) == 0x0C00) {
            r.regs = (uint32_t) tf_popcount(hw & 0xFFu) + ((hw >> 8) & 1u);
            r.cls = ((hw >> 8) & 1) ? TF_POP_PC : TF_LDM;
            return r;
        }
        if ((hw & 0x0500) == 0x0100) {
            r.cls = TF_CBZ;
            return r;
        }
        if ((hw & 0x0F00) == 0x0E00 || (hw & 0x0FE0) == 0x0660) {
            r.cls = TF_SYS; /* BKPT, CPS */
        }
        return r;
    }
    if ((hw >> 12) == 0xC) {
        r.cls = TF_LDM;
        r.regs = (uint32_t) tf_popcount(hw & 0xFFu);
        return r;
    }
    if ((hw >> 12) == 0xD) {
        unsigned cond = (hw >> 8) & 0xF;
        r.cls = (cond >= 0xE) ? TF_SYS : TF_B_COND; /* UDF, SVC */
        return r;
    }
    if ((hw >> 11) == 0x1C) {
        r.cls = TF_B;
    }
    return r;
}

/* Coprocessor / floating point / Helium space: hw1 = 111x 11xx xxxx xxxx. */
static inline struct tf_insn tf_classify_cp(uint16_t hw1, uint16_t hw2)
{
    struct tf_insn r = {TF_ALU, 0};
    int fp = ((hw2 >> 9) & 7) == 5; /* coprocessor 10/11: the FPU */
    int dbl = (hw2 >> 8) & 1;
    if (!fp) {
        /* Helium: loads/stores live in the coprocessor load/store space (111x 110x) */
        r.cls = (hw1 & 0x0E00) == 0x0C00 ? TF_MVE_MEM : TF_MVE_OP;
        return r;
    }
    if ((hw1 & 0xFE00) == 0xEC00) { /* extension register load/store, 64-bit transfers */
        if ((hw1 & 0xFFE0) == 0xEC40) {
            r.cls = TF_FP_MOV; /* VMOV two core registers <-> D / two S */
            return r;
        }
        if ((hw1 & 0xFF20) == 0xED00) {
            r.cls = ((hw1 >> 4) & 1) ? TF_FP_LOAD : TF_FP_STORE;
            return r;
        }
        r.cls = TF_FP_LDM;
        r.regs = hw2 & 0xFFu;
        return r;
    }
    if ((hw1 & 0xEF00) == 0xEE00) {
        if (hw2 & 0x10) {
            r.cls = TF_FP_MOV; /* VMOV core <-> S, VMRS, VMSR */
            return r;
        }
        unsigned key = (((hw1 >> 7) & 1u) << 2) | (((hw1 >> 5) & 1u) << 1) | ((hw1 >> 4) & 1u);
        int cls;
        if (hw1 & 0x1000) {
            cls = TF_FP_ALU; /* v8 VSEL/VMAXNM/VRINT/VCVTA... */
        } else if (key == 0 || key == 1 || key == 5 || key == 6) {
            cls = TF_FP_MAC;
        } else if (key == 4 || (key == 7 && (hw1 & 0xF) == 1 && ((hw2 >> 6) & 3) == 3)) {
            cls = TF_FP_DIV; /* VDIV, VSQRT */
        } else {
            cls = TF_FP_ALU;
        }
        if (dbl) {
            cls = cls == TF_FP_MAC ? TF_FP64_MAC : cls == TF_FP_DIV ? TF_FP64_DIV : TF_FP64_ALU;
        }
        r.cls = cls;
    }
    return r;
}

static inline struct tf_insn tf_classify32(uint16_t hw1, uint16_t hw2)
{
    struct tf_insn r = {TF_ALU, 0};
    unsigned op1 = (hw1 >> 11) & 3; /* 01, 10, 11 */
    if (op1 == 1) {
        if ((hw1 & 0x0600) == 0x0000 && (hw1 & 0x0040) == 0) { /* load/store multiple */
            r.regs = (uint32_t) tf_popcount(hw2);
            r.cls = (((hw1 >> 4) & 1) && (hw2 & 0x8000)) ? TF_POP_PC : TF_LDM;
            return r;
        }
        if ((hw1 & 0x0600) == 0x0000) { /* dual, exclusive, table branch */
            if ((hw1 & 0xFFF0) == 0xE8D0 && (hw2 & 0xFFE0) == 0xF000) {
                r.cls = TF_TBB;
            } else if ((hw1 & 0x0180) == 0 && (hw1 & 0x0020) == 0) {
                r.cls = ((hw1 >> 4) & 1) ? TF_LOAD : TF_STORE; /* LDREX/STREX */
            } else if ((hw1 & 0x0180) == 0x0080 && ((hw2 >> 4) & 0xC) == 0x4) {
                r.cls = ((hw1 >> 4) & 1) ? TF_LOAD : TF_STORE; /* LDREXB/H, STREXB/H */
            } else {
                r.cls = TF_LDRD;
            }
            return r;
        }
        if ((hw1 & 0x0600) == 0x0200) {
            return r; /* data processing (shifted register) */
        }
        return tf_classify_cp(hw1, hw2);
    }
    if (op1 == 2) {
        if ((hw2 & 0x8000) == 0) {
            return r; /* data processing (immediate) */
        }
        unsigned op = (hw2 >> 12) & 5; /* bits 14 and 12 */
        if (op == 5) {
            r.cls = TF_BL;
        } else if (op == 1) {
            r.cls = TF_B;
        } else if (op == 4) {
            /* v8.1-M: WLS/LE branch (hw2 110x); DLS, VCTP only set registers */
            r.cls = (hw2 & 0xE000) == 0xC000 ? TF_LOB : TF_ALU;
        } else if (((hw1 >> 7) & 7) != 7) {
            r.cls = TF_B_COND;
        } else if ((hw1 & 0xFFF0) != 0xF3A0) {
            r.cls = TF_SYS; /* MSR, MRS, barriers; F3AF: hints (NOP.W, SEV.W) stay ALU */
        }
        return r;
    }
    /* op1 == 3 */
    if (hw1 & 0x0400) {
        return tf_classify_cp(hw1, hw2);
    }
    if ((hw1 & 0x0600) == 0x0000) { /* single loads and stores: 1111 100x */
        if ((hw1 & 0x0010) == 0) {
            int reg_offset = (hw1 & 0x0080) == 0 && (hw2 & 0x0FC0) == 0;
            r.cls = reg_offset ? TF_STORE_REG : TF_STORE;
        } else {
            int word = ((hw1 >> 5) & 3) == 2;
            r.cls = (word && (hw2 >> 12) == 15) ? TF_LOAD_PC : TF_LOAD;
        }
        return r;
    }
    if ((hw1 & 0x0F00) == 0x0A00) {
        return r; /* data processing (register), parallel add/sub, SXTB16, QADD, CLZ */
    }
    if ((hw1 & 0x0F80) == 0x0B00) { /* multiply, multiply-accumulate */
        unsigned op = (hw1 >> 4) & 7;
        unsigned ra = (hw2 >> 12) & 0xF;
        if (op == 0) {
            r.cls = ((hw2 >> 4) & 3) == 0 && ra == 15 ? TF_MUL : TF_MAC;
        } else {
            r.cls = TF_DSP_MAC;
        }
        return r;
    }
    if ((hw1 & 0x0F80) == 0x0B80) { /* long multiply, long MAC, divide */
        unsigned op = (hw1 >> 4) & 7;
        unsigned op2 = (hw2 >> 4) & 0xF;
        if (op2 == 0xF) {
            r.cls = TF_DIV;
        } else if (op == 0 || op == 2) {
            r.cls = TF_MUL_LONG;
        } else if ((op == 4 || op == 6) && (op2 == 0 || op2 == 6)) {
            r.cls = TF_MAC_LONG;
        } else {
            r.cls = TF_DSP_MAC_LONG;
        }
        return r;
    }
    return r;
}

static inline struct tf_insn tf_classify(const uint8_t *b, size_t n)
{
    uint16_t hw1 = (uint16_t) (b[0] | (b[1] << 8));
    /* The width comes from the first halfword: QEMU 7.2 hands a plugin 4 bytes for a 16-bit
     * instruction in the last word of a page (it peeks at the next halfword). */
    if (n < 4 || (hw1 >> 11) < 0x1D) {
        return tf_classify16(hw1);
    }
    uint16_t hw2 = (uint16_t) (b[2] | (b[3] << 8));
    return tf_classify32(hw1, hw2);
}

#endif /* TINYFORGE_INSN_CLASSES_H */
