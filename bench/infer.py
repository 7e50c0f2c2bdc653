"""Compiled int8 models vs the TFLite Micro interpreter: host time, and Cortex-M4F instructions.

Run:  .venv/bin/python bench/infer.py [--models kws_ref_model ...] [--host-runs N] [--no-qemu]

Per model, measured in the same run:
- host time per inference of the generated library (release build, -O2, the example
  program fed N inputs on stdin; a 1-input run is subtracted to cancel process start-up)
  vs the `tflite-micro` Python interpreter's `invoke()` (reference kernels, same inputs);
- with the Arm toolchain and QEMU present (workers.deploy.mcu): instructions executed by one
  inference on cortex-m4f (mps2-an386) for the optimised kernels (SMLAD/SXTB16) and for the
  compiler's plain-C reference kernels, instructions per MAC, flash (text+data) and RAM
  (data+bss) of the harness program; outputs are checked byte for byte against the
  interpreter. The printed bar is TFLM + CMSIS-NN on the same QEMU M4F with the same counting
  (figures from issue 5).
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
from workers.deploy.reader import read_model  # noqa: E402

MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
CMSIS_NN_M4F = {
    "kws_ref_model": 7.70e6,
    "vww_96_int8": 24.1e6,
    "pretrainedResnet_quant": 29.9e6,
    "ad01_int8": 0.58e6,
}
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


def qemu_m4f(model: bytes, inputs: np.ndarray, work: Path, *, optimize: bool):
    from workers.deploy.mcu import HarnessLibrary, run_model_harness

    compiled = compile_model(model, out_dir=work / "lib", optimize=optimize)
    result = run_model_harness(
        "cortex-m4f",
        HarnessLibrary([work / "lib" / s for s in compiled.sources], [work / "lib"]),
        inputs=[x.tobytes() for x in inputs],
        output_bytes=compiled.output.nbytes,
        out_dir=work / "build",
    )
    return compiled, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--host-runs", type=int, default=200, help="inferences per host timing")
    ap.add_argument("--qemu-runs", type=int, default=3, help="inferences per QEMU run")
    ap.add_argument("--no-qemu", action="store_true")
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

    for name in args.models:
        model = (MODELS_DIR / f"{name}.tflite").read_bytes()
        graph = read_model(model)
        t_in = graph.tensor(graph.inputs[0])
        rng = np.random.default_rng(0)
        inputs = rng.integers(-128, 128, size=(args.host_runs, *t_in.shape), dtype=np.int8)
        with tempfile.TemporaryDirectory(prefix="tinyforge-bench-") as tmp:
            work = Path(tmp)
            compiled = compile_model(model, out_dir=work / "lib")
            exe = build_host(compiled, work)
            ours = host_seconds_per_inference(exe, inputs)
            tflm = tflm_seconds_per_inference(model, inputs)
            print(
                f"{name}: {compiled.macs / 1e6:.2f} M MACs, arena {compiled.arena_bytes} B "
                f"(lower bound {compiled.lower_bound_bytes} B), weights {compiled.weights_bytes} B"
            )
            print(
                f"  host   compiled {ours * 1e6:9.1f} us/inference   tflite-micro interpreter "
                f"{tflm * 1e6:9.1f} us   -> {tflm / ours:5.1f}x faster"
                if ours > 0
                else f"  host   compiled <1 us   tflite-micro {tflm * 1e6:.1f} us"
            )
            if not qemu:
                continue
            x = inputs[: args.qemu_runs]
            ref, _ = tflm_reference(model, _as_input_list(graph, x))
            rows = {}
            for label, optimize in (("optimised", True), ("plain C", False)):
                c, r = qemu_m4f(model, x, work / label.replace(" ", "_"), optimize=optimize)
                exact = all(bytes(o) == e for o, e in zip(r.outputs, ref, strict=True))
                rows[label] = r
                print(
                    f"  M4F    {label:9s} {r.instructions[0] / 1e6:7.2f} M instr "
                    f"({r.instructions[0] / c.macs:4.2f}/MAC)  flash {r.flash_bytes} B  "
                    f"RAM {r.ram_bytes} B  stack {r.stack_used_bytes} B  bit-exact {exact}"
                )
            opt, plain = rows["optimised"].instructions[0], rows["plain C"].instructions[0]
            print(
                f"  M4F    optimised vs plain C {plain / opt:4.2f}x;  vs TFLM+CMSIS-NN "
                f"({CMSIS_NN_M4F[name] / 1e6:.2f} M) {CMSIS_NN_M4F[name] / opt:4.2f}x;  "
                f"vs TFLM reference ({TFLM_REFERENCE_M4F[name] / 1e6:.1f} M) "
                f"{TFLM_REFERENCE_M4F[name] / opt:4.2f}x"
            )


if __name__ == "__main__":
    main()
