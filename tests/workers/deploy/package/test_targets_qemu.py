"""Libraries the deployment builder packages, run under QEMU on every Cortex-M core: bit-exact with TFLM."""

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
        pytest.skip("arm-none-eabi-gcc / qemu-system-arm not installed (scripts/install-toolchain.sh installs them)")


def _inputs(lib, n: int = 8) -> np.ndarray:  # noqa: ANN001
    return np.random.default_rng(7).integers(-128, 128, size=(n, *lib.compiled.input.shape[1:]), dtype=np.int8)


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m3", "cortex-m7", "cortex-m33"])
def test_ad01_on_every_other_core(target, tmp_path):
    _need_toolchain()
    model = (require_shared(MODELS_DIR) / "ad01_int8.tflite").read_bytes()
    lib = build_library(model, target=target)
    report = verify_library(lib, model, target=target, model_inputs=_inputs(lib), work_dir=tmp_path, log=lambda m: None)
    assert report["host"]["bit_exact"] and report["target"]["bit_exact"], report
    assert report["target"]["instructions"] > 100_000


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"])
def test_every_shared_model_on_m55(name, tmp_path):
    _need_toolchain()
    model = (require_shared(MODELS_DIR) / f"{name}.tflite").read_bytes()
    lib = build_library(model, target="cortex-m55")
    report = verify_library(lib, model, target="cortex-m55", model_inputs=_inputs(lib, 4), work_dir=tmp_path,
                            log=lambda m: None)
    assert report["target"]["bit_exact"], report
