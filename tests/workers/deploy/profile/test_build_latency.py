"""Builds report milliseconds, not only instructions (issue 11): the verification's QEMU run
counts classes, the cycle model prices them, the manifest carries cycles, clock and latency."""

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from workers.deploy.mcu import toolchain_available
from workers.deploy.package import build_library
from workers.deploy.package.verify import record_in_manifest, verify_library


@pytest.mark.toolchain
@pytest.mark.skipif(not toolchain_available(), reason="needs the Arm toolchain and QEMU")
def test_build_manifest_has_cycles_and_latency(tmp_path):
    model = (require_shared(MODELS_DIR) / "ad01_int8.tflite").read_bytes()
    lib = build_library(model, target="cortex-m4f")
    rng = np.random.default_rng(0)
    inputs = rng.integers(-128, 128, size=(3, *lib.compiled.input.shape[1:]), dtype=np.int8)
    lines: list[str] = []
    report = verify_library(
        lib, model, target="cortex-m4f", model_inputs=inputs, work_dir=tmp_path, log=lines.append
    )
    t = report["target"]
    assert t["bit_exact"] and t["clock_hz"] == 64_000_000
    assert t["cycles"] > t["instructions"] > 300_000  # 0.38 M instructions (bench/infer.py)
    assert t["latency_ms"] == pytest.approx(t["cycles"] / 64_000, rel=1e-3)
    assert any(" ms at 64 MHz" in line for line in lines)
    manifest: dict = {}
    record_in_manifest(manifest, report)
    assert manifest["latency_ms"] == t["latency_ms"] and manifest["cycles"] == t["cycles"]
