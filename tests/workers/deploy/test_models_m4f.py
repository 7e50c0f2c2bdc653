"""The optimised kernels with real SMLAD/SXTB16 instructions: emulated Cortex-M4F (QEMU)."""

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from tests.workers.deploy.tflite_builders import convert, layer
from workers.deploy import compile_model, verify_on_host
from workers.deploy.host import _as_input_list, tflm_reference
from workers.deploy.reader import read_model

pytestmark = [pytest.mark.slow, pytest.mark.toolchain]


def _run(mcu, core, compiled, x, tmp_path, build_dir):
    """The library compiled into `tmp_path / "lib"`, run on `core`'s QEMU machine for inputs x."""
    return mcu.run_model_harness(
        core,
        mcu.HarnessLibrary([tmp_path / "lib" / s for s in compiled.sources], [tmp_path / "lib"]),
        inputs=[v.tobytes() for v in x],
        output_bytes=compiled.output.nbytes,
        out_dir=build_dir,
    )


@pytest.mark.parametrize("name", ["kws_ref_model", "ad01_int8", "vww_96_int8"])
def test_m4f_dsp_kernels_bit_exact(name, tmp_path):
    mcu = pytest.importorskip("workers.deploy.mcu")
    if not mcu.toolchain_available():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/install-toolchain.sh)")
    model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
    compiled = compile_model(model, out_dir=tmp_path / "lib")
    x = np.random.default_rng(11).integers(
        -128, 128, size=(4, *compiled.input.shape), dtype=np.int8
    )
    result = _run(mcu, "cortex-m4f", compiled, x, tmp_path, tmp_path / "build")
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
    from tests.workers.deploy.tflite_builders import SINGLE_OP_MODELS

    mcu = pytest.importorskip("workers.deploy.mcu")
    if not mcu.toolchain_available():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/install-toolchain.sh)")
    build, shapes = SINGLE_OP_MODELS[name]
    model = convert(build, shapes)
    compiled = compile_model(model, out_dir=tmp_path / "lib")
    x = np.random.default_rng(17).integers(
        -128, 128, size=(3, *compiled.input.shape), dtype=np.int8
    )
    result = _run(mcu, "cortex-m4f", compiled, x, tmp_path, tmp_path / "build")
    expected, _ = tflm_reference(model, _as_input_list(read_model(model), x))
    assert [bytes(o) for o in result.outputs] == expected


# Shapes at the edges of the SMLAD loops (tinyforge_kernels_s8_opt.c): the convolution's 4-tap
# step count odd and even, its 2-tap steps of every remainder mod 16 (the quad loop's entries:
# k = 288, 4, 8, 12, 16, 20, 24, 28 in the models below and vww), channel quads with 0-3 plain
# rows after them, an odd last channel, an odd pixel count (the last pixel paired with
# itself), rows padded past in_c (col_stride > in_c), gathered columns (padding, stride 2,
# k > 192), and the fully connected kernel's tails (an odd input word, out_depth % 4, batches).
DSP_EDGE_MODELS = {
    "conv1x1_k12_out7_15px": (layer(lambda L: L.Conv2D(7, 1)), [(1, 3, 5, 12)]),
    "conv1x1_k8_out16_relu": (layer(lambda L: L.Conv2D(16, 1, activation="relu")), [(1, 4, 3, 8)]),
    "conv1x1_in6_out6": (layer(lambda L: L.Conv2D(6, 1)), [(1, 4, 4, 6)]),
    "conv1x1_k20_out8": (layer(lambda L: L.Conv2D(8, 1)), [(1, 3, 3, 20)]),
    "conv1x1_k4_out12": (layer(lambda L: L.Conv2D(12, 1)), [(1, 2, 5, 4)]),
    "conv1x1_k24_out4": (layer(lambda L: L.Conv2D(4, 1)), [(1, 3, 4, 24)]),
    "conv1x1_k16_out6_relu6": (  # clamp narrower than int8: the C requantisation, not the assembly
        layer(lambda L: L.Conv2D(6, 1, activation="relu6")),
        [(1, 3, 3, 16)],
    ),
    "conv1x1_stride2_k16_out3": (layer(lambda L: L.Conv2D(3, 1, strides=2)), [(1, 5, 7, 16)]),
    "conv3x3_same_stride2_k45_out5": (
        layer(lambda L: L.Conv2D(5, 3, strides=2, padding="same")),
        [(1, 7, 9, 5)],
    ),
    "conv3x3_same_k288_out4": (layer(lambda L: L.Conv2D(4, 3, padding="same")), [(1, 5, 3, 32)]),
    "dense_k20_out9": (layer(lambda L: L.Dense(9)), [(1, 20)]),
    "dense_k4_out5": (layer(lambda L: L.Dense(5)), [(1, 4)]),
    "dense_k24_out8_batch2_relu": (layer(lambda L: L.Dense(8, activation="relu")), [(2, 24)]),
}


@pytest.mark.parametrize("name", sorted(DSP_EDGE_MODELS))
def test_dsp_kernel_edge_shapes_bit_exact(name, tmp_path):
    """The SMLAD/SXTB16 loops on the edge shapes: the assembly on an emulated Cortex-M4F (and the
    Helium kernels on the M55), the C stand-ins on the host."""
    build, shapes = DSP_EDGE_MODELS[name]
    model = convert(build, shapes, seed=5)
    compiled = compile_model(model, out_dir=tmp_path / "lib")
    x = np.random.default_rng(13).integers(
        -128, 128, size=(6, *compiled.input.shape), dtype=np.int8
    )
    report = verify_on_host(
        compiled, model, x, work_dir=tmp_path / "host", extra_cflags=("-DTINYFORGE_EMULATE_DSP",)
    )
    assert report.bit_exact, report.mismatches[:3]
    mcu = pytest.importorskip("workers.deploy.mcu")
    if not mcu.toolchain_available():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/install-toolchain.sh)")
    expected, _ = tflm_reference(model, _as_input_list(read_model(model), x))
    for core in ("cortex-m4f", "cortex-m55"):
        result = _run(mcu, core, compiled, x, tmp_path, tmp_path / f"build-{core}")
        assert [bytes(o) for o in result.outputs] == expected, core
