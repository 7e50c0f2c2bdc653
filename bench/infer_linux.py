"""Linux targets: one inference of the generated library vs LiteRT (XNNPACK), in the same run.

Run:  .venv/bin/python bench/infer_linux.py [--models kws_ref_model ...] [--rounds 15]
                                            [--min-time-ms 30]

Per model (the MLPerf Tiny int8 models), best of `--rounds` rounds (taken round-robin over the
variants) of back-to-back inferences on one random input, in process (bench/c/time_invoke.c
calls `tinyforge_model_invoke` in a loop):
- Tinyforge plain C: the reference kernels (`optimize=False`);
- Tinyforge optimised, generic C (`-DTINYFORGE_SIMD=0`: the optimised file without SIMD);
- Tinyforge SIMD as shipped (run-time choice: AVX-512 VNNI, else AVX2, else SSE4.1, whatever the
  CPU has), and each level forced as the cap (`-DTINYFORGE_SIMD=1` SSE4.1, `=2` AVX2, `=3` AVX-512
  VNNI; a cap above what the CPU has runs the best it has);
- `ai-edge-litert` Interpreter with `num_threads=1` (XNNPACK), `invoke()` after `set_tensor`.
Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID, `time.thread_time`), so other work on a
shared machine does not count.
Prints SIMD / LiteRT (issue 15's goal: <= 2.0) and SIMD / plain C. The outputs of every
Tinyforge build are compared with each other (they are all bit-exact with TFLM in the tests);
LiteRT's int8 outputs are not TFLM's and are only reported as the largest difference.
Not part of the test suite; nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
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
from workers.deploy.host import HOST_CFLAGS  # noqa: E402
from workers.deploy.reader import read_model  # noqa: E402

MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
HARNESS = ROOT / "bench" / "c" / "time_invoke.c"
GOAL = 2.0  # issue 15: Tinyforge SIMD <= 2x LiteRT per inference


def build(model: bytes, work: Path, *, optimize: bool, cflags: tuple[str, ...]) -> Path:
    compiled = compile_model(model, out_dir=work / "lib", optimize=optimize)
    exe = work / "time_invoke"
    src = work / "lib"
    cmd = ["cc", *HOST_CFLAGS, *cflags, "-I", str(src), "-o", str(exe)]
    cmd += [str(src / s) for s in compiled.sources] + [str(HARNESS), "-lm"]
    subprocess.run(cmd, check=True)
    return exe


def time_ours(exe: Path, input_file: Path, n: int, rounds: int) -> tuple[float, bytes]:
    out = subprocess.run(
        [str(exe), str(input_file), str(n), str(rounds)], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]) * 1e-9, bytes.fromhex(out[1])


def time_litert(model: bytes, x: np.ndarray, n: int, rounds: int) -> tuple[float, bytes]:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model, num_threads=1)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]["index"]
    out = interp.get_output_details()[0]["index"]
    for _ in range(3):
        interp.set_tensor(inp, x)
        interp.invoke()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.thread_time()
        for _ in range(n):
            interp.set_tensor(inp, x)
            interp.invoke()
        best = min(best, (time.thread_time() - t0) / n)
    return best, interp.get_tensor(out).tobytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--min-time-ms", type=float, default=30.0, help="length of one round")
    args = ap.parse_args()

    x86 = platform.machine() in ("x86_64", "AMD64")
    variants = [
        ("plain C", False, ("-DTINYFORGE_SIMD=0",)),
        ("opt C", True, ("-DTINYFORGE_SIMD=0",)),
    ]
    if x86:
        variants += [
            ("SSE4.1", True, ("-DTINYFORGE_SIMD=1",)),
            ("AVX2", True, ("-DTINYFORGE_SIMD=2",)),
            ("AVX-512 VNNI", True, ("-DTINYFORGE_SIMD=3",)),
        ]
    variants.append(("SIMD", True, ()))
    rows = []
    for name in args.models:
        model = (MODELS_DIR / f"{name}.tflite").read_bytes()
        graph = read_model(model)
        t_in = graph.tensor(graph.inputs[0])
        x = np.random.default_rng(0).integers(-128, 128, size=t_in.shape, dtype=np.int8)
        outputs: dict[str, bytes] = {}
        with tempfile.TemporaryDirectory(prefix="tinyforge-bench-linux-") as tmp:
            work = Path(tmp)
            input_file = work / "input.bin"
            input_file.write_bytes(x.tobytes())
            exes, counts = {}, {}
            for label, optimize, cflags in variants:
                sub = work / label.replace(" ", "_").replace(".", "")
                exes[label] = build(model, sub, optimize=optimize, cflags=cflags)
                t1, _ = time_ours(exes[label], input_file, 3, 1)
                counts[label] = max(1, int(args.min_time_ms * 1e-3 / max(t1, 1e-7)))
            t1, _ = time_litert(model, x, 3, 1)
            counts["LiteRT"] = max(1, int(args.min_time_ms * 1e-3 / max(t1, 1e-7)))
            times = {k: float("inf") for k in counts}
            # round-robin: a burst of load from elsewhere on the machine hits every variant alike
            for _ in range(args.rounds):
                for label in exes:
                    t_r, outputs[label] = time_ours(exes[label], input_file, counts[label], 1)
                    times[label] = min(times[label], t_r)
                t_r, lrt_out = time_litert(model, x, counts["LiteRT"], 1)
                times["LiteRT"] = min(times["LiteRT"], t_r)
        same = len({outputs[k] for k in outputs}) == 1
        diff = int(
            np.abs(
                np.frombuffer(outputs["SIMD"], np.int8).astype(int)
                - np.frombuffer(lrt_out, np.int8).astype(int)
            ).max()
        )
        rows.append((name, times, same, diff))
        cols = "  ".join(f"{k} {v * 1e6:8.1f} us" for k, v in times.items())
        print(f"{name}: {cols}")
    keys = [v[0] for v in variants] + ["LiteRT"]
    print(f"\nus per inference ({platform.machine()}, one thread, best of {args.rounds} rounds)")
    print(
        "| model | " + " | ".join(keys) + " | SIMD / LiteRT | SIMD / plain C | SIMD / opt C | "
        "builds agree | max diff vs LiteRT |"
    )
    print("| --- |" + " ---: |" * (len(keys) + 3) + " --- | ---: |")
    for name, times, same, diff in rows:
        simd = times["SIMD"]
        ratio = simd / times["LiteRT"]
        verdict = "met" if ratio <= GOAL else "NOT met"
        print(
            f"| {name} | "
            + " | ".join(f"{times[k] * 1e6:.1f}" for k in keys)
            + f" | {ratio:.2f} ({verdict}) | {simd / times['plain C']:.3f} | "
            f"{simd / times['opt C']:.3f} | {same} | {diff} |"
        )


if __name__ == "__main__":
    main()
