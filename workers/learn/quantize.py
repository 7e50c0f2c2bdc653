"""Keras → .tflite conversion (float32, or full-integer int8 post-training quantization) and
reading .tflite files: input/output details, the operators used, a model card.

Reading a .tflite uses only the `tflite` flatbuffer bindings (no TensorFlow), so the web
process can inspect an uploaded model cheaply. Conversion imports TensorFlow lazily.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections import Counter
from typing import Any

import numpy as np

from workers.learn.errors import LearnError

_TENSOR_TYPES = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    5: "string",
    6: "bool",
    7: "int16",
    8: "complex64",
    9: "int8",
    10: "float64",
    11: "complex128",
    12: "uint64",
    13: "resource",
    14: "variant",
    15: "uint32",
    16: "uint16",
    17: "int4",
    18: "bfloat16",
}
_DTYPE_BYTES = {
    "float32": 4,
    "float16": 2,
    "int32": 4,
    "uint8": 1,
    "int64": 8,
    "bool": 1,
    "int16": 2,
    "int8": 1,
    "float64": 8,
    "uint64": 8,
    "uint32": 4,
    "uint16": 2,
    "bfloat16": 2,
}


# --------------------------------------------------------------------------- conversion


def to_tflite(model: Any, *, representative: np.ndarray | None = None, int8: bool) -> bytes:
    """Convert a Keras model to a .tflite flatbuffer.

    int8=True: full-integer post-training quantization calibrated on `representative`
    (a few hundred training feature vectors, shaped like the model input), int8 weights
    and activations, and int8 input AND output tensors (what a microcontroller wants).
    int8=False: a float32 model (`representative` is ignored).
    """
    import tensorflow as tf

    # convert a batch-1 clone: with a dynamic batch axis a reshape becomes
    # SHAPE + STRIDED_SLICE + PACK + RESHAPE; with batch 1 it is one RESHAPE (what an MCU runs)
    converter = tf.lite.TFLiteConverter.from_keras_model(_batch_one(model))
    if int8:
        if representative is None or len(representative) == 0:
            raise LearnError(
                "int8 quantization needs a representative data set (training features); none given"
            )
        rep = np.asarray(representative, dtype=np.float32)
        in_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        if rep.shape[1:] != in_shape:
            if math.prod(rep.shape[1:]) != math.prod(in_shape):
                raise LearnError(
                    f"representative data has shape {rep.shape[1:]} per sample, the model "
                    f"input is {in_shape}"
                )
            rep = rep.reshape((len(rep),) + in_shape)
        if not np.isfinite(rep).all():
            raise LearnError("the representative data set contains NaN or infinity")

        def gen() -> Any:
            for row in rep:
                yield [row[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = gen
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    try:
        # Keras' export prints "Saved artifact at ..." to stdout: keep it out of job logs
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            # int8 I/O makes the converter ask for input statistics it then takes from calibration
            warnings.filterwarnings(
                "ignore", message="Statistics for quantized inputs were expected"
            )
            return bytes(converter.convert())
    except Exception as exc:  # the converter's own errors are long; keep the first line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LearnError(f"conversion to .tflite failed: {first}") from exc


def _batch_one(model: Any) -> Any:
    """The same model with its batch axis fixed to 1 (a clone sharing the weights' values)."""
    import keras

    if model.inputs[0].shape[0] == 1:
        return model
    in_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    try:
        clone = keras.models.clone_model(
            model, input_tensors=keras.Input(batch_shape=(1, *in_shape))
        )
    except Exception:  # a subclassed or unusual model: convert as it is
        return model
    clone.set_weights(model.get_weights())
    return clone


# --------------------------------------------------------------------------- reading


def _load(tflite_bytes: Any) -> Any:
    import tflite

    if isinstance(tflite_bytes, bytearray | memoryview):
        tflite_bytes = bytes(tflite_bytes)
    if not isinstance(tflite_bytes, bytes):
        raise LearnError(f"expected the bytes of a .tflite file, got {type(tflite_bytes).__name__}")
    if len(tflite_bytes) < 16:
        raise LearnError(f"not a .tflite model: the file is only {len(tflite_bytes)} bytes long")
    if tflite_bytes[4:8] != b"TFL3":
        raise LearnError(
            "not a .tflite model: the flatbuffer identifier 'TFL3' is missing (is this a Keras "
            ".h5/.keras file, a SavedModel or a corrupt upload?)"
        )
    try:
        model = tflite.Model.GetRootAsModel(tflite_bytes, 0)
        if model.SubgraphsLength() < 1:
            raise LearnError("corrupt .tflite model: it has no subgraph")
        _ = model.Version()
    except LearnError:
        raise
    except Exception as exc:
        raise LearnError(
            f"corrupt .tflite model: cannot read the flatbuffer ({type(exc).__name__})"
        ) from exc
    return model


def _op_name(model: Any, opcode_index: int) -> str:
    import tflite

    code = model.OperatorCodes(opcode_index)
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == 32:  # CUSTOM
        custom = code.CustomCode()
        return f"CUSTOM:{custom.decode() if custom else '?'}"
    return tflite.BUILTIN_OPCODE2NAME.get(builtin, f"UNKNOWN_{builtin}")


def _tensor_info(model: Any, graph: Any, index: int) -> dict[str, Any]:
    t = graph.Tensors(index)
    dtype = _TENSOR_TYPES.get(t.Type(), f"type_{t.Type()}")
    shape = [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() else []
    q = t.Quantization()
    scale: list[float] = []
    zero: list[int] = []
    if q is not None and q.ScaleLength():
        scale = [float(s) for s in q.ScaleAsNumpy()]
        zero = [int(z) for z in q.ZeroPointAsNumpy()] if q.ZeroPointLength() else [0] * len(scale)
    name = t.Name()
    return {
        "index": index,
        "name": name.decode(errors="replace") if name else "",
        "shape": shape,
        "dtype": dtype,
        "scale": scale[0] if len(scale) == 1 else (scale or None),
        "zero_point": zero[0] if len(zero) == 1 else (zero or None),
        "per_channel": len(scale) > 1,
    }


def _parse(tflite_bytes: Any) -> dict[str, Any]:
    model = _load(tflite_bytes)
    try:
        graph = model.Subgraphs(0)
        inputs = [_tensor_info(model, graph, int(i)) for i in graph.InputsAsNumpy()]
        outputs = [_tensor_info(model, graph, int(i)) for i in graph.OutputsAsNumpy()]
        ops: list[dict[str, Any]] = []
        for k in range(graph.OperatorsLength()):
            op = graph.Operators(k)
            ins = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
            outs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
            ops.append({"name": _op_name(model, op.OpcodeIndex()), "inputs": ins, "outputs": outs})
        tensors = []
        for i in range(graph.TensorsLength()):
            t = graph.Tensors(i)
            buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
            has_data = buf is not None and (buf.DataLength() > 0 or buf.Size() > 0)
            info = _tensor_info(model, graph, i)
            info["constant"] = bool(has_data)
            tensors.append(info)
    except LearnError:
        raise
    except Exception as exc:
        raise LearnError(
            f"corrupt .tflite model: cannot read the flatbuffer ({type(exc).__name__}: {exc})"
        ) from exc
    if not inputs or not outputs:
        raise LearnError("corrupt .tflite model: the graph has no input or no output tensor")
    return {
        "inputs": inputs,
        "outputs": outputs,
        "operators": ops,
        "tensors": tensors,
        "subgraphs": model.SubgraphsLength(),
    }


def tflite_io_details(tflite_bytes: Any) -> dict[str, Any]:
    """Shape, dtype, scale and zero point of the (first) input and output tensors.

    ``{"input": {"shape", "dtype", "scale", "zero_point", "name"}, "output": {...},
    "inputs": [...], "outputs": [...]}`` (scale/zero_point None for float tensors).
    """
    parsed = _parse(tflite_bytes)
    keep = ("name", "shape", "dtype", "scale", "zero_point")
    ins = [{k: t[k] for k in keep} for t in parsed["inputs"]]
    outs = [{k: t[k] for k in keep} for t in parsed["outputs"]]
    return {"input": ins[0], "output": outs[0], "inputs": ins, "outputs": outs}


def _macs(op: dict[str, Any], tensors: list[dict[str, Any]]) -> int:
    name = op["name"]
    if not op["outputs"] or not op["inputs"]:
        return 0
    out = tensors[op["outputs"][0]]["shape"]
    out_n = math.prod(out) if out else 0
    if name == "FULLY_CONNECTED" and len(op["inputs"]) > 1:
        w = tensors[op["inputs"][1]]["shape"]
        return out_n * (w[-1] if w else 0)
    if name == "CONV_2D" and len(op["inputs"]) > 1:
        w = tensors[op["inputs"][1]]["shape"]  # [out_ch, kh, kw, in_ch]
        return out_n * (math.prod(w[1:]) if len(w) == 4 else 0)
    if name == "DEPTHWISE_CONV_2D" and len(op["inputs"]) > 1:
        w = tensors[op["inputs"][1]]["shape"]  # [1, kh, kw, out_ch]
        return out_n * (w[1] * w[2] if len(w) == 4 else 0)
    return 0


def model_card(tflite_bytes: Any, keras_model: Any = None) -> dict[str, Any]:
    """A JSON-able summary: input/output details, kind (int8/float32/mixed), operators used
    (in graph order, with counts), tensor count, parameter count (constant tensor elements),
    weight bytes, MACs (conv/depthwise/fully-connected), file size; with `keras_model`, also
    Keras' own parameter count."""
    parsed = _parse(tflite_bytes)
    tensors = parsed["tensors"]
    ops = parsed["operators"]
    counts = Counter(op["name"] for op in ops)
    const = [t for t in tensors if t["constant"]]
    io = tflite_io_details(tflite_bytes)
    in_dtype, out_dtype = io["input"]["dtype"], io["output"]["dtype"]
    if in_dtype == out_dtype == "int8":
        kind = "int8"
    elif in_dtype == out_dtype == "float32" and not any(t["dtype"] == "int8" for t in tensors):
        kind = "float32"
    else:
        kind = "mixed"
    card: dict[str, Any] = {
        "kind": kind,
        "input": io["input"],
        "output": io["output"],
        "n_inputs": len(parsed["inputs"]),
        "n_outputs": len(parsed["outputs"]),
        "operators": list(dict.fromkeys(op["name"] for op in ops)),
        "operator_counts": dict(counts),
        "layers": [
            {
                "op": op["name"],
                "output_shape": tensors[op["outputs"][0]]["shape"] if op["outputs"] else [],
                "macs": _macs(op, tensors),
            }
            for op in ops
        ],
        "n_tensors": len(tensors),
        "parameters": int(sum(math.prod(t["shape"]) if t["shape"] else 1 for t in const)),
        "weight_bytes": int(
            sum(
                (math.prod(t["shape"]) if t["shape"] else 1) * _DTYPE_BYTES.get(t["dtype"], 1)
                for t in const
            )
        ),
        "macs": int(sum(_macs(op, tensors) for op in ops)),
        "file_bytes": len(tflite_bytes),
        "subgraphs": parsed["subgraphs"],
    }
    if keras_model is not None:
        card["keras_parameters"] = int(keras_model.count_params())
    return card


def verify_tflite(tflite_bytes: Any) -> None:
    """Run LiteRT's flatbuffer verifier over the file (no TensorFlow import): a file that
    passes can be handed to the C++ interpreters without risking the process."""
    _load(tflite_bytes)
    from ai_edge_litert.interpreter import Interpreter

    try:
        Interpreter(model_content=bytes(tflite_bytes))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LearnError(f"corrupt .tflite model: {first}") from exc


def inspect_tflite(tflite_bytes: Any, *, supported_ops: set[str] | None = None) -> dict[str, Any]:
    """Check an uploaded .tflite (float or int8): the model card plus, when `supported_ops`
    is given, ``"unsupported_ops"`` (sorted; empty when the deployment compiler takes every
    op). Raises `LearnError` for a file that is not a readable .tflite or has more than one
    subgraph, or whose input/output is neither float32 nor int8."""
    verify_tflite(tflite_bytes)
    card = model_card(tflite_bytes)
    if card["subgraphs"] != 1:
        raise LearnError(
            f"the model has {card['subgraphs']} subgraphs; only single-graph models are supported"
        )
    for side in ("input", "output"):
        if card[side]["dtype"] not in ("float32", "int8"):
            raise LearnError(
                f"the model's {side} tensor is {card[side]['dtype']}; only float32 or int8 "
                f"{side}s are supported"
            )
    if supported_ops is not None:
        card["unsupported_ops"] = sorted(set(card["operators"]) - set(supported_ops))
    return card


def require_supported_ops(tflite_bytes: Any, *, supported_ops: set[str]) -> dict[str, Any]:
    """`inspect_tflite`, raising `LearnError` listing the operators the compiler does not
    support."""
    card = inspect_tflite(tflite_bytes, supported_ops=supported_ops)
    if card["unsupported_ops"]:
        raise LearnError(
            f"the model uses operator(s) the deployment compiler does not support: "
            f"{', '.join(card['unsupported_ops'])} (supported: {', '.join(sorted(supported_ops))})"
        )
    return card
