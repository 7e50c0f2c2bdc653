"""Verify a packaged library before anyone downloads it.

1. host: the compiled model, byte for byte against the TFLite Micro interpreter (outputs and every
   intermediate tensor), via `workers.deploy.host.verify_on_host`;
2. host: the whole impulse (DSP in C + model) on real signal windows: same class as the Python
   pipeline for every window, scores within one output step, anomaly scores (K-means or GMM)
   within 1% of the platform's;
3. Cortex-M targets with the Arm toolchain present: the model built for the target runs under
   QEMU, outputs compared with the interpreter, executed instructions counted per inference;
4. Linux targets: the Linux runner (`model.eim`, `package.eim`) built for the target runs the same
   windows through Edge Impulse's runner protocol (linux-aarch64 under qemu-aarch64 when the cross
   compiler and QEMU are installed) and is shipped in the library when it classifies them all as
   the platform does.

`verify_library` runs them and reports; `verdict` decides from the report whether the library may
be shipped, and `record_in_manifest` copies the report and the target's measurements into the
library's manifest. The build job and `tinyforge build --verify` both use these three.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np

from workers.deploy.package import Library, write_library


def reference_outputs(tflite_bytes: bytes, inputs: np.ndarray) -> list[bytes]:
    """Raw output tensor bytes of the TFLite Micro interpreter for each input (in the input tensor's
    dtype)."""
    from tflite_micro.python.tflite_micro import runtime

    from workers.deploy.reader import read_model

    graph = read_model(tflite_bytes)
    shape = tuple(graph.tensor(graph.inputs[0]).shape)
    interp = runtime.Interpreter.from_bytes(bytes(tflite_bytes))
    out = []
    for row in inputs:  # one inference's input: the whole input tensor (a batch > 1 included)
        interp.set_input(np.ascontiguousarray(row).reshape(shape), 0)
        interp.invoke()
        out.append(np.ascontiguousarray(interp.get_output(0)).tobytes())
    return out


ANOMALY_RTOL = 1e-2  # float32 in C over the C DSP's features vs float64 over the Python features


def _compare_anomaly(got: np.ndarray, expected: np.ndarray) -> dict[str, Any]:
    """Relative difference of the anomaly scores, against the scale of the scores seen."""
    scale = max(float(np.abs(expected).max()), 1e-6)
    rel = float(np.abs(got - expected).max() / scale)
    return {"anomaly_max_rel_diff": rel, "anomaly_agrees": bool(rel <= ANOMALY_RTOL)}


def verify_library(
    lib: Library,
    tflite_bytes: bytes,
    *,
    target: str,
    model_inputs: np.ndarray,
    windows: np.ndarray | None = None,
    expected_scores: np.ndarray | None = None,
    expected_anomaly: np.ndarray | None = None,
    log: Callable[[str], None] = print,
    work_dir: Path | None = None,
    run_target: bool = True,
) -> dict[str, Any]:
    """Run the checks; returns what goes into the manifest (and raises nothing for a mismatch: it
    reports)."""
    from workers.deploy import verify_on_host

    report: dict[str, Any] = {}
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="tinyforge-verify-")
        work_dir = Path(tmp.name)
    wd = Path(work_dir)
    try:
        host = verify_on_host(lib.compiled, tflite_bytes, model_inputs, work_dir=wd / "model")
        report["host"] = {
            "inferences": host.inferences,
            "bit_exact": host.bit_exact,
            "outputs_equal": host.outputs_equal,
            "intermediates_equal": host.intermediates_equal,
            "tensors_compared": host.tensors_compared,
            "mismatches": len(host.mismatches),
            "tflm_arena_bytes": host.tflm_arena_bytes,
        }
        log(
            f"host: {host.inferences} inferences, outputs "
            f"{'equal' if host.outputs_equal else 'DIFFER'}, {host.tensors_compared} intermediate "
            f"tensors {'equal' if host.intermediates_equal else 'DIFFER'} (TFLM interpreter arena "
            f"{host.tflm_arena_bytes} B, ours {lib.compiled.arena_bytes} B)"
        )
        bit_exact = host.bit_exact
        if windows is not None and expected_scores is not None and len(windows):
            lib_dir = wd / "lib"
            write_library(lib, lib_dir)
            make = subprocess.run(
                ["make", "-C", str(lib_dir), "classify"], capture_output=True, text=True
            )
            if make.returncode != 0:
                raise RuntimeError(
                    f"the library does not build on the host:\n{make.stderr[-3000:]}"
                )
            run = subprocess.run(
                [str(lib_dir / "classify")],
                input=np.asarray(windows, np.float32).tobytes(),
                capture_output=True,
                timeout=600,
            )
            if run.returncode != 0:
                raise RuntimeError(
                    f"the impulse failed on the host: {run.stderr.decode(errors='replace')[-2000:]}"
                )
            n_labels = expected_scores.shape[1]
            out = np.frombuffer(run.stdout, dtype=np.float32).reshape(len(windows), n_labels + 1)
            got = out[:, :n_labels]
            same = float((got.argmax(1) == expected_scores.argmax(1)).mean())
            step = lib.manifest["output"]["scale"] or 0.0
            diff = float(np.abs(got - expected_scores).max())
            report["impulse"] = {
                "windows": int(len(windows)),
                "same_class": same,
                "max_score_diff": diff,
                "output_step": step,
            }
            log(
                f"host impulse (DSP in C + model) on {len(windows)} windows: same class "
                f"{100 * same:.1f}%, largest score difference {diff:.4f} (one output step = "
                f"{step:.4f})"
            )
            if expected_anomaly is not None:
                report["impulse"].update(
                    _compare_anomaly(out[:, n_labels], np.asarray(expected_anomaly, np.float64))
                )
                log(
                    "host anomaly scores (C, float32) vs the platform's: largest relative "
                    f"difference {report['impulse']['anomaly_max_rel_diff']:.2e} "
                    f"({'agree' if report['impulse']['anomaly_agrees'] else 'DIFFER'})"
                )
            if lib.eim_sources:
                from workers.deploy.package.eim import verify_eim

                report["eim"] = verify_eim(
                    lib,
                    lib_dir,
                    target=target,
                    windows=windows,
                    expected_scores=expected_scores,
                    log=log,
                )
        from workers.deploy.targets import get_target

        tgt = get_target(target)
        if run_target and tgt.kind == "cortex-m":
            from workers.deploy.mcu import HarnessLibrary, run_model_harness, toolchain_available

            if not toolchain_available():
                log(
                    f"{target}: Arm toolchain or QEMU not installed: skipped the on-target run "
                    "(scripts/install-toolchain.sh installs them)"
                )
                report["target"] = {"skipped": "toolchain not installed"}
            else:
                src = wd / "target-src"
                write_library(lib, src)
                sources = [src / s for s in lib.model_sources]
                # one row per inference, shaped like the whole input tensor (batch included), as
                # the host run groups them
                batched = np.asarray(model_inputs).reshape((-1, *lib.compiled.input.shape))
                rows = batched[: min(len(batched), 20)]
                res = run_model_harness(
                    target,
                    HarnessLibrary(sources, [src / "src"]),
                    inputs=[np.ascontiguousarray(r).tobytes() for r in rows],
                    output_bytes=lib.compiled.output.nbytes,
                    out_dir=wd / "target-build",
                    count_classes=True,
                )
                expected = reference_outputs(tflite_bytes, rows)
                equal = [bytes(a) == b for a, b in zip(res.outputs, expected, strict=True)]
                instructions = int(np.median(res.instructions)) if res.instructions else None
                # RAM = data + bss (the arena and DSP scratch are static, so inside bss) + the
                # deepest stack
                cycles = _median_cycles(res.classes, target)
                clock_hz = tgt.clock_hz
                report["target"] = {
                    "cycles": cycles,
                    "clock_hz": clock_hz,
                    "latency_ms": (
                        round(cycles / clock_hz * 1000, 4) if cycles and clock_hz else None
                    ),
                    "machine": res.machine,
                    "inferences": len(rows),
                    "bit_exact": all(equal),
                    "instructions": instructions,
                    "flash_bytes": res.flash_bytes,
                    "ram_bytes": res.ram_bytes + res.stack_used_bytes,
                    "data_bss_bytes": res.ram_bytes,
                    "stack_used_bytes": res.stack_used_bytes,
                }
                bit_exact = bit_exact and all(equal)
                log(
                    f"{target} under QEMU ({res.machine}): {len(rows)} inferences, outputs "
                    f"{'equal' if all(equal) else 'DIFFER'} to the interpreter, {instructions} "
                    f"instructions per inference = {cycles or 0:,} cycles = "
                    f"{report['target']['latency_ms']} ms at {(clock_hz or 0) / 1e6:g} MHz "
                    f"(cycle model, docs/profile.md); the harness program: text+data "
                    f"{res.flash_bytes} B, data+bss {res.ram_bytes} B, stack "
                    f"{res.stack_used_bytes} B"
                )
        report["bit_exact"] = bit_exact
        return report
    finally:
        if tmp is not None:
            tmp.cleanup()


TARGET_MEASUREMENTS = (
    "instructions",
    "cycles",
    "latency_ms",
    "clock_hz",
    "flash_bytes",
    "ram_bytes",
)


def _median_cycles(classes: list[dict[str, int]], target: str) -> int | None:
    """Median cycles per inference from the class counts (issue 11 cycle model)."""
    from workers.deploy.profile.cycles import CORES, cycles_from_classes

    if not classes or target not in CORES:
        return None
    return int(np.median([cycles_from_classes(c, target).cycles for c in classes]))


def verdict(report: Mapping[str, Any]) -> list[str]:
    """Why the verification `report` (from `verify_library`) fails the build; empty when it passes.

    The model's outputs and intermediate tensors must equal the TFLite Micro interpreter's (on the
    host and, when it ran, on the target), the C impulse must classify every test window as the
    platform does, and its anomaly scores must agree with the platform's; so must the Linux runner
    (model.eim) when it was built.
    """
    reasons = []
    if not report["bit_exact"]:
        host, target = report.get("host") or {}, report.get("target") or {}
        where = []
        if host and not host.get("bit_exact", True):
            where.append(
                f"on the host: outputs {'equal' if host.get('outputs_equal') else 'differ'}, "
                f"{host.get('mismatches', 0)} intermediate tensor mismatches"
            )
        if target.get("bit_exact") is False:
            where.append(f"under QEMU ({target.get('machine', '?')}): outputs differ")
        detail = f" ({'; '.join(where)})" if where else ""
        reasons.append(f"the library's outputs differ from the TFLite Micro interpreter{detail}")
    impulse = report.get("impulse") or {}
    if impulse and impulse["same_class"] < 1.0:
        reasons.append(
            f"the C impulse classifies {100 * (1 - impulse['same_class']):.1f}% of the test "
            "windows differently from the platform"
        )
    if impulse.get("anomaly_agrees") is False:
        reasons.append(
            "the C anomaly scores differ from the platform's (largest relative difference "
            f"{impulse['anomaly_max_rel_diff']:.2%})"
        )
    eim = report.get("eim") or {}
    if eim.get("same_class", 1.0) < 1.0:
        reasons.append(
            f"the Linux runner (model.eim) classifies {100 * (1 - eim['same_class']):.1f}% of the "
            f"test windows differently from the platform ({eim['ran']})"
        )
    return reasons


def record_in_manifest(manifest: MutableMapping[str, Any], report: Mapping[str, Any]) -> None:
    """Put the verification `report` into the library's manifest: the report itself, `bit_exact`,
    and the instructions, flash and RAM measured on the target when it ran there."""
    manifest["verification"] = report
    manifest["bit_exact"] = report["bit_exact"]
    measured = report.get("target") or {}
    for key in TARGET_MEASUREMENTS:
        if measured.get(key) is not None:
            manifest[key] = measured[key]
