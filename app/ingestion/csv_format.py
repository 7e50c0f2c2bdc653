"""CSV samples in Edge Impulse's default layout.

A header row, then one row per reading. A timestamp column (`timestamp`, `time`, `ms`,
`timestamp_ms`, `time_ms`, `t`; case-insensitive; in milliseconds unless its header says
`(s)`/`(us)`) gives the interval: (last - first) / (rows - 1), and must increase strictly. Without
one, the caller supplies `interval_ms`; a file with exactly one data row and no timestamp is a
single reading (non-time-series, interval 0), as Edge Impulse allows. Every other column is an axis;
`name (unit)` or `name [unit]` headers give units, otherwise units are empty.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.ingestion.errors import malformed
from app.ingestion.sample import MAX_AXES, validate_interval_ms, validate_sensors

TIMESTAMP_COLUMNS = frozenset(
    {"timestamp", "time", "ms", "timestamp_ms", "time_ms", "t", "timestamp (ms)"}
)
_TIME_UNIT_TO_MS = {"ms": 1.0, "s": 1000.0, "us": 1e-3, "µs": 1e-3}
_HEADER_UNITS = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<units>[^\)\]]*)[\)\]]\s*$")


def _split_header(cell: str) -> tuple[str, str]:
    cell = cell.strip()
    match = _HEADER_UNITS.match(cell)
    if match and match.group("name"):
        return match.group("name").strip(), match.group("units").strip()
    return cell, ""


def _timestamp_scale(name: str, units: str) -> float | None:
    """Milliseconds per timestamp unit when this column is a timestamp column, else None."""
    if name.lower() not in TIMESTAMP_COLUMNS:
        return None
    if not units:
        return 1.0
    scale = _TIME_UNIT_TO_MS.get(units.lower() if units != "µs" else units)
    if scale is None:
        raise malformed(f"Timestamp column unit {units!r} is not one of ms, s, us.")
    return scale


@dataclass(frozen=True)
class _Columns:
    """What the header row says: which column holds timestamps (and their unit), which are axes."""

    timestamp: int | None  # column index
    ms_per_tick: float  # milliseconds per timestamp unit
    axes: list[int]  # column indices
    sensors: list[dict[str, str]]  # one {"name", "units"} per axis


def decode_csv(
    data: bytes, *, interval_ms: float | None = None
) -> tuple[np.ndarray, float, list[dict[str, str]], dict[str, Any]]:
    """Decode a CSV sample to (float32 [rows, axes], interval_ms, sensors, metadata)."""
    header, body = _read_rows(data)
    columns = _parse_header(header)
    table = _parse_numbers(header, body)
    with np.errstate(over="ignore"):
        values = table[:, columns.axes].astype(np.float32)
    if not np.isfinite(values).all():
        raise malformed("CSV file holds a value beyond the float32 range.")
    interval, metadata = _interval(table, header, columns, interval_ms=interval_ms)
    return values, interval, columns.sensors, metadata


def _read_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header row and the data rows: UTF-8 text (BOM allowed), trailing blank lines dropped,
    the delimiter taken from the header (comma, else semicolon, else tab)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise malformed("CSV file is not UTF-8 text.") from None
    if "\x00" in text:
        raise malformed("CSV file contains NUL bytes (is it a binary file?).")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise malformed("CSV file is empty.")
    delimiter = ","
    if "," not in lines[0]:
        if ";" in lines[0]:
            delimiter = ";"
        elif "\t" in lines[0]:
            delimiter = "\t"
    try:
        rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error as error:
        raise malformed(f"CSV file cannot be parsed: {error}.") from None
    header = rows[0]
    body = rows[1:]
    if not body:
        raise malformed("CSV file has a header row but no data rows.")
    return header, body


def _parse_header(header: list[str]) -> _Columns:
    columns = [_split_header(cell) for cell in header]
    if any(not name for name, _ in columns):
        raise malformed("CSV header has an empty column name.")
    ts_col: int | None = None
    ts_scale = 1.0
    for ix, (name, units) in enumerate(columns):
        scale = _timestamp_scale(name, units)
        if scale is not None:
            if ts_col is not None:
                raise malformed("CSV header has more than one timestamp column.")
            ts_col, ts_scale = ix, scale
    axis_cols = [ix for ix in range(len(columns)) if ix != ts_col]
    if not axis_cols:
        raise malformed("CSV file has a timestamp column but no data columns.")
    if len(axis_cols) > MAX_AXES:
        raise malformed(
            f"CSV file has {len(axis_cols)} data columns; at most {MAX_AXES} are allowed."
        )
    sensors = validate_sensors(
        [{"name": columns[ix][0], "units": columns[ix][1]} for ix in axis_cols]
    )
    return _Columns(timestamp=ts_col, ms_per_tick=ts_scale, axes=axis_cols, sensors=sensors)


def _parse_numbers(header: list[str], body: list[list[str]]) -> np.ndarray:
    """Every cell as a finite float64, [rows, columns]; errors name the row (1-based, header = 1)
    and the column."""
    width = len(header)
    table = np.empty((len(body), width), dtype=np.float64)
    for r, row in enumerate(body):
        if len(row) != width:
            raise malformed(f"CSV row {r + 2} has {len(row)} columns but the header has {width}.")
        for c, cell in enumerate(row):
            try:
                value = float(cell)
            except ValueError:
                raise malformed(
                    f"CSV row {r + 2}, column {header[c].strip()!r}: {cell.strip()[:40]!r} "
                    "is not a number."
                ) from None
            if not math.isfinite(value):
                raise malformed(
                    f"CSV row {r + 2}, column {header[c].strip()!r}: {cell.strip()!r} is "
                    "not a finite number."
                )
            table[r, c] = value
    return table


def _interval(
    table: np.ndarray, header: list[str], columns: _Columns, *, interval_ms: float | None
) -> tuple[float, dict[str, Any]]:
    """The interval in ms and the metadata saying where it came from: the timestamp column's
    mean step (with its jitter), else the caller's `interval_ms`, else a single reading."""
    metadata: dict[str, Any] = {}
    n = len(table)
    ts_col = columns.timestamp
    if ts_col is not None:
        ts = table[:, ts_col] * columns.ms_per_tick
        if n > 1:
            steps = np.diff(ts)
            if (steps <= 0).any():
                bad = int(np.argmax(steps <= 0))
                raise malformed(
                    f"CSV timestamps must increase strictly; row {bad + 3} ({ts[bad + 1]:g} ms) "
                    f"does not come after row {bad + 2} ({ts[bad]:g} ms)."
                )
            interval = float((ts[-1] - ts[0]) / (n - 1))
            metadata["interval_jitter_ms"] = float(np.max(np.abs(steps - interval)))
        else:
            interval = float(interval_ms) if interval_ms is not None else 0.0
        metadata["timestamp_column"] = header[ts_col].strip()
        interval = validate_interval_ms(interval, rows=n, where="CSV timestamp interval")
    elif interval_ms is not None:
        interval = validate_interval_ms(interval_ms, rows=n, where="interval_ms")
        if interval == 0 and n == 1:
            metadata["single_reading"] = True
    elif n == 1:
        interval = 0.0
        metadata["single_reading"] = True
    else:
        raise malformed(
            f"CSV file has {n} rows but no timestamp column "
            f"({', '.join(sorted(TIMESTAMP_COLUMNS - {'timestamp (ms)'}))}) and no interval_ms was "
            "given."
        )
    return interval, metadata


def encode_csv(
    values: np.ndarray | list,
    *,
    sensor_names: list[str],
    interval_ms: float | None,
    units: list[str] | None = None,
    start_ms: float = 0.0,
) -> bytes:
    """Encode [rows, axes] values as CSV; with `interval_ms` a leading `timestamp` column (ms) is
    written."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != len(sensor_names):
        raise ValueError("values must be [rows, axes] with one sensor name per axis")
    if units is not None and len(units) != len(sensor_names):
        raise ValueError("units must have one entry per sensor")
    header = [
        f"{name} ({unit})" if unit else name
        for name, unit in zip(sensor_names, units or [""] * len(sensor_names), strict=True)
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if interval_ms is not None:
        writer.writerow(["timestamp", *header])
        for ix, row in enumerate(arr):
            writer.writerow([repr(start_ms + ix * interval_ms), *(repr(float(v)) for v in row)])
    else:
        writer.writerow(header)
        for row in arr:
            writer.writerow([repr(float(v)) for v in row])
    return out.getvalue().encode("utf-8")
