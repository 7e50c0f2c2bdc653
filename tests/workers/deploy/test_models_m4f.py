"""The optimised kernels with real SMLAD/SXTB16 instructions: emulated Cortex-M4F (QEMU)."""

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from workers.deploy import compile_model
from workers.deploy.host import _as_input_list, tflm_reference
from workers.deploy.reader import read_model

pytestmark = [pytest.mark.slow, pytest.mark.toolchain]


@pytest.mark.parametrize("name", ["kws_ref_model", "ad01_int8"])
def test_m4f_dsp_kernels_bit_exact(name, tmp_path):
    mcu = pytest.importorskip("workers.deploy.mcu")
    if not mcu.toolchain_available():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/install-toolchain.sh)")
    model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
    compiled = compile_model(model, out_dir=tmp_path / "lib")
    x = np.random.default_rng(11).integers(
        -128, 128, size=(4, *compiled.input.shape), dtype=np.int8
    )
    result = mcu.run_model_harness(
        "cortex-m4f",
        mcu.HarnessLibrary([tmp_path / "lib" / s for s in compiled.sources], [tmp_path / "lib"]),
        inputs=[v.tobytes() for v in x],
        output_bytes=compiled.output.nbytes,
        out_dir=tmp_path / "build",
    )
    expected, _ = tflm_reference(model, _as_input_list(read_model(model), x))
    assert [bytes(o) for o in result.outputs] == expected
    assert all(n > compiled.macs for n in result.instructions)  # at least one instruction per MAC


@pytest.mark.parametrize(
    "name",
    [
        "depthwise_same_relu6",
        "depthwise_same_narrow",
        "depthwise_same_column",
        "depthwise_same_stride2",
        "depthwise_same_wide",
        "avg_pool_same_c10",
    ],
)
def test_m4f_dsp_kernel_edge_cases_bit_exact(name, tmp_path):
    """Single-op models through the DSP kernels' assembly (depthwise borders, narrow images,
    stride 2, a relu6 clamp, rows wider than the copies, SXTAB16 pooling) on the emulated M4F;
    ADD's paths run in ResNet (tables in the speed plan, small tiles in the ram plan)."""
    from tests.workers.deploy.tflite_builders import SINGLE_OP_MODELS, convert

    mcu = pytest.importorskip("workers.deploy.mcu")
    if not mcu.toolchain_available():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/install-toolchain.sh)")
    build, shapes = SINGLE_OP_MODELS[name]
    model = convert(build, shapes)
    compiled = compile_model(model, out_dir=tmp_path / "lib")
    x = np.random.default_rng(17).integers(
        -128, 128, size=(3, *compiled.input.shape), dtype=np.int8
    )
    result = mcu.run_model_harness(
        "cortex-m4f",
        mcu.HarnessLibrary([tmp_path / "lib" / s for s in compiled.sources], [tmp_path / "lib"]),
        inputs=[v.tobytes() for v in x],
        output_bytes=compiled.output.nbytes,
        out_dir=tmp_path / "build",
    )
    expected, _ = tflm_reference(model, _as_input_list(read_model(model), x))
    assert [bytes(o) for o in result.outputs] == expected
