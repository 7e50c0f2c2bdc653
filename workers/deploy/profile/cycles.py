"""Cycle model: instruction class counts (QEMU plugin, `count_mode="class"`) -> cycles per core.

QEMU executes instructions exactly but counts no cycles. The plugin (`mcu/plugin/insn_classes.h`)
sorts every executed instruction into the classes of the Arm Technical Reference Managers'
timing tables and adds the facts a class alone cannot carry (registers moved by LDM/STM, loads
that pipeline behind the previous one, taken branches, Helium overlap, dual-issue pairs). This
module prices them per core. Sources and what is assumed are in docs/profile.md; in short:

- Cortex-M0+: TRM (DDI 0484C) §3.3, Table 3-1 "Cortex-M0+ instruction summary".
- Cortex-M3: TRM (DDI 0337I) §3.3.1 Table 3-1 "Cortex-M3 instruction set summary", §3.3.2
  "Load/store timings" (neighbouring loads/stores pipeline).
- Cortex-M4: TRM (100166_0001_00) §3.3.1 Table 3-1 "Processor instruction set summary",
  §3.3.2 load/store timings, §7.2.3 Table 7-1 "FPU instruction set" (cycle counts).
- Cortex-M33: Arm publishes no per-instruction table in its TRM (100230); the model uses the
  Cortex-M4 table (same three-stage ARMv7E-M/ARMv8-M Mainline integer pipeline and FPv5-SP
  timing of the single-precision operations).
- Cortex-M7 and Cortex-M55: no per-instruction tables either (dual issue, Helium beats);
  approximations from the Cortex-M7 TRM §1 (dual-issue six-stage pipeline) and the Cortex-M55
  Software Optimization Guide (dual-beat Helium: a 128-bit vector instruction takes 2 cycles,
  one load/store and one arithmetic instruction overlap). Stated tolerance: `tolerance`.

Data-dependent costs are fixed at a stated value: SDIV/UDIV terminate early depending on the
operands (2-12 cycles on M3/M4), which the plugin cannot see (QEMU 7.2's plugin API reads no
registers), so `div` costs the range's midpoint and `div_range` bounds it. A taken branch
refills the pipeline (P = 1..3 cycles by alignment and width of the target, Table 3-1); the
model takes P = `refill`. Flash wait states add `flash_wait_states` cycles per taken branch (a
refetch from flash); sequential fetches are taken as hidden by the board's prefetch buffer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Branch classes that are always taken unless predicated false in an IT block.
ALWAYS_TAKEN = ("alu_pc", "load_pc", "pop_pc", "b", "bl", "bx", "tbb")

INSTRUCTION_CLASSES = (
    "alu",
    "alu_pc",
    "load",
    "store",
    "store_reg",
    "load_pc",
    "ldrd",
    "ldm",
    "pop_pc",
    "mul",
    "mac",
    "mul_long",
    "mac_long",
    "dsp_mac",
    "dsp_mac_long",
    "div",
    "b_cond",
    "b",
    "bl",
    "bx",
    "cbz",
    "tbb",
    "lob",
    "sys",
    "fp_alu",
    "fp_mac",
    "fp_div",
    "fp64_alu",
    "fp64_mac",
    "fp64_div",
    "fp_load",
    "fp_store",
    "fp_ldm",
    "fp_mov",
    "mve_mem",
    "mve_op",
)
AUX_COUNTERS = (
    "ldm_regs",
    "fp_ldm_words",
    "ls_pipelined",
    "mve_overlap",
    "dual_pairs",
    "b_cond_taken",
    "cbz_taken",
    "lob_taken",
    "other_taken",
    "other_not_taken",
)
MVE_BEATS_PER_INSN = 4  # 128-bit vector = 4 beats of 32 bits (every MVE insn the kernels use)


@dataclass(frozen=True)
class CoreTiming:
    """Cycles per instruction class on one core, and the per-event adjustments."""

    core: str
    source: str
    costs: Mapping[str, float]  # per instruction of the class (not-taken for branches)
    refill: float  # P: cycles added by a taken branch
    per_register: float = 1.0  # LDM/STM/PUSH/POP and VLDM/VSTM: + per register/word
    pipelined_saving: float = 0.0  # a load/store pipelined behind the previous one
    mve_overlap_saving: float = 0.0
    dual_issue_saving: float = 0.0
    div_range: tuple[int, int] | None = None
    tolerance: float = 0.0  # stated relative error of the model on this core (0: exact)
    notes: str = ""


def _m4_costs(**over: float) -> dict[str, float]:
    costs: dict[str, float] = {
        "alu": 1,
        "alu_pc": 1,  # + P
        "load": 2,
        "store": 2,
        "store_reg": 2,
        "load_pc": 2,  # + P
        "ldrd": 3,  # 1 + N, N = 2
        "ldm": 1,  # + N
        "pop_pc": 1,  # + N + P
        "mul": 1,
        "mac": 1,
        "mul_long": 1,
        "mac_long": 1,
        "dsp_mac": 1,
        "dsp_mac_long": 1,
        "div": 7,  # 2..12 by operands: midpoint
        "b_cond": 1,  # + P when taken
        "b": 1,  # + P
        "bl": 1,  # + P
        "bx": 1,  # + P
        "cbz": 1,  # + P when taken
        "tbb": 2,  # + P
        "lob": 1,
        "sys": 1,
        "fp_alu": 1,
        "fp_mac": 3,
        "fp_div": 14,
        "fp64_alu": 1,
        "fp64_mac": 3,
        "fp64_div": 14,
        "fp_load": 2,
        "fp_store": 2,
        "fp_ldm": 1,  # + N
        "fp_mov": 1,
        "mve_mem": 2,
        "mve_op": 2,
    }
    costs.update(over)
    return costs


CORES: dict[str, CoreTiming] = {
    "cortex-m0plus": CoreTiming(
        core="cortex-m0plus",
        source="Cortex-M0+ TRM (DDI 0484C) §3.3 Table 3-1",
        # The table gives totals; always-taken kinds are listed here without the refill (1):
        # ADD/MOV PC 2, POP {..PC} 3 + N (N: registers incl. PC), B 2, BL 3, BX/BLX 2.
        costs=_m4_costs(
            alu_pc=1,
            pop_pc=2,
            b_cond=1,
            b=1,
            bl=2,
            bx=1,
            sys=3,  # MSR/MRS/DMB/DSB/ISB: 3 (ISB 3 assumed)
        ),
        refill=1,  # B<cond>: 1 not taken, 2 taken
        notes="single-cycle multiplier (MULS 1; the 32-cycle option is not modelled)",
    ),
    "cortex-m3": CoreTiming(
        core="cortex-m3",
        source="Cortex-M3 TRM (DDI 0337I) §3.3.1 Table 3-1, §3.3.2",
        costs=_m4_costs(mac=2, mul_long=4, mac_long=5.5),  # 3..5, 4..7: midpoints
        refill=2,
        pipelined_saving=1,
        div_range=(2, 12),
        notes="SMULL/UMULL 3-5 and SMLAL/UMLAL 4-7 cycles by operands: midpoints",
    ),
    "cortex-m4f": CoreTiming(
        core="cortex-m4",
        source="Cortex-M4 TRM (100166_0001_00) §3.3.1 Table 3-1, §3.3.2, §7.2.3 Table 7-1",
        costs=_m4_costs(),
        refill=2,
        pipelined_saving=1,
        div_range=(2, 12),
    ),
    "cortex-m33": CoreTiming(
        core="cortex-m33",
        source="no table in the Cortex-M33 TRM (100230): Cortex-M4 Table 3-1 / 7-1 used",
        costs=_m4_costs(div=6.5),  # 2..11
        refill=2,
        pipelined_saving=1,
        div_range=(2, 11),
        notes="assumed equal to the Cortex-M4 except the divider; dual-issue of 16-bit pairs "
        "that some M33 implementations have is not modelled",
    ),
    "cortex-m7": CoreTiming(
        core="cortex-m7",
        source="Cortex-M7 TRM (DDI 0489) §1 (dual-issue pipeline); approximation",
        costs=_m4_costs(load=1, store=1, store_reg=1, ldrd=2, div=11, fp_mac=1, fp_div=14),
        refill=1,  # branch target address cache: most taken loop branches are cheap
        per_register=1.0,
        dual_issue_saving=1,
        div_range=(3, 20),
        tolerance=0.35,
    ),
    "cortex-m55": CoreTiming(
        core="cortex-m55",
        source="Cortex-M55 Software Optimization Guide (dual-beat Helium); approximation",
        costs=_m4_costs(load=1, store=1, store_reg=1, ldrd=2, div=7, fp_mac=2, fp_div=16),
        refill=2,
        mve_overlap_saving=1,
        div_range=(2, 12),
        tolerance=0.35,
    ),
}


@dataclass(frozen=True)
class CycleReport:
    """Cycles of one region on one core, and where they come from."""

    target: str
    cycles: int
    instructions: int
    by_class: dict[str, float] = field(default_factory=dict)
    wait_state_cycles: int = 0
    tolerance: float = 0.0


def timing_for(target: str) -> CoreTiming:
    try:
        return CORES[target]
    except KeyError:
        raise ValueError(
            f"no cycle model for target {target!r}; cores with one: {', '.join(CORES)}"
        ) from None


def taken_branches(classes: Mapping[str, int]) -> int:
    """Taken branches of every kind in a region."""
    always = sum(classes.get(c, 0) for c in ALWAYS_TAKEN) - classes.get("other_not_taken", 0)
    return (
        always
        + classes.get("b_cond_taken", 0)
        + classes.get("cbz_taken", 0)
        + classes.get("lob_taken", 0)
    )


def cycles_from_classes(
    classes: Mapping[str, int], target: str, *, flash_wait_states: int = 0
) -> CycleReport:
    """Price one region's class counts on `target`'s core (plus the board's flash wait states)."""
    unknown = set(classes) - set(INSTRUCTION_CLASSES) - set(AUX_COUNTERS)
    if unknown:
        raise ValueError(f"unknown instruction classes: {', '.join(sorted(unknown))}")
    t = timing_for(target)
    by_class: dict[str, float] = {}
    for name in INSTRUCTION_CLASSES:
        n = classes.get(name, 0)
        if n:
            by_class[name] = n * t.costs[name]
    by_class["ldm_regs"] = t.per_register * classes.get("ldm_regs", 0)
    by_class["fp_ldm_words"] = t.per_register * classes.get("fp_ldm_words", 0)
    by_class["branch_refill"] = t.refill * taken_branches(classes)
    by_class["ls_pipelined"] = -t.pipelined_saving * classes.get("ls_pipelined", 0)
    by_class["mve_overlap"] = -t.mve_overlap_saving * classes.get("mve_overlap", 0)
    by_class["dual_pairs"] = -t.dual_issue_saving * classes.get("dual_pairs", 0)
    by_class = {k: v for k, v in by_class.items() if v}
    wait = flash_wait_states * taken_branches(classes)
    instructions = sum(classes.get(c, 0) for c in INSTRUCTION_CLASSES)
    total = sum(by_class.values()) + wait
    return CycleReport(
        target=target,
        cycles=int(round(total)),
        instructions=instructions,
        by_class=by_class,
        wait_state_cycles=wait,
        tolerance=t.tolerance,
    )


def latency_ms(cycles: int, clock_hz: int) -> float:
    return cycles / clock_hz * 1000.0
