"""Libraries the deployment builder packages, run under QEMU on every Cortex-M core: bit-exact with
TFLM."""

from __future__ import annotations

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from workers.deploy.mcu import toolchain_available
from workers.deploy.package import build_library
from workers.deploy.package.verify import verify_library

pytestmark = [pytest.mark.toolchain]


def _need_toolchain() -> None:
    if not toolchain_available():
        pytest.skip(
            "arm-none-eabi-gcc / qemu-system-arm not installed "
            "(scripts/install-toolchain.sh installs them)"
        )


def _inputs(lib, n: int = 8) -> np.ndarray:
    return np.random.default_rng(7).integers(
        -128, 128, size=(n, *lib.compiled.input.shape[1:]), dtype=np.int8
    )


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m3", "cortex-m7", "cortex-m33"])
def test_ad01_on_every_other_core(target, tmp_path):
    _need_toolchain()
    model = (require_shared(MODELS_DIR) / "ad01_int8.tflite").read_bytes()
    lib = build_library(model, target=target)
    report = verify_library(
        lib, model, target=target, model_inputs=_inputs(lib), work_dir=tmp_path, log=lambda m: None
    )
    assert report["host"]["bit_exact"] and report["target"]["bit_exact"], report
    assert report["target"]["instructions"] > 100_000


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
)
def test_every_shared_model_on_m55(name, tmp_path):
    _need_toolchain()
    model = (require_shared(MODELS_DIR) / f"{name}.tflite").read_bytes()
    lib = build_library(model, target="cortex-m55")
    report = verify_library(
        lib,
        model,
        target="cortex-m55",
        model_inputs=_inputs(lib, 4),
        work_dir=tmp_path,
        log=lambda m: None,
    )
    assert report["target"]["bit_exact"], report


@pytest.mark.parametrize("name", ["ad01_int8", "kws_ref_model", "pretrainedResnet_quant"])
def test_helium_kernels_on_m55_are_bit_exact_and_faster(name, tmp_path):
    """The same library on the M55 with its Helium (MVE) loops and with them compiled out
    (-DTINYFORGE_NO_MVE: the SMLAD path): identical outputs, equal to the interpreter's, and
    fewer executed instructions with Helium (FC and conv dot products, depthwise channels,
    vectorised requantisation, residual ADDs, average pooling)."""
    _need_toolchain()
    from workers.deploy.mcu import HarnessLibrary, run_model_harness
    from workers.deploy.package import write_library
    from workers.deploy.package.verify import reference_outputs

    model = (require_shared(MODELS_DIR) / f"{name}.tflite").read_bytes()
    lib = build_library(model, target="cortex-m55")
    write_library(lib, tmp_path / "src")
    rows = _inputs(lib, 3)
    runs = {}
    for variant, defines in (("helium", None), ("dsp", {"TINYFORGE_NO_MVE": "1"})):
        sources = [tmp_path / "src" / s for s in lib.model_sources]
        library = HarnessLibrary(sources, [tmp_path / "src" / "src"], defines=defines or {})
        runs[variant] = run_model_harness(
            "cortex-m55",
            library,
            inputs=[r.tobytes() for r in rows],
            output_bytes=lib.compiled.output.nbytes,
            out_dir=tmp_path / variant,
        )
    expected = reference_outputs(model, rows)
    assert (
        [bytes(o) for o in runs["helium"].outputs]
        == [bytes(o) for o in runs["dsp"].outputs]
        == expected
    )
    helium, dsp = np.median(runs["helium"].instructions), np.median(runs["dsp"].instructions)
    assert helium < 0.75 * dsp, (helium, dsp)
