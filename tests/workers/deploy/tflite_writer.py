"""Write small `.tflite` flatbuffers directly (no TensorFlow): for hostile names and odd ops."""

from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite

_TYPES = {
    "float32": tflite.TensorType.FLOAT32,
    "int8": tflite.TensorType.INT8,
    "int32": tflite.TensorType.INT32,
}


@dataclass
class T:
    name: str
    shape: tuple[int, ...]
    dtype: str = "int8"
    scale: float | None = None
    zero_point: int = 0
    data: np.ndarray | None = None


@dataclass
class Op:
    builtin: int  # tflite.BuiltinOperator value
    inputs: list[int]
    outputs: list[int]
    options: list = field(default_factory=list)  # unused: ops without options only


def _int_vector(b: flatbuffers.Builder, start, values) -> int:
    start(b, len(values))
    for v in reversed(values):
        b.PrependInt32(int(v))
    return b.EndVector()


def write_model(tensors: list[T], ops: list[Op], inputs: list[int], outputs: list[int]) -> bytes:
    b = flatbuffers.Builder(1024)
    # buffers: 0 is the empty sentinel, then one per constant tensor
    buffer_offsets = []
    tflite.BufferStart(b)
    buffer_offsets.append(tflite.BufferEnd(b))
    buffer_index = {}
    for i, t in enumerate(tensors):
        if t.data is not None:
            raw = np.ascontiguousarray(t.data).tobytes()
            data_vec = b.CreateByteVector(raw)
            tflite.BufferStart(b)
            tflite.BufferAddData(b, data_vec)
            buffer_index[i] = len(buffer_offsets)
            buffer_offsets.append(tflite.BufferEnd(b))

    tensor_offsets = []
    for i, t in enumerate(tensors):
        name = b.CreateString(t.name)
        shape = _int_vector(b, tflite.TensorStartShapeVector, t.shape)
        q = None
        if t.scale is not None:
            tflite.QuantizationParametersStartScaleVector(b, 1)
            b.PrependFloat32(t.scale)
            scale_vec = b.EndVector()
            tflite.QuantizationParametersStartZeroPointVector(b, 1)
            b.PrependInt64(t.zero_point)
            zp_vec = b.EndVector()
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, scale_vec)
            tflite.QuantizationParametersAddZeroPoint(b, zp_vec)
            q = tflite.QuantizationParametersEnd(b)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, _TYPES[t.dtype])
        tflite.TensorAddBuffer(b, buffer_index.get(i, 0))
        tflite.TensorAddName(b, name)
        if q is not None:
            tflite.TensorAddQuantization(b, q)
        tensor_offsets.append(tflite.TensorEnd(b))

    codes = sorted({op.builtin for op in ops})
    op_offsets = []
    for op in ops:
        ins = _int_vector(b, tflite.OperatorStartInputsVector, op.inputs)
        outs = _int_vector(b, tflite.OperatorStartOutputsVector, op.outputs)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, codes.index(op.builtin))
        tflite.OperatorAddInputs(b, ins)
        tflite.OperatorAddOutputs(b, outs)
        op_offsets.append(tflite.OperatorEnd(b))

    def vec(start, items):
        start(b, len(items))
        for it in reversed(items):
            b.PrependUOffsetTRelative(it)
        return b.EndVector()

    tensors_vec = vec(tflite.SubGraphStartTensorsVector, tensor_offsets)
    ops_vec = vec(tflite.SubGraphStartOperatorsVector, op_offsets)
    in_vec = _int_vector(b, tflite.SubGraphStartInputsVector, inputs)
    out_vec = _int_vector(b, tflite.SubGraphStartOutputsVector, outputs)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddOperators(b, ops_vec)
    tflite.SubGraphAddInputs(b, in_vec)
    tflite.SubGraphAddOutputs(b, out_vec)
    subgraph = tflite.SubGraphEnd(b)

    code_offsets = []
    for c in codes:
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(c, 127))
        tflite.OperatorCodeAddBuiltinCode(b, c)
        tflite.OperatorCodeAddVersion(b, 1)
        code_offsets.append(tflite.OperatorCodeEnd(b))
    codes_vec = vec(tflite.ModelStartOperatorCodesVector, code_offsets)
    subgraphs_vec = vec(tflite.ModelStartSubgraphsVector, [subgraph])
    buffers_vec = vec(tflite.ModelStartBuffersVector, buffer_offsets)
    desc = b.CreateString("tinyforge test model")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, codes_vec)
    tflite.ModelAddSubgraphs(b, subgraphs_vec)
    tflite.ModelAddDescription(b, desc)
    tflite.ModelAddBuffers(b, buffers_vec)
    model = tflite.ModelEnd(b)
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())
