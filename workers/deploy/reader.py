"""Read a `.tflite` flatbuffer into the typed IR (`ir.Graph`), with clear errors for bad files."""

from __future__ import annotations

import re

import numpy as np
import tflite

from workers.deploy.ir import CompileError, Graph, Operator, Quantization, Tensor

_TENSOR_TYPES = {
    tflite.TensorType.FLOAT32: "float32",
    tflite.TensorType.INT32: "int32",
    tflite.TensorType.UINT8: "uint8",
    tflite.TensorType.INT64: "int64",
    tflite.TensorType.BOOL: "bool",
    tflite.TensorType.INT16: "int16",
    tflite.TensorType.INT8: "int8",
}
_NUMPY = {
    "float32": "<f4",
    "int32": "<i4",
    "uint8": "u1",
    "int64": "<i8",
    "bool": "u1",
    "int16": "<i2",
    "int8": "i1",
}
_OP_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_OPTION_NAMES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}
_ACTIVATIONS = {
    v: k for k, v in vars(tflite.ActivationFunctionType).items() if not k.startswith("_")
}
_PADDINGS = {v: k for k, v in vars(tflite.Padding).items() if not k.startswith("_")}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _read_options(op) -> dict:
    kind = op.BuiltinOptionsType()
    if kind == 0:
        return {}
    cls_name = _OPTION_NAMES.get(kind)
    cls = getattr(tflite, cls_name, None) if cls_name else None
    table = op.BuiltinOptions()
    if cls is None or table is None:
        return {}
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    result: dict = {}
    names = [n for n in dir(cls) if not n.startswith("_")]
    for name in names:
        if (
            name.startswith("GetRootAs")
            or name in ("Init", "GetRootAs")
            or name.endswith(("BufferHasIdentifier", "AsNumpy", "IsNone", "Length"))
        ):
            continue
        if name + "AsNumpy" in names:
            if getattr(opts, name + "IsNone")():
                value = []
            else:
                value = [int(v) for v in getattr(opts, name + "AsNumpy")()]
        else:
            try:
                value = getattr(opts, name)()
            except TypeError:
                continue
        result[_snake(name)] = value
    if "fused_activation_function" in result:
        result["fused_activation_function"] = _ACTIVATIONS[result["fused_activation_function"]]
    if "padding" in result and cls_name != "PadOptions":
        result["padding"] = _PADDINGS.get(result["padding"], result["padding"])
    return result


def _quantization(t) -> Quantization | None:
    q = t.Quantization()
    if q is None or q.ScaleIsNone() or q.ScaleLength() == 0:
        return None
    scales = tuple(float(s) for s in q.ScaleAsNumpy())
    zps = (
        tuple(int(z) for z in q.ZeroPointAsNumpy())
        if not q.ZeroPointIsNone()
        else (0,) * len(scales)
    )
    if len(zps) == 1 and len(scales) > 1:
        zps = zps * len(scales)
    return Quantization(scale=scales, zero_point=zps, axis=int(q.QuantizedDimension()))


def read_model(tflite_bytes: bytes) -> Graph:
    """Parse `tflite_bytes` into a `Graph`; raise `CompileError` naming what is wrong."""
    buf = bytes(tflite_bytes)
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise CompileError(
            "not a TFLite model: the file lacks the 'TFL3' flatbuffer identifier "
            f"({len(buf)} bytes)"
        )
    try:
        return _read(buf)
    except CompileError:
        raise
    except Exception as exc:  # flatbuffers raises assorted errors on truncated data
        raise CompileError(
            f"corrupt TFLite model ({len(buf)} bytes): {type(exc).__name__}: {exc}"
        ) from exc


def _read(buf: bytes) -> Graph:
    model = tflite.Model.GetRootAs(buf, 0)
    if model.SubgraphsLength() != 1:
        raise CompileError(
            f"expected exactly one subgraph, the model has {model.SubgraphsLength()}"
        )
    sg = model.Subgraphs(0)
    opcodes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        name = _OP_NAMES.get(code, f"BUILTIN_{code}")
        if name == "CUSTOM":
            custom = oc.CustomCode()
            name = f"CUSTOM:{custom.decode('utf-8', 'replace') if custom else '?'}"
        opcodes.append(name)

    tensors = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        ttype = t.Type()
        if ttype not in _TENSOR_TYPES:
            raise CompileError(f"tensor {i} has unsupported type {ttype}")
        dtype = _TENSOR_TYPES[ttype]
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if not t.ShapeIsNone() else ()
        if any(d < 0 for d in shape):
            raise CompileError(
                f"tensor {i} has a dynamic shape {shape}; only static shapes compile"
            )
        raw_name = t.Name()
        name = raw_name.decode("utf-8", "replace") if raw_name else f"tensor_{i}"
        data = None
        bidx = t.Buffer()
        if 0 < bidx < model.BuffersLength():
            b = model.Buffers(bidx)
            raw = None
            if not b.DataIsNone() and b.DataLength() > 0:
                raw = b.DataAsNumpy().tobytes()
            elif b.Offset() > 1:
                raw = buf[b.Offset() : b.Offset() + b.Size()]
            if raw is not None:
                arr = np.frombuffer(raw, dtype=_NUMPY[dtype])
                expected = int(np.prod(shape)) if shape else 1
                if arr.size != expected:
                    raise CompileError(
                        f"tensor {i} ({name!r}) holds {arr.size} values, its shape {shape} "
                        f"needs {expected}"
                    )
                data = arr.reshape(shape).copy()
        tensors.append(
            Tensor(index=i, name=name, shape=shape, dtype=dtype, quant=_quantization(t), data=data)
        )

    operators = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        idx = op.OpcodeIndex()
        if idx >= len(opcodes):
            raise CompileError(
                f"operator {i} refers to opcode {idx}, the model declares {len(opcodes)}"
            )
        ins = tuple(int(x) for x in op.InputsAsNumpy()) if not op.InputsIsNone() else ()
        outs = tuple(int(x) for x in op.OutputsAsNumpy()) if not op.OutputsIsNone() else ()
        for ref in ins + outs:
            if ref >= len(tensors) or ref < -1:
                raise CompileError(
                    f"operator {i} ({opcodes[idx]}) refers to tensor {ref}, "
                    f"the model has {len(tensors)}"
                )
        operators.append(
            Operator(
                index=i, opcode=opcodes[idx], inputs=ins, outputs=outs, options=_read_options(op)
            )
        )

    inputs = tuple(int(x) for x in sg.InputsAsNumpy())
    outputs = tuple(int(x) for x in sg.OutputsAsNumpy())
    desc = model.Description()
    return Graph(
        tensors=tensors,
        operators=operators,
        inputs=inputs,
        outputs=outputs,
        description=desc.decode("utf-8", "replace") if desc else "",
    )
