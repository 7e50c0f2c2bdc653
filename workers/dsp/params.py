"""Errors and parameter declarations shared by every processing block and the input blocks.

One `Param` declaration per parameter drives three things: `Block.validate` (defaults,
coercion, bounds), `Block.schema` (the JSON served by ``GET /api/dsp-blocks``) and the
dashboard form built from that schema (`Block` lives in `processing_block.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PARAM_TYPES = ("int", "float", "bool", "select", "str")


class DspError(ValueError):
    """The input signal cannot be processed: wrong axis count, too short, NaN/inf, wrong image
    size."""


class ParamError(ValueError):
    """A parameter is invalid. ``field`` names it; ``message`` states the allowed range or
    choices."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Param:
    """One block parameter: its type, default, bounds or choices and the help text shown in
    forms."""

    name: str
    type: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    help: str = ""
    label: str = ""
    # Shown (and used) only when another parameter of the block has one of these values, e.g.
    # {"filter_type": ("low", "high")}; the form hides it otherwise.
    shown_when: dict[str, tuple[Any, ...]] | None = field(default=None, hash=False)

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
        """Return `value` converted to this parameter's type, or raise ParamError naming the
        range."""
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
            "shown_when": {k: list(v) for k, v in self.shown_when.items()}
            if self.shown_when
            else None,
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
