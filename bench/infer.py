"""Compiled int8 models vs the TFLite Micro interpreter: host time, and instructions per core.

Run:  .venv/bin/python bench/infer.py [--models kws_ref_model ...] [--cores cortex-m55 ...]
                                      [--host-runs N] [--no-qemu] [--no-host] [--no-plain]

Per model, measured in the same run:
- host time per inference of the generated library (release build, -O2, the example
  program fed N inputs on stdin; a 1-input run is subtracted to cancel process start-up)
  vs the `tflite-micro` Python interpreter's `invoke()` (reference kernels, same inputs);
- with the Arm toolchain and QEMU present (workers.deploy.mcu): instructions executed by one
  inference on each core (cortex-m4f: SMLAD/SXTB16; cortex-m55: Helium; cortex-m0plus and
  cortex-m3: the optimised file's plain-C loops) for the optimised kernels and for the
  compiler's plain-C reference kernels, instructions per MAC, flash (text+data) and RAM
  (data+bss) of the harness program; outputs are checked byte for byte against the interpreter.
- the memory plans: arena of the speed plan (default) and of `--optimize ram`, each / TFLM's
  arena on the Cortex-M4 (issue 15's figures; goal: ram <= 0.6), and on each core the
  instructions of the ram plan / the speed plan (both optimised kernels, same inputs, same run);
- the ratios of issue 15's goals: optimised / TFLM+CMSIS-NN (the issue's anchor figures, measured
  on the same QEMU machines with the same counting) against the goal (<= 0.9 on the M55, <= 0.75
  on the M4F), optimised / the issue's "before" figures, and optimised / plain C of this run;
- cycles of the optimised kernels from the profile's cycle model (workers.deploy.profile.cycles:
  instruction classes counted under QEMU, priced per core, zero flash wait states), and the M4F
  cycle goal of issue 15 (kws_ref_model <= 5.2 M cycles, the fastest published Cortex-M4F engines).
Not part of the test suite; nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.paths import MODELS_DIR  # noqa: E402
from workers.deploy import compile_model  # noqa: E402
from workers.deploy.host import _as_input_list, build_host, tflm_reference  # noqa: E402
from workers.deploy.profile.cycles import CORES as CYCLE_CORES  # noqa: E402
from workers.deploy.profile.cycles import cycles_from_classes  # noqa: E402
from workers.deploy.reader import read_model  # noqa: E402

MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
CORES = ["cortex-m4f", "cortex-m55", "cortex-m3", "cortex-m0plus"]
# Issue 15's table: TFLM (HEAD 90b983c2) + the CMSIS-NN it pins, instructions inside one
# inference on the same QEMU machines, -O2, arm-none-eabi-gcc 12.2.
CMSIS_NN = {
    "cortex-m4f": {
        "kws_ref_model": 7_697_551,
        "vww_96_int8": 24_102_341,
        "pretrainedResnet_quant": 29_861_173,
        "ad01_int8": 583_130,
    },
    "cortex-m55": {
        "kws_ref_model": 1_813_848,
        "vww_96_int8": 6_560_139,
        "pretrainedResnet_quant": 4_910_243,
        "ad01_int8": 150_443,
    },
}
# Tinyforge before issue 15 (the same table).
BEFORE = {
    "cortex-m4f": {
        "kws_ref_model": 7_576_956,
        "vww_96_int8": 23_184_799,
        "pretrainedResnet_quant": 25_677_160,
        "ad01_int8": 511_860,
    },
    "cortex-m55": {
        "kws_ref_model": 4_197_312,
        "vww_96_int8": 14_159_872,
        "pretrainedResnet_quant": 9_890_121,
        "ad01_int8": 138_105,
    },
}
GOAL = {"cortex-m4f": 0.75, "cortex-m55": 0.9}  # optimised / TFLM+CMSIS-NN
# Issue 15: kws_ref_model at <= 5.2 M cycles on the Cortex-M4F (cycle model, zero wait states):
# X-CUBE-AI 9 and Plumerai in MLPerf Tiny, 43.2 ms and 47.8 ms at 120 MHz.
CYCLE_GOAL = {("kws_ref_model", "cortex-m4f"): 5.2e6}
# TFLM's arena on the Cortex-M4 (issue 15) and the goal of `--optimize ram` against it.
TFLM_M4_ARENA = {
    "kws_ref_model": 22_820,
    "vww_96_int8": 100_708,
    "pretrainedResnet_quant": 54_996,
    "ad01_int8": 2_580,
}
RAM_GOAL = 0.6
TFLM_REFERENCE_M4F = {
    "kws_ref_model": 43.1e6,
    "vww_96_int8": 100.5e6,
    "pretrainedResnet_quant": 107.5e6,
    "ad01_int8": 1.95e6,
}


def host_seconds_per_inference(exe: Path, inputs: np.ndarray, repeat: int = 3) -> float:
    def run(data: bytes) -> float:
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([str(exe)], input=data, capture_output=True, check=True)
            best = min(best, time.perf_counter() - t0)
        return best

    full = run(inputs.tobytes())
    one = run(inputs[:1].tobytes())
    return max(full - one, 0.0) / (len(inputs) - 1)


def tflm_seconds_per_inference(model: bytes, inputs: np.ndarray) -> float:
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=10 * len(model) + (1 << 20))
    interp.set_input(inputs[0], 0)
    interp.invoke()
    t0 = time.perf_counter()
    for x in inputs:
        interp.set_input(x, 0)
        interp.invoke()
    return (time.perf_counter() - t0) / len(inputs)


def qemu_run(
    model: bytes,
    inputs: np.ndarray,
    work: Path,
    *,
    target: str,
    optimize: bool,
    optimize_for: str = "speed",
    count_classes: bool = False,
):
    from workers.deploy.mcu import HarnessLibrary, run_model_harness

    compiled = compile_model(
        model, out_dir=work / "lib", optimize=optimize, optimize_for=optimize_for
    )
    result = run_model_harness(
        target,
        HarnessLibrary([work / "lib" / s for s in compiled.sources], [work / "lib"]),
        inputs=[x.tobytes() for x in inputs],
        output_bytes=compiled.output.nbytes,
        out_dir=work / "build",
        timeout_s=600,
        count_classes=count_classes,
    )
    return compiled, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--cores", nargs="*", default=CORES)
    ap.add_argument("--host-runs", type=int, default=200, help="inferences per host timing")
    ap.add_argument("--qemu-runs", type=int, default=2, help="inferences per QEMU run")
    ap.add_argument("--no-qemu", action="store_true")
    ap.add_argument("--no-host", action="store_true", help="skip the host timings")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain-C kernels on QEMU")
    args = ap.parse_args()

    qemu = not args.no_qemu
    if qemu:
        from workers.deploy.mcu import toolchain_available

        qemu = toolchain_available()
        if not qemu:
            print(
                "arm-none-eabi-gcc / qemu-system-arm not found: host timings only "
                "(scripts/install-toolchain.sh installs them)\n"
            )

    goals: list[str] = []
    cycle_lines: list[str] = []
    arenas: list[str] = []
    ram_cost: dict[str, dict[str, float]] = {}
    for name in args.models:
        model = (MODELS_DIR / f"{name}.tflite").read_bytes()
        graph = read_model(model)
        t_in = graph.tensor(graph.inputs[0])
        rng = np.random.default_rng(0)
        inputs = rng.integers(-128, 128, size=(args.host_runs, *t_in.shape), dtype=np.int8)
        with tempfile.TemporaryDirectory(prefix="tinyforge-bench-") as tmp:
            work = Path(tmp)
            compiled = compile_model(model, out_dir=work / "lib")
            ram = compile_model(model, optimize_for="ram")
            print(
                f"{name}: {compiled.macs / 1e6:.2f} M MACs, arena {compiled.arena_bytes} B "
                f"(lower bound {compiled.lower_bound_bytes} B), weights {compiled.weights_bytes} B"
            )
            tflm_arena = TFLM_M4_ARENA.get(name)
            kinds = sorted(set(ram.ram_steps.values()))
            print(
                f"  arena  speed {compiled.arena_bytes} B, ram {ram.arena_bytes} B "
                f"({', '.join(kinds) or 'no rewrite lowers it'})"
                + (
                    f";  / TFLM M4 arena ({tflm_arena:,} B): speed "
                    f"{compiled.arena_bytes / tflm_arena:5.3f}, "
                    f"ram {ram.arena_bytes / tflm_arena:5.3f}"
                    if tflm_arena
                    else ""
                )
            )
            if tflm_arena:
                verdict = "met" if ram.arena_bytes <= RAM_GOAL * tflm_arena else "NOT met"
                arenas.append(
                    f"{name:24s} {compiled.arena_bytes:>7,} {ram.arena_bytes:>7,} {tflm_arena:>8,} "
                    f"{compiled.arena_bytes / tflm_arena:6.3f} {ram.arena_bytes / tflm_arena:6.3f} "
                    f"{RAM_GOAL:5.2f}  {verdict}"
                )
            if not args.no_host:
                exe = build_host(compiled, work)
                ours = host_seconds_per_inference(exe, inputs)
                tflm = tflm_seconds_per_inference(model, inputs)
                print(
                    f"  host   compiled {ours * 1e6:9.1f} us/inference   tflite-micro "
                    f"interpreter {tflm * 1e6:9.1f} us   -> {tflm / ours:5.1f}x faster"
                    if ours > 0
                    else f"  host   compiled <1 us   tflite-micro {tflm * 1e6:.1f} us"
                )
            if not qemu:
                continue
            x = inputs[: args.qemu_runs]
            ref, _ = tflm_reference(model, _as_input_list(graph, x))
            for core in args.cores:
                rows = {}
                variants = [("optimised", True, "speed"), ("ram plan", True, "ram")]
                if not args.no_plain:
                    variants.append(("plain C", False, "speed"))
                for label, optimize, plan in variants:
                    sub = work / core / label.replace(" ", "_")
                    priced = label == "optimised" and core in CYCLE_CORES
                    c, r = qemu_run(
                        model,
                        x,
                        sub,
                        target=core,
                        optimize=optimize,
                        optimize_for=plan,
                        count_classes=priced,
                    )
                    exact = all(bytes(o) == e for o, e in zip(r.outputs, ref, strict=True))
                    rows[label] = r.instructions[0]
                    cycles = ""
                    if priced:
                        report = cycles_from_classes(r.classes[0], core)
                        cycles = (
                            f"  {report.cycles:>12,} cycles ({report.cycles / c.macs:5.3f}/MAC)"
                        )
                        cycle_lines.append(_cycle_line(name, core, report.cycles))
                    print(
                        f"  {core:13s} {label:9s} {r.instructions[0]:>12,} instr "
                        f"({r.instructions[0] / c.macs:5.3f}/MAC){cycles}  "
                        f"flash {r.flash_bytes} B  RAM {r.ram_bytes} B  "
                        f"stack {r.stack_used_bytes} B  bit-exact {exact}"
                    )
                opt, plain = rows["optimised"], rows.get("plain C")
                ram_cost.setdefault(name, {})[core] = rows["ram plan"] / opt
                line = f"  {core:13s} ram plan / optimised {rows['ram plan'] / opt:5.3f}"
                if plain:
                    line += f";  optimised / plain C {opt / plain:5.3f}"
                if core in CMSIS_NN:
                    bar, before = CMSIS_NN[core][name], BEFORE[core][name]
                    ratio = opt / bar
                    verdict = "met" if ratio <= GOAL[core] else "NOT met"
                    line += (
                        f";  / TFLM+CMSIS-NN ({bar:,}) {ratio:5.3f} (goal <= {GOAL[core]}: "
                        f"{verdict});  / before issue 15 ({before:,}) {opt / before:5.3f}"
                    )
                    goals.append(
                        f"{name:24s} {core:11s} {opt:>12,} {bar:>12,} {ratio:6.3f} "
                        f"{GOAL[core]:5.2f}  {verdict}"
                    )
                if core == "cortex-m4f":
                    ref_m4f = TFLM_REFERENCE_M4F[name]
                    line += (
                        f";  TFLM reference ({ref_m4f / 1e6:.1f} M) / optimised "
                        f"{ref_m4f / opt:4.2f}x"
                    )
                print(line)
    if arenas:
        cores = sorted({c for v in ram_cost.values() for c in v}, key=args.cores.index)
        print(
            "\nArena: speed and ram plans / TFLM's Cortex-M4 arena (issue 15; goal ram <= "
            f"{RAM_GOAL}), and the ram plan's instructions / the speed plan's per core"
        )
        print(
            f"{'model':24s} {'speed B':>7s} {'ram B':>7s} {'TFLM M4':>8s} {'speed':>6s} "
            f"{'ram':>6s} {'goal':>5s}        " + " ".join(f"{c:>13s}" for c in cores)
        )
        for name, line in zip(args.models, arenas, strict=False):
            cost = ram_cost.get(name, {})
            print(
                f"{line:72s} "
                + " ".join(f"{cost[c]:13.3f}" if c in cost else f"{'-':>13s}" for c in cores)
            )
    if goals:
        print("\nIssue 15 goals: optimised instructions / TFLM+CMSIS-NN (anchor figures)")
        print(
            f"{'model':24s} {'core':11s} {'optimised':>12s} {'CMSIS-NN':>12s} {'ratio':>6s} "
            f"{'goal':>5s}"
        )
        for g in goals:
            print(g)
    if cycle_lines:
        print("\nCycles of the optimised kernels (the profile's cycle model, zero wait states)")
        print(f"{'model':24s} {'core':13s} {'cycles':>12s}  goal")
        for line in cycle_lines:
            print(line)
    if goals or cycle_lines:
        print("Measured elsewhere: Linux SIMD vs LiteRT (bench/infer_linux.py).")


def _cycle_line(model: str, core: str, cycles: int) -> str:
    goal = CYCLE_GOAL.get((model, core))
    verdict = ""
    if goal:
        met = "met" if cycles <= goal else "NOT met"
        verdict = f"<= {goal / 1e6:.1f} M: {cycles / goal:5.3f} of it, {met}"
    return f"{model:24s} {core:13s} {cycles:>12,}  {verdict}"


if __name__ == "__main__":
    main()
