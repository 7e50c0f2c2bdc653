"""Typed intermediate representation of a TFLite graph: the compiler's only view of a model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class CompileError(ValueError):
    """The model cannot be compiled; the message names the problem (op, tensor, file)."""


DTYPE_BYTES = {"int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "float32": 4, "bool": 1}
C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "float32": "float",
    "bool": "uint8_t",
}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel on `axis`."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quantization | None = None
    data: np.ndarray | None = None  # constant tensors only, already shaped and typed

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def constant_data(self) -> np.ndarray:
        """The data of a constant tensor (CompileError for one computed at run time)."""
        if self.data is None:
            raise CompileError(f"tensor {self.name!r} is not constant")
        return self.data

    @property
    def num_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.num_elements * DTYPE_BYTES[self.dtype]

    @property
    def scale(self) -> float:
        """Per-tensor scale (the first one for per-channel tensors)."""
        if self.quant is None:
            raise CompileError(f"tensor {self.name!r} has no quantization parameters")
        return self.quant.scale[0]

    @property
    def scales(self) -> tuple[float, ...]:
        """Per-channel scales (one for a per-tensor quantized tensor)."""
        if self.quant is None:
            raise CompileError(f"tensor {self.name!r} has no quantization parameters")
        return self.quant.scale

    @property
    def zero_point(self) -> int:
        if self.quant is None:
            raise CompileError(f"tensor {self.name!r} has no quantization parameters")
        return self.quant.zero_point[0]


@dataclass
class Operator:
    index: int
    opcode: str  # builtin operator name as in the TFLite schema, e.g. "CONV_2D"
    inputs: tuple[int, ...]  # tensor indices, -1 for an omitted optional input
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str = ""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    @property
    def ops(self) -> list[str]:
        return sorted({op.opcode for op in self.operators})

    @property
    def is_quantized(self) -> bool:
        """True when the graph computes in int8 (activation tensors carry quantization)."""
        return any(t.dtype in ("int8", "int16") and not t.is_constant for t in self.tensors)
