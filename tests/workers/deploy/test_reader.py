import json

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from workers.deploy.ir import CompileError
from workers.deploy.reader import read_model

MODEL_NAMES = [
    "kws_ref_model",
    "vww_96_int8",
    "pretrainedResnet_quant",
    "ad01_int8",
    "ad01_fp32",
    "pretrainedResnet",
]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reads_every_shared_model_like_its_card(name):
    path = require_shared(MODELS_DIR / f"{name}.tflite")
    card = json.loads((MODELS_DIR / f"{name}.json").read_text())
    g = read_model(path.read_bytes())
    assert g.ops == sorted(card["tflite_ops"])
    assert len(g.operators) == card["num_operators"]
    t_in, t_out = g.tensor(g.inputs[0]), g.tensor(g.outputs[0])
    assert list(t_in.shape) == card["input"]["shape"] and t_in.dtype == card["input"]["dtype"]
    assert list(t_out.shape) == card["output"]["shape"] and t_out.dtype == card["output"]["dtype"]
    if "quantization" in card["input"]:
        assert t_in.scale == pytest.approx(card["input"]["quantization"]["scale"])
        assert t_in.zero_point == card["input"]["quantization"]["zero_point"]
        assert g.is_quantized
    else:
        assert t_in.quant is None and not g.is_quantized
    for op in g.operators:  # every operator's filter (if any) is constant data of its shape
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w = g.tensor(op.inputs[1])
            assert w.is_constant and w.data.shape == w.shape


def test_options_and_per_channel_quantization():
    g = read_model(require_shared(MODELS_DIR / "kws_ref_model.tflite").read_bytes())
    conv = g.operators[0]
    assert conv.opcode == "CONV_2D"
    assert conv.options["padding"] == "SAME"
    assert conv.options["stride_h"] == 2 and conv.options["fused_activation_function"] == "RELU"
    filt = g.tensor(conv.inputs[1])
    assert filt.quant.per_channel and len(filt.quant.scale) == filt.shape[0] == 64
    assert filt.quant.axis == 0
    assert filt.data.dtype == np.int8
    bias = g.tensor(conv.inputs[2])
    assert bias.dtype == "int32" and bias.data.shape == (64,)


def test_not_a_tflite_file():
    with pytest.raises(CompileError, match="TFL3"):
        read_model(b"PK\x03\x04 this is a zip, not a model")
    with pytest.raises(CompileError, match="TFL3"):
        read_model(b"")


def test_truncated_model_is_a_clear_error():
    data = require_shared(MODELS_DIR / "kws_ref_model.tflite").read_bytes()
    with pytest.raises(CompileError, match="corrupt|tensor|operator"):
        read_model(data[:2000])


def test_garbage_after_header_is_a_clear_error():
    data = bytearray(require_shared(MODELS_DIR / "ad01_int8.tflite").read_bytes())
    rng = np.random.default_rng(0)
    data[8:4000] = rng.integers(0, 256, size=3992, dtype=np.uint8).tobytes()
    with pytest.raises(CompileError):
        read_model(bytes(data))
