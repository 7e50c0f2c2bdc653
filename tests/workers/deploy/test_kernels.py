"""Each kernel on tiny single-op models made by TensorFlow's converter vs the tflite-micro
interpreter."""

import shutil

import numpy as np
import pytest

from tests.workers.deploy.tflite_builders import SINGLE_OP_MODELS, convert, layer
from workers.deploy import compile_model, verify_on_host
from workers.deploy.reader import read_model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)"),
]

FLOAT_CASES = [
    "conv_same_stride2_relu6",
    "conv_valid_dilated",
    "depthwise_mult2",
    "dense_relu",
    "avg_pool_same",
    "max_pool_valid",
    "add_broadcast_relu",
    "mul",
    "softmax",
    "logistic",
    "tanh",
    "relu",
    "relu6",
    "pad",
    "concat",
    "mean",
    "reshape_squeeze",
]


def _inputs(model: bytes, n: int, seed: int) -> list[np.ndarray]:
    g = read_model(model)
    rng = np.random.default_rng(seed)
    arrays = []
    for idx in g.inputs:
        t = g.tensor(idx)
        if t.dtype == "int8":
            arrays.append(rng.integers(-128, 128, size=(n, *t.shape)))
        else:
            arrays.append(rng.uniform(-4, 4, size=(n, *t.shape)).astype(np.float32))
    return arrays


def _check(model: bytes, tmp_path, n: int = 100) -> set[str]:
    compiled = compile_model(model, out_dir=tmp_path / "lib")
    report = verify_on_host(compiled, model, _inputs(model, n, seed=3), work_dir=tmp_path / "work")
    assert report.outputs_equal, report.max_abs_output_diff
    assert report.intermediates_equal, report.mismatches[:3]
    assert report.arena_bytes <= report.tflm_arena_bytes
    return set(compiled.ops)


@pytest.mark.parametrize("name", sorted(SINGLE_OP_MODELS))
def test_int8_kernel_bit_exact(name, tmp_path):
    build, shapes = SINGLE_OP_MODELS[name]
    model = convert(build, shapes)
    assert read_model(model).is_quantized
    _check(model, tmp_path)


DSP_CASES = [
    "depthwise_same_relu6",
    "depthwise_same_narrow",
    "depthwise_same_column",
    "depthwise_same_stride2",
    "depthwise_same_wide",
    "depthwise_stride2_valid",
    "add",
    "add_large",
    "add_large_relu",
    "avg_pool_same_c10",
    "avg_pool_global",
]


@pytest.mark.parametrize("name", DSP_CASES)
def test_int8_dsp_path_emulated_bit_exact(name, tmp_path):
    """The SXTB16/SMLAD code paths (depthwise 3x3 by groups of four channels, ADD through lookup
    tables or one-multiply rescalings, average pooling in int16 pairs) with C stand-ins for the
    instructions, on the host."""
    build, shapes = SINGLE_OP_MODELS[name]
    model = convert(build, shapes)
    compiled = compile_model(model, out_dir=tmp_path / "lib")
    report = verify_on_host(
        compiled,
        model,
        _inputs(model, 50, seed=5),
        work_dir=tmp_path / "work",
        extra_cflags=("-DTINYFORGE_EMULATE_DSP",),
    )
    assert report.bit_exact, report.mismatches[:3]


@pytest.mark.parametrize("name", FLOAT_CASES)
def test_float_kernel_bit_exact(name, tmp_path):
    build, shapes = SINGLE_OP_MODELS[name]
    model = convert(build, shapes, int8=False)
    assert not read_model(model).is_quantized
    _check(model, tmp_path, n=30)


def test_quantize_dequantize_at_float_model_edges(tmp_path):
    model = convert(layer(lambda L: L.Dense(5, activation="tanh")), [(1, 8)], float_io=True)
    ops = _check(model, tmp_path)
    assert {"QUANTIZE", "DEQUANTIZE", "FULLY_CONNECTED", "TANH"} <= ops


def test_every_required_op_is_covered():
    required = {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "AVERAGE_POOL_2D",
        "MAX_POOL_2D",
        "ADD",
        "MUL",
        "RESHAPE",
        "SQUEEZE",
        "SOFTMAX",
        "LOGISTIC",
        "TANH",
        "RELU",
        "RELU6",
        "PAD",
        "CONCATENATION",
        "MEAN",
        "QUANTIZE",
        "DEQUANTIZE",
    }
    from workers.deploy import SUPPORTED_OPS

    assert required <= SUPPORTED_OPS
