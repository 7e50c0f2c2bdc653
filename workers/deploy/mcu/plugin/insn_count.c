/*
 * QEMU TCG plugin: counts the guest instructions executed between pairs of SEV markers.
 *
 * The program executes SEV before and after each region of interest (one inference, say).
 * Region k is the instructions executed after its opening SEV and before its closing SEV,
 * both markers excluded. Each count is appended to the output file, one decimal number per
 * line, as soon as the closing SEV executes (so a run that is killed keeps what it measured).
 *
 * Arguments (-plugin insn_count.so,out=/path/file[,mode=tb|insn|class][,classes=/path]):
 *   out      file that receives the counts (required)
 *   mode     tb (default): one inline add per translation block, corrected at each SEV by the
 *            number of instructions that follow it in its block; insn: a callback for every
 *            instruction, slow, used to cross-check the tb mode; class: a callback per executed
 *            block that also counts instructions by class (insn_classes.h) for the cycle model.
 *   classes  (mode=class) file that receives, per region, one line
 *            `region <k> <name>=<count> ...` with every non-zero class and auxiliary counter.
 *
 * Class mode decodes each instruction once, when its block is translated: a block carries its
 * class counts and those that depend on the order of instructions inside it (a load that
 * pipelines behind the previous load, pairs a dual-issue core can issue together, a Helium
 * instruction that overlaps the previous one). Whether a block's last instruction, if it is a
 * branch, was taken is decided when the next block starts: taken when it does not start right
 * after that instruction.
 *
 * Single vCPU only (all the Cortex-M machines used here have one core).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insn_classes.h"
#include "qemu_plugin_min.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = TINYFORGE_QEMU_PLUGIN_API_VERSION;

static uint64_t executed;    /* instructions executed so far (tb mode: whole blocks) */
static uint64_t region_start; /* count at the opening SEV, inclusive */
static int in_region;
static uint64_t regions;
static FILE *out;
static int per_insn;

/* class mode */
static int per_class;
static FILE *classes_out;
static uint64_t counters[TF_N_COUNTERS]; /* running totals */
static uint64_t region_counters[TF_N_COUNTERS];

struct tb_info {
    uint64_t start;       /* address of the first instruction */
    uint64_t n;
    uint64_t fallthrough; /* address after the last instruction */
    int last_branch;      /* class of the last instruction when it is a branch, else -1 */
    int first_cls;        /* classes of the first and last instructions: a block that falls */
    int last_cls;         /* through into the next continues its pipelining */
    int n_nonzero;
    uint8_t idx[TF_N_COUNTERS];
    uint32_t val[TF_N_COUNTERS];
};

struct sev_info {
    uint64_t after_n;                   /* instructions after the SEV in its block */
    uint32_t after[TF_N_COUNTERS];      /* their counters */
    int cls;                            /* the SEV's own class */
};

static const struct tb_info *prev_tb;

static int is_sev(const struct qemu_plugin_insn *insn)
{
    const uint8_t *b = (const uint8_t *) qemu_plugin_insn_data(insn);
    size_t n = qemu_plugin_insn_size(insn);
    /* T1 first: QEMU 7.2 reports a 16-bit instruction in the last halfword of a page with
     * size 4 (it peeks at the next halfword), so the size alone cannot tell. */
    if (n >= 2 && b[0] == 0x40 && b[1] == 0xbf) {
        return 1; /* T1: 0xbf40 */
    }
    if (n == 4) {
        return b[0] == 0xaf && b[1] == 0xf3 && b[2] == 0x04 && b[3] == 0x80; /* T2: f3af 8004 */
    }
    return 0;
}

/* `through_sev` counts every instruction up to and including this SEV. */
static void marker(uint64_t through_sev)
{
    if (!in_region) {
        region_start = through_sev;
        in_region = 1;
        return;
    }
    in_region = 0;
    regions++;
    fprintf(out, "%" PRIu64 "\n", through_sev - region_start - 1);
    fflush(out);
}

static void taken_counter(int branch_cls, int taken)
{
    switch (branch_cls) {
    case TF_B_COND:
        counters[TF_AUX_TAKEN_B_COND] += (uint64_t) taken;
        break;
    case TF_CBZ:
        counters[TF_AUX_TAKEN_CBZ] += (uint64_t) taken;
        break;
    case TF_LOB:
        counters[TF_AUX_TAKEN_LOB] += (uint64_t) taken;
        break;
    default: /* unconditional kinds: count only the rare not-taken (conditional in IT) */
        counters[taken ? TF_AUX_TAKEN_OTHER : TF_AUX_NOT_TAKEN_OTHER] += 1;
        break;
    }
}

static void on_tb_class(unsigned int vcpu_index, void *userdata)
{
    (void) vcpu_index;
    const struct tb_info *tb = userdata;
    if (prev_tb != NULL && prev_tb->last_branch >= 0) {
        /* the start address is the fall-through when the branch was not taken */
        taken_counter(prev_tb->last_branch, tb->start != prev_tb->fallthrough);
    }
    if (prev_tb != NULL && tb->start == prev_tb->fallthrough) {
        /* straight-line code split into blocks (page boundary, block size limit) */
        int a = prev_tb->last_cls, b = tb->first_cls;
        if (tf_is_single_ls(b) && tf_pipelines_next(a)) {
            counters[TF_AUX_LS_PIPELINED] += 1;
        }
        if (tf_is_mve(a) && tf_is_mve(b) && (a == TF_MVE_MEM) != (b == TF_MVE_MEM)) {
            counters[TF_AUX_MVE_OVERLAP] += 1;
        }
    }
    executed += tb->n;
    for (int i = 0; i < tb->n_nonzero; i++) {
        counters[tb->idx[i]] += tb->val[i];
    }
    prev_tb = tb;
}

static void on_sev_class(unsigned int vcpu_index, void *userdata)
{
    (void) vcpu_index;
    const struct sev_info *sev = userdata;
    uint64_t now[TF_N_COUNTERS];
    for (int c = 0; c < TF_N_COUNTERS; c++) {
        now[c] = counters[c] - sev->after[c];
    }
    if (!in_region) {
        memcpy(region_counters, now, sizeof now); /* through the opening SEV */
    } else {
        now[sev->cls] -= 1; /* the closing SEV is not part of the region */
        fprintf(classes_out, "region %" PRIu64, regions);
        for (int c = 0; c < TF_N_COUNTERS; c++) {
            uint64_t v = now[c] - region_counters[c];
            if (v != 0) {
                fprintf(classes_out, " %s=%" PRIu64, tf_counter_names[c], v);
            }
        }
        fprintf(classes_out, "\n");
        fflush(classes_out);
    }
    marker(executed - sev->after_n);
}

/* tb mode: the block's inline add already counted `after` instructions beyond the SEV. */
static void on_sev_tb(unsigned int vcpu_index, void *userdata)
{
    (void) vcpu_index;
    marker(executed - (uint64_t) (uintptr_t) userdata);
}

/* insn mode: every instruction calls back; userdata is 1 for a SEV. */
static void on_insn(unsigned int vcpu_index, void *userdata)
{
    (void) vcpu_index;
    executed++;
    if (userdata != NULL) {
        marker(executed);
    }
}

static void *checked_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (p == NULL) {
        fprintf(stderr, "insn_count: out of memory\n");
        abort();
    }
    return p;
}

/* Decode a block for class mode: its counters, and one sev_info per SEV in it. */
static void class_tb_trans(struct qemu_plugin_tb *tb, size_t n)
{
    struct tb_info *info = checked_calloc(1, sizeof *info);
    /* prefix[i][c]: counter c over the block's first i instructions */
    uint32_t(*prefix)[TF_N_COUNTERS] = checked_calloc(n + 1, sizeof *prefix);
    int prev = -1;
    int prev_paired = 0;
    info->start = qemu_plugin_tb_vaddr(tb);
    info->last_branch = -1;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        size_t size = qemu_plugin_insn_size(insn);
        struct tf_insn d = tf_classify((const uint8_t *) qemu_plugin_insn_data(insn), size);
        uint32_t *t = prefix[i + 1];
        memcpy(t, prefix[i], sizeof prefix[i]);
        t[d.cls] += 1;
        if (d.cls == TF_LDM || d.cls == TF_POP_PC) {
            t[TF_AUX_LDM_REGS] += d.regs;
        } else if (d.cls == TF_FP_LDM) {
            t[TF_AUX_FP_LDM_WORDS] += d.regs;
        }
        if (prev >= 0 && tf_is_single_ls(d.cls) && tf_pipelines_next(prev)) {
            t[TF_AUX_LS_PIPELINED] += 1;
        }
        if (prev >= 0 && tf_is_mve(d.cls) && tf_is_mve(prev) &&
            (d.cls == TF_MVE_MEM) != (prev == TF_MVE_MEM)) {
            t[TF_AUX_MVE_OVERLAP] += 1;
        }
        if (prev >= 0 && !prev_paired && tf_can_pair(prev, d.cls)) {
            t[TF_AUX_DUAL_PAIRS] += 1;
            prev_paired = 1;
        } else {
            prev_paired = 0;
        }
        prev = d.cls;
        if (i == 0) {
            info->first_cls = d.cls;
        }
        if (i == n - 1) {
            info->last_cls = d.cls;
            info->fallthrough = qemu_plugin_insn_vaddr(insn) + size;
            info->last_branch = tf_is_branch(d.cls) ? d.cls : -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (!is_sev(insn)) {
            continue;
        }
        struct sev_info *sev = checked_calloc(1, sizeof *sev);
        sev->after_n = n - 1 - i;
        sev->cls = TF_ALU;
        for (int c = 0; c < TF_N_COUNTERS; c++) {
            sev->after[c] = prefix[n][c] - prefix[i + 1][c];
        }
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_sev_class, QEMU_PLUGIN_CB_NO_REGS, sev);
    }
    info->n = n;
    for (int c = 0; c < TF_N_COUNTERS; c++) {
        if (prefix[n][c] != 0) {
            info->idx[info->n_nonzero] = (uint8_t) c;
            info->val[info->n_nonzero] = prefix[n][c];
            info->n_nonzero++;
        }
    }
    free(prefix);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_class, QEMU_PLUGIN_CB_NO_REGS, info);
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void) id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (per_class) {
        class_tb_trans(tb, n);
        return;
    }
    if (per_insn) {
        for (size_t i = 0; i < n; i++) {
            struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS,
                                                   is_sev(insn) ? (void *) 1 : NULL);
        }
        return;
    }
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed, n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (is_sev(insn)) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_sev_tb, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *) (uintptr_t) (n - 1 - i));
        }
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    (void) id;
    (void) userdata;
    if (out != NULL) {
        if (in_region) {
            fprintf(out, "# unterminated region\n");
        }
        fprintf(out, "# total %" PRIu64 " regions %" PRIu64 "\n", executed, regions);
        fclose(out);
        out = NULL;
    }
    if (classes_out != NULL) {
        fclose(classes_out);
        classes_out = NULL;
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv)
{
    const char *path = NULL;
    const char *classes_path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            path = argv[i] + 4;
        } else if (strcmp(argv[i], "mode=insn") == 0) {
            per_insn = 1;
        } else if (strcmp(argv[i], "mode=tb") == 0) {
            per_insn = 0;
        } else if (strcmp(argv[i], "mode=class") == 0) {
            per_class = 1;
        } else if (strncmp(argv[i], "classes=", 8) == 0) {
            classes_path = argv[i] + 8;
        } else {
            fprintf(stderr, "insn_count: unknown argument '%s'\n", argv[i]);
            return -1;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "insn_count: missing out=<file>\n");
        return -1;
    }
    if (info->system_emulation && info->system.max_vcpus > 1) {
        fprintf(stderr, "insn_count: needs a single-core machine (has %d vCPUs)\n",
                info->system.max_vcpus);
        return -1;
    }
    if (per_class && classes_path == NULL) {
        fprintf(stderr, "insn_count: mode=class needs classes=<file>\n");
        return -1;
    }
    if (per_class) {
        classes_out = fopen(classes_path, "w");
        if (classes_out == NULL) {
            fprintf(stderr, "insn_count: cannot open '%s'\n", classes_path);
            return -1;
        }
    }
    out = fopen(path, "w");
    if (out == NULL) {
        fprintf(stderr, "insn_count: cannot open '%s'\n", path);
        return -1;
    }
    fprintf(out, "# insn_count api %d-%d mode %s\n", info->version.min, info->version.cur,
            per_class ? "class" : per_insn ? "insn" : "tb");
    fflush(out);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
