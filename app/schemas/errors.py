"""Validation errors as one line naming each field: `dsp[0].params.fft_length: got 100; must be
...`.

Request bodies (FastAPI's RequestValidationError), the dashboard forms and the services all report
pydantic's errors through `describe`, so a field is named the same way wherever it was checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

REQUEST_PARTS = ("body", "query", "path", "header", "cookie")


def location(loc: Sequence[str | int]) -> str:
    """('body', 'dsp', 0, 'params', 'fft_length') -> 'dsp[0].params.fft_length'."""
    parts = list(loc[1:] if loc and loc[0] in REQUEST_PARTS else loc)
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(errors: Iterable[Mapping[str, Any]]) -> str:
    """pydantic's error list as `where: what; where: what`."""
    return "; ".join(
        f"{location(e.get('loc', ())) or 'request'}: {e.get('msg', 'invalid')}" for e in errors
    )


def field_error(
    title: str, loc: tuple[str | int, ...], message: str, value: Any
) -> ValidationError:
    """A ValidationError at `loc` (relative to where it is raised) carrying our own message.

    Raised inside a validator, its location is appended to the validator's, so a check made on a
    whole object can still name the exact field (`input` + ('type',) -> `input.type`).
    """
    error = PydanticCustomError("invalid_value", "{message}", {"message": message})
    return ValidationError.from_exception_data(
        title, [InitErrorDetails(type=error, loc=loc, input=value)]
    )
