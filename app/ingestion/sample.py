"""What a decoded upload looks like, and the canonical content hash used for duplicate detection."""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Literal

import numpy as np

from app.ingestion.errors import malformed

SENSOR_KINDS: tuple[str, ...] = ("timeseries", "image")
SAMPLE_FORMATS: tuple[str, ...] = ("json", "cbor", "wav", "csv", "jpg", "png")

SampleKind = Literal["timeseries", "image"]
SampleFormat = Literal["json", "cbor", "wav", "csv", "jpg", "png"]

# Hard bounds that no sane device exceeds; the byte limit of the upload is the caller's `max_bytes`.
MAX_AXES = 4096
# A time series is read at most every minute and at most a million times a second. Beyond these
# the sample cannot be windowed sensibly (1e6 ms turned 20 rows into 40,011 windows and a 1.36 GB
# worker) and 1e-300 ms cannot even be written as a WAV header.
MIN_INTERVAL_MS = 0.001
MAX_INTERVAL_MS = 60_000.0
MAX_SENSOR_NAME_CHARS = 255

FLOAT32_MAX = float(np.finfo(np.float32).max)

_HASH_VERSION_TIMESERIES = b"tinyforge-timeseries-v1\x00"
_HASH_VERSION_IMAGE = b"tinyforge-image-v1\x00"


@dataclass
class DecodedSample:
    """One decoded, validated sample, ready to be stored.

    Time series: `values` is float32 [rows, axes] and `interval_ms` > 0 (or 0 for a single reading,
    i.e. one row of non-time-series data). Images: `values` is None, `interval_ms` is 0 and
    `image_size` is (width, height, channels).
    """

    kind: SampleKind
    format: SampleFormat
    sensors: list[dict[str, str]]
    interval_ms: float
    values: np.ndarray | None
    image_size: tuple[int, int, int] | None
    device_name: str | None
    device_type: str | None
    signature_alg: str | None
    signature_verified: bool
    content_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return 0 if self.values is None else int(self.values.shape[0])

    @property
    def axes(self) -> int:
        return len(self.sensors)

    @property
    def frequency_hz(self) -> float:
        return 1000.0 / self.interval_ms if self.interval_ms > 0 else 0.0

    @property
    def length_ms(self) -> float:
        return self.rows * self.interval_ms


def timeseries_hash(
    *, values: np.ndarray, interval_ms: float, sensors: list[dict[str, str]]
) -> str:
    """sha256 of the canonical content of a time series.

    Covers the sensor names/units, the interval (rounded to float32, the precision devices use) and
    the float32 little-endian values with their shape. It ignores the envelope: encoding (JSON,
    CBOR, binary block, WAV, CSV), protected header, `iat`, signature and device fields.
    """
    h = hashlib.sha256(_HASH_VERSION_TIMESERIES)
    # names and units never hold control characters (validate_sensors), so \x1e/\x1f separate them
    # unambiguously
    h.update("\x1e".join(f"{s['name']}\x1f{s['units']}" for s in sensors).encode("utf-8"))
    h.update(np.float32(interval_ms).tobytes())
    h.update(struct.pack("<qq", *values.shape))
    h.update(np.ascontiguousarray(values, dtype="<f4").tobytes())
    return h.hexdigest()


def image_hash(pixels: np.ndarray) -> str:
    """sha256 of decoded pixels [h, w, c] uint8 with their shape (same picture, same hash)."""
    h = hashlib.sha256(_HASH_VERSION_IMAGE)
    h.update(struct.pack("<qqq", *pixels.shape))
    h.update(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes())
    return h.hexdigest()


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _has_control_chars(text: str) -> bool:
    return _CONTROL_CHARS.search(text) is not None


def validate_sensors(sensors: Any) -> list[dict[str, str]]:
    """Check a `sensors` list ([{name, units}]) and return it normalised to plain str dicts."""
    if not isinstance(sensors, list) or not sensors:
        raise malformed("payload.sensors must be a non-empty list of {name, units} objects.")
    if len(sensors) > MAX_AXES:
        raise malformed(f"payload.sensors has {len(sensors)} axes; at most {MAX_AXES} are allowed.")
    out: list[dict[str, str]] = []
    for ix, sensor in enumerate(sensors):
        if not isinstance(sensor, dict):
            raise malformed(f"payload.sensors[{ix}] must be an object with a name and units.")
        name = sensor.get("name")
        units = sensor.get("units", "")
        if units is None:
            units = ""
        if not isinstance(name, str) or not name.strip():
            raise malformed(f"payload.sensors[{ix}].name must be a non-empty string.")
        if not isinstance(units, str):
            raise malformed(f"payload.sensors[{ix}].units must be a string.")
        if len(name) > MAX_SENSOR_NAME_CHARS or len(units) > MAX_SENSOR_NAME_CHARS:
            raise malformed(
                f"payload.sensors[{ix}] name or units is longer than "
                f"{MAX_SENSOR_NAME_CHARS} characters."
            )
        if _has_control_chars(name) or _has_control_chars(units):
            raise malformed(f"payload.sensors[{ix}] name or units contains control characters.")
        out.append({"name": name, "units": units})
    return out


def validate_interval_ms(
    interval_ms: Any, *, rows: int, where: str = "payload.interval_ms"
) -> float:
    """A positive finite number; 0 (or absent) only for a single reading (one row)."""
    if interval_ms is None:
        interval_ms = 0
    if isinstance(interval_ms, bool) or not isinstance(interval_ms, (int, float)):
        raise malformed(
            f"{where} must be a number of milliseconds, got {type(interval_ms).__name__}."
        )
    value = float(interval_ms)
    if not np.isfinite(value) or value < 0:
        raise malformed(
            f"{where} must be a finite positive number of milliseconds, got {interval_ms!r}."
        )
    if value == 0 and rows != 1:
        raise malformed(f"{where} must be greater than 0 for a time series of {rows} rows.")
    if value != 0 and not MIN_INTERVAL_MS <= value <= MAX_INTERVAL_MS:
        raise malformed(
            f"{where} is {interval_ms!r}: it must be between {MIN_INTERVAL_MS:g} ms (1 MHz) and "
            f"{MAX_INTERVAL_MS:g} ms (one reading a minute)."
        )
    return value


def values_to_array(
    values: Any, *, axes: int, where: str = "payload.values", may_hold_bools: bool = True
) -> np.ndarray:
    """Convert `values` (rows of numbers, or a flat list for one sensor) to float32 [rows, axes].

    Rejects strings, booleans, nulls, nested garbage, ragged rows, a row length that does not match
    the number of sensors, and non-finite numbers (NaN, inf, or numbers beyond float32's range).
    NumPy silently turns booleans mixed with numbers into 0/1, so unless the caller knows the
    source holds no booleans (`may_hold_bools=False`, e.g. JSON text without `true`/`false`) every
    item's type is checked.
    """
    if not isinstance(values, list):
        raise malformed(
            f"{where} must be a list of rows (or a flat list of numbers for one sensor)."
        )
    if not values:
        raise malformed(f"{where} is empty; a sample needs at least one reading.")
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in "iuf" or arr.ndim not in (1, 2):
        _raise_values_problem(values, axes=axes, where=where)  # raises unless only big integers
        arr = np.asarray(values, dtype=np.float64)  # integers beyond int64 that still fit float32
    if may_hold_bools:
        items = chain.from_iterable(values) if arr.ndim == 2 else values
        if any(type(v) is bool for v in items):
            _raise_values_problem(values, axes=axes, where=where)
    if arr.ndim == 1:
        if axes != 1:
            raise malformed(
                f"{where} is a flat list of numbers but there are {axes} sensors; "
                "send one row per interval (a flat list is allowed for a single sensor only)."
            )
        arr = arr.reshape(-1, 1)
    if arr.shape[1] != axes:
        raise malformed(f"{where} rows have {arr.shape[1]} values but there are {axes} sensors.")
    if arr.dtype.kind == "f":
        # check before casting: float32 overflow would otherwise need a (slow) np.errstate guard
        fits = np.abs(arr) <= FLOAT32_MAX  # False for NaN, inf and beyond float32's range
        if not fits.all():
            bad = int(np.argwhere(~fits)[0][0])
            raise malformed(
                f"{where} row {bad} holds a value that is not a finite float32 number "
                "(NaN, inf or out of range)."
            )
    return arr.astype(np.float32)


def _raise_values_problem(values: list, *, axes: int, where: str) -> None:
    """Find the first offending item in `values` and raise an error naming it."""
    first = values[0]
    if isinstance(first, list):
        for ix, row in enumerate(values):
            if not isinstance(row, list):
                raise malformed(
                    f"{where}[{ix}] must be a row (list) of numbers like the rows before it."
                )
            if len(row) != axes:
                raise malformed(
                    f"{where}[{ix}] has {len(row)} values but there are {axes} sensors."
                )
            for v in row:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise malformed(
                        f"{where}[{ix}] contains {_describe(v)}; only numbers are allowed."
                    )
                if isinstance(v, int) and abs(v) > FLOAT32_MAX:
                    raise malformed(f"{where}[{ix}] holds an integer beyond the float32 range.")
    else:
        for ix, v in enumerate(values):
            if isinstance(v, list):
                raise malformed(f"{where} mixes numbers and rows (item {ix}).")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise malformed(f"{where}[{ix}] is {_describe(v)}; only numbers are allowed.")
            if isinstance(v, int) and abs(v) > FLOAT32_MAX:
                raise malformed(f"{where}[{ix}] holds an integer beyond the float32 range.")
    if not all(
        isinstance(v, int)
        for v in (chain.from_iterable(values) if isinstance(first, list) else values)
    ):
        raise malformed(f"{where} must be a list of numeric rows with one value per sensor.")


def _describe(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, str):
        return f"the string {v[:40]!r}"
    return f"a {type(v).__name__}"
