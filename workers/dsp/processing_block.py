"""The processing block: the base class every DSP block derives from, its output, and the checks
and packing around a block's own computation.

A block declares its parameters once (`Param`, in `params.py`) and implements `_shape` and
`_run`; `Block.run` validates the parameters and the windows before calling `_run`, and `finish`
packs what `_run` computed into a `BlockOutput`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .params import DspError, Param, ParamError, validate_params


@dataclass(frozen=True)
class BlockOutput:
    """Features of a batch of windows: float32 ``[n_windows, n_features]``.

    ``shape`` is the per-window shape before flattening (e.g. ``(frames, coefficients)``);
    ``graphs`` holds drawable data for a one-window preview (empty unless asked for).
    """

    features: np.ndarray
    shape: tuple[int, ...]
    graphs: list[dict] = field(default_factory=list)


def check_timeseries(windows: Any) -> np.ndarray:
    """Return `windows` as float32 ``[n_windows, n_samples, n_axes]`` or raise DspError."""
    arr = np.asarray(windows)
    if arr.ndim != 3:
        raise DspError(
            f"expected windows shaped [n_windows, n_samples, n_axes], got {arr.ndim} axes "
            f"{arr.shape}"
        )
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise DspError(f"empty windows: shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise DspError(f"windows must be real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(
        arr.sum(dtype=np.float64)
    ):  # one reduction; NaN/inf propagate, float64 cannot overflow here
        raise DspError("signal contains NaN or infinite values")
    return arr


class Block:
    """A processing block. Subclasses declare `params` once and implement `_run` and `_shape`."""

    name: ClassVar[str]
    title: ClassVar[str]
    implementation_version: ClassVar[int]
    params: ClassVar[tuple[Param, ...]]
    input_kind: ClassVar[str] = "timeseries"
    description: ClassVar[str] = ""

    def __init__(self) -> None:
        self._validated: dict[tuple, dict[str, Any]] = {}

    def schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "implementation_version": self.implementation_version,
            "input_kind": self.input_kind,
            "params": [p.to_json() for p in self.params],
            "json_schema": {
                "type": "object",
                "properties": {p.name: p.json_schema() for p in self.params},
                "additionalProperties": False,
            },
        }

    def validate(self, params: dict | None) -> dict[str, Any]:
        """Defaults filled in and values coerced; ParamError naming the field otherwise.

        Results are memoised on the (hashable) items, so re-validating inside `run` is cheap.
        """
        try:
            key = tuple(sorted((k, type(v).__name__, v) for k, v in (params or {}).items()))
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in self._validated:
            return dict(self._validated[key])
        out = validate_params(self.params, params)
        self._check(out)
        if key is not None:
            if len(self._validated) > 256:
                self._validated.clear()
            self._validated[key] = dict(out)
        return out

    def _check(self, params: dict[str, Any]) -> None:
        """Cross-field checks that do not depend on the signal (override)."""

    def run(
        self,
        windows: np.ndarray,
        *,
        frequency_hz: float,
        params: dict | None,
        graphs: bool = False,
    ) -> BlockOutput:
        p = self.validate(params)
        if self.input_kind == "timeseries":
            if not (
                isinstance(frequency_hz, int | float | np.number)
                and math.isfinite(frequency_hz)
                and frequency_hz > 0
            ):
                raise ParamError("frequency_hz", f"got {frequency_hz!r}; must be a positive number")
            arr = check_timeseries(windows)
            shape = self._shape(
                window_samples=arr.shape[1],
                n_axes=arr.shape[2],
                frequency_hz=float(frequency_hz),
                params=p,
            )
            return self._run(
                arr, frequency_hz=float(frequency_hz), params=p, shape=shape, graphs=graphs
            )
        return self._run(windows, frequency_hz=frequency_hz, params=p, shape=(), graphs=graphs)

    def output_shape(
        self, *, window_samples: int, n_axes: int, frequency_hz: float, params: dict | None
    ) -> tuple[int, ...]:
        p = self.validate(params)
        return self._shape(
            window_samples=int(window_samples),
            n_axes=int(n_axes),
            frequency_hz=float(frequency_hz),
            params=p,
        )

    def _shape(
        self, *, window_samples: int, n_axes: int, frequency_hz: float, params: dict
    ) -> tuple[int, ...]:
        raise NotImplementedError

    def _run(
        self,
        windows: np.ndarray,
        *,
        frequency_hz: float,
        params: dict,
        shape: tuple[int, ...],
        graphs: bool,
    ) -> BlockOutput:
        raise NotImplementedError


def finish(
    features: np.ndarray, shape: tuple[int, ...], graphs: list[dict] | None = None
) -> BlockOutput:
    """Pack per-window features into a float32 ``[n_windows, prod(shape)]`` BlockOutput.

    Raises DspError if anything overflowed float32 (values far beyond the block's scale)."""
    n = features.shape[0]
    flat = np.ascontiguousarray(features, dtype=np.float32).reshape(n, -1)
    if not np.isfinite(flat.sum(dtype=np.float64)):
        raise DspError(
            "features are not finite: the signal values are too large for float32 "
            "(check input_full_scale / scale_axes)"
        )
    return BlockOutput(features=flat, shape=tuple(int(s) for s in shape), graphs=graphs or [])
