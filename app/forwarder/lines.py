"""What a data-forwarder device prints: lines of numbers (pure functions, no I/O).

Edge Impulse's data forwarder protocol: the device writes one line per reading, the values of its
axes separated by commas, tabs or spaces (`-0.12,9.81,0.03\\r\\n`), at a fixed rate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[,\t ]+")
# rates devices commonly use; a measured rate within 8 % of one of them is taken to be it (a busy
# computer reads late and measures low; neighbouring common rates are ≥ 25 % apart, so 8 % cannot
# pick the wrong one)
COMMON_RATES_HZ = (
    1,
    2,
    4,
    5,
    8,
    10,
    12.5,
    16,
    20,
    25,
    31.25,
    40,
    50,
    62.5,
    80,
    100,
    125,
    160,
    200,
    250,
    400,
    500,
    800,
    1000,
    1600,
    2000,
    3200,
    4000,
    8000,
    16000,
)
MAX_AXES = 64


class ForwarderError(Exception):
    """A problem with the device or its data; the message says what happened and what was (not)
    stored."""


class DeviceLost(ForwarderError):
    """The device disconnected, went silent or changed its axes: the forwarder cannot go on."""


def parse_line(raw: bytes) -> list[float] | None:
    """The numbers on one line, or None when it is not a line of finite numbers."""
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if not text:
        return None
    parts = [p for p in _SEPARATORS.split(text) if p]
    if not parts or len(parts) > MAX_AXES:
        return None
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return None
    return values if all(math.isfinite(v) for v in values) else None


def snap_frequency(hz: float) -> float:
    """A measured rate rounded to the common rate it is within 8 % of, else to a whole number of
    Hz."""
    for rate in COMMON_RATES_HZ:
        if abs(hz - rate) <= 0.08 * rate:
            return float(rate)
    return float(round(hz)) if hz >= 1 else round(hz, 2)


@dataclass(frozen=True)
class Detection:
    axes: int
    frequency_hz: float
    lines: int
    garbage: int


def detect(
    lines: list[tuple[float, bytes]], *, min_lines: int = 5, max_garbage: float = 0.2
) -> Detection:
    """Axis count and rate from (arrival time s, raw line) pairs read from the device for a while.

    ForwarderError when there are too few lines of numbers, too much garbage, or lines disagree on
    the number of axes.
    """
    parsed = [(t, parse_line(raw)) for t, raw in lines]
    good = [(t, v) for t, v in parsed if v is not None]
    garbage = len(parsed) - len(good)
    if len(good) < min_lines:
        example = next(
            (raw for (_, raw), (_, v) in zip(lines, parsed, strict=True) if v is None), b""
        )
        hint = f" (e.g. {example[:40]!r})" if example else ""
        raise ForwarderError(
            f"the device sent {len(good)} lines of numbers and {garbage} other lines{hint}: "
            "it must print one line of comma-, tab- or space-separated numbers per reading"
        )
    if garbage > max_garbage * len(parsed):
        raise ForwarderError(
            f"{garbage} of {len(parsed)} lines from the device are not numbers: "
            "check the baud rate and what the device prints"
        )
    counts: dict[int, int] = {}
    for _, v in good:
        counts[len(v)] = counts.get(len(v), 0) + 1
    if len(counts) > 1:
        shown = ", ".join(f"{n} lines with {k} values" for k, n in sorted(counts.items()))
        raise ForwarderError(
            f"the device's lines do not all have the same number of values ({shown})"
        )
    span = good[-1][0] - good[0][0]
    if span <= 0:
        raise ForwarderError("could not measure the device's rate: its lines arrived all at once")
    return Detection(
        axes=next(iter(counts)),
        frequency_hz=snap_frequency((len(good) - 1) / span),
        lines=len(good),
        garbage=garbage,
    )


def axis_names(text: str, axes: int) -> list[str]:
    """`accX, accY, accZ` → names, checked against the number of axes."""
    names = [n.strip() for n in re.split(r"[,\s]+", text.strip()) if n.strip()]
    if len(names) != axes:
        raise ForwarderError(
            f"give {axes} axis names (the device sends {axes} values per line), got {len(names)}"
        )
    if len(set(names)) != len(names):
        raise ForwarderError("axis names must be different from each other")
    if any(len(n) > 64 or not n.isprintable() for n in names):
        raise ForwarderError("axis names must be at most 64 printable characters")
    return names
