/*
 * QEMU TCG plugin: counts the guest instructions executed between pairs of SEV markers.
 *
 * The program executes SEV before and after each region of interest (one inference, say).
 * Region k is the instructions executed after its opening SEV and before its closing SEV,
 * both markers excluded. Each count is appended to the output file, one decimal number per
 * line, as soon as the closing SEV executes (so a run that is killed keeps what it measured).
 *
 * Arguments (-plugin insn_count.so,out=/path/file[,mode=tb|insn]):
 *   out   file that receives the counts (required)
 *   mode  tb (default): one inline add per translation block, corrected at each SEV by the
 *         number of instructions that follow it in its block; insn: a callback for every
 *         instruction, slow, used to cross-check the tb mode.
 *
 * Single vCPU only (all the Cortex-M machines used here have one core).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_min.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = TINYFORGE_QEMU_PLUGIN_API_VERSION;

static uint64_t executed;    /* instructions executed so far (tb mode: whole blocks) */
static uint64_t region_start; /* count at the opening SEV, inclusive */
static int in_region;
static uint64_t regions;
static FILE *out;
static int per_insn;

static int is_sev(const struct qemu_plugin_insn *insn)
{
    const uint8_t *b = (const uint8_t *) qemu_plugin_insn_data(insn);
    size_t n = qemu_plugin_insn_size(insn);
    if (n == 2) {
        return b[0] == 0x40 && b[1] == 0xbf; /* T1: 0xbf40 */
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

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void) id;
    size_t n = qemu_plugin_tb_n_insns(tb);
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
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv)
{
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            path = argv[i] + 4;
        } else if (strcmp(argv[i], "mode=insn") == 0) {
            per_insn = 1;
        } else if (strcmp(argv[i], "mode=tb") == 0) {
            per_insn = 0;
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
    out = fopen(path, "w");
    if (out == NULL) {
        fprintf(stderr, "insn_count: cannot open '%s'\n", path);
        return -1;
    }
    fprintf(out, "# insn_count api %d-%d mode %s\n", info->version.min, info->version.cur,
            per_insn ? "insn" : "tb");
    fflush(out);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
