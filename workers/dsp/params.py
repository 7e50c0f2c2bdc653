"""Errors, parameter declarations and the Block base class shared by every processing block.

One `Param` declaration per parameter drives three things: `Block.validate` (defaults,
coercion, bounds), `Block.schema` (the JSON served by ``GET /api/dsp-blocks``) and the
dashboard form built from that schema.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

PARAM_TYPES = ("int", "float", "bool", "select", "str")


class DspError(ValueError):
    """The input signal cannot be processed: wrong axis count, too short, NaN/inf, wrong image size."""


class ParamError(ValueError):
    """A parameter is invalid. ``field`` names it; ``message`` states the allowed range or choices."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Param:
    """One block parameter: its type, default, bounds or choices and the help text shown in forms."""

    name: str
    type: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    help: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"Param {self.name}: type must be one of {PARAM_TYPES}")
        if self.type == "select" and not self.choices:
            raise ValueError(f"Param {self.name}: a select needs choices")

    def describe_range(self) -> str:
        if self.type == "select":
            return "one of " + ", ".join(repr(c) for c in self.choices or ())
        if self.type == "bool":
            return "true or false"
        if self.type == "str":
            return "a string"
        lo = "-inf" if self.minimum is None else _fmt(self.minimum)
        hi = "inf" if self.maximum is None else _fmt(self.maximum)
        kind = "an integer" if self.type == "int" else "a number"
        return f"{kind} between {lo} and {hi}"

    def coerce(self, value: Any) -> Any:
        """Return `value` converted to this parameter's type, or raise ParamError naming the range."""
        try:
            return self._coerce(value)
        except _Bad:
            raise ParamError(self.name, f"got {value!r}; must be {self.describe_range()}") from None

    def _coerce(self, value: Any) -> Any:
        bad = _Bad()
        if self.type == "bool":
            if isinstance(value, bool | np.bool_):
                return bool(value)
            if isinstance(value, int | np.integer) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
                return value.strip().lower() in ("true", "1")
            raise bad
        if self.type == "str":
            if not isinstance(value, str):
                raise bad
            return value
        if self.type == "select":
            for choice in self.choices or ():
                if value == choice or (isinstance(value, str) and value == str(choice)):
                    return choice
            raise bad
        # numbers
        if isinstance(value, bool | np.bool_):
            raise bad
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise bad from None
        if not isinstance(value, int | float | np.integer | np.floating):
            raise bad
        number = float(value)
        if not math.isfinite(number):
            raise bad
        if self.type == "int":
            if number != int(number):
                raise bad
            number = int(number)
        if self.minimum is not None and number < self.minimum:
            raise bad
        if self.maximum is not None and number > self.maximum:
            raise bad
        return number

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices) if self.choices is not None else None,
            "help": self.help,
            "label": self.label or self.name.replace("_", " ").capitalize(),
        }

    def json_schema(self) -> dict[str, Any]:
        kind = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}
        out: dict[str, Any] = {"default": self.default, "description": self.help}
        if self.type == "select":
            out["enum"] = list(self.choices or ())
        else:
            out["type"] = kind[self.type]
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


class _Bad(Exception):
    pass


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True)
class BlockOutput:
    """Features of a batch of windows: float32 ``[n_windows, n_features]``.

    ``shape`` is the per-window shape before flattening (e.g. ``(frames, coefficients)``);
    ``graphs`` holds drawable data for a one-window preview (empty unless asked for).
    """

    features: np.ndarray
    shape: tuple[int, ...]
    graphs: list[dict] = field(default_factory=list)


def validate_params(params: tuple[Param, ...], values: dict | None) -> dict[str, Any]:
    """Fill defaults and coerce every value; an unknown key is a ParamError too."""
    values = dict(values or {})
    known = {p.name for p in params}
    for key in values:
        if key not in known:
            raise ParamError(str(key), "unknown parameter; allowed: " + ", ".join(sorted(known)))
    out: dict[str, Any] = {}
    for p in params:
        out[p.name] = p.coerce(values[p.name]) if p.name in values else p.default
    return out


def check_timeseries(windows: Any) -> np.ndarray:
    """Return `windows` as float32 ``[n_windows, n_samples, n_axes]`` or raise DspError."""
    arr = np.asarray(windows)
    if arr.ndim != 3:
        raise DspError(
            f"expected windows shaped [n_windows, n_samples, n_axes], got {arr.ndim} axes {arr.shape}"
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
