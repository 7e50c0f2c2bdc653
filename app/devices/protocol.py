"""Edge Impulse's remote management protocol: the messages, parsed and checked (pure; no I/O).

Devices (firmware, the `edge-impulse-linux` daemon, the serial data forwarder, the phone page) open
a WebSocket and speak JSON text messages:

device → server                                   server → device
{"hello": {apiKey, deviceId, deviceType,          {"hello": true} | {"hello": false, "err": "..."}
  connection, sensors, supportsSnapshotStreaming,
  version, mode}}
                                                  {"sample": {label, length, path, hmacKey,
                                                    interval, sensor}}
{"sample": true} | {"sample": false, "error"}
{"sampleStarted": true}, {"sampleReading": true, "progressPercentage": n},
{"sampleProcessing": true}, {"sampleUploading": true}, {"sampleFinished": true}
                                                  {"startSnapshot": true,
                                                   "resolution": "low"|"high"}
{"snapshotStarted": true} | {"snapshotFailed": true, "error"}
{"snapshotFrame": "<base64 JPEG>", "fileName"}    {"stopSnapshot": true}
{"snapshotStopped": true}

Source: the daemon's `cli-common/remote-mgmt-service.js` (edge-impulse-linux 1.25) and Edge
Impulse's remote management documentation. `docs/devices.md` lists what Tinyforge does not implement
and why.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from typing import Any

import orjson

MAX_SENSORS = 32
MAX_FREQUENCIES = 64
NAME_LIMIT = 255


class ProtocolError(ValueError):
    """A device message that cannot be used; the text names the problem and goes back to the
    device."""


@dataclass(frozen=True)
class Sensor:
    name: str
    max_sample_length_s: float
    frequencies: tuple[float, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "maxSampleLengthS": self.max_sample_length_s,
            "frequencies": list(self.frequencies),
        }


@dataclass(frozen=True)
class Hello:
    api_key: str
    device_id: str
    device_type: str
    connection: str
    sensors: tuple[Sensor, ...]
    supports_snapshot: bool
    version: int
    mode: str

    def sensor(self, name: str) -> Sensor | None:
        return next((s for s in self.sensors if s.name == name), None)


@dataclass(frozen=True)
class DeviceMessage:
    """One message from a device after the hello. `kind` is one of KINDS; the other fields as they
    apply."""

    kind: str
    ok: bool = True
    error: str | None = None
    progress: int | None = None
    jpeg: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# message key → kind, in the order they are recognised
_SAMPLE_STAGES = {
    "sampleStarted": "started",
    "sampleReading": "reading",
    "sampleProcessing": "processing",
    "sampleUploading": "uploading",
    "sampleFinished": "finished",
}
_SNAPSHOT_STATES = {
    "snapshotStarted": "snapshot_started",
    "snapshotStopped": "snapshot_stopped",
    "snapshotFailed": "snapshot_failed",
}
# recognised, answered or ignored on purpose (model monitoring belongs to deployed Linux runners)
IGNORED_KEYS = (
    "inferenceSummary",
    "impulseRecord",
    "impulseRecordsResponse",
    "modelUpdateSuccess",
    "inferenceStreamStarted",
    "inferenceStreamStopped",
)
KINDS = (
    "sample",
    *_SAMPLE_STAGES.values(),
    *_SNAPSHOT_STATES.values(),
    "snapshot_frame",
    "ignored",
)


def decode_json(raw: str | bytes, *, max_bytes: int) -> dict[str, Any]:
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise ProtocolError(f"message of {size} bytes refused: the limit is {max_bytes} bytes")
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"message is not valid JSON: {exc}") from exc
    if not isinstance(message, dict) or not message:
        raise ProtocolError('a message must be a JSON object with one key, e.g. {"hello": {...}}')
    return message


def _text(value: Any, name: str, *, required: bool = True, limit: int = NAME_LIMIT) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ProtocolError(f"hello.{name} must be a non-empty string")
    if len(value) > limit or any(ord(c) < 32 for c in value):
        raise ProtocolError(f"hello.{name} must be at most {limit} printable characters")
    return value.strip()


def _number(value: Any, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ProtocolError(f"{name} must be a finite number ≥ 0")
    return float(value)


def _sensor(raw: Any, index: int) -> Sensor:
    where = f"hello.sensors[{index}]"
    if not isinstance(raw, dict):
        raise ProtocolError(
            f"{where} must be an object with name, maxSampleLengthS and frequencies"
        )
    name = _text(raw.get("name"), f"sensors[{index}].name")
    freqs = raw.get("frequencies", [])
    if not isinstance(freqs, list) or len(freqs) > MAX_FREQUENCIES:
        raise ProtocolError(
            f"{where}.frequencies must be a list of at most {MAX_FREQUENCIES} numbers"
        )
    frequencies = tuple(_number(f, f"{where}.frequencies[{i}]") for i, f in enumerate(freqs))
    if any(f == 0 for f in frequencies):
        raise ProtocolError(f"{where}.frequencies must be > 0 Hz")
    return Sensor(
        name=name,
        max_sample_length_s=_number(raw.get("maxSampleLengthS", 0), f"{where}.maxSampleLengthS"),
        frequencies=frequencies,
    )


def parse_hello(message: dict[str, Any]) -> Hello:
    """The first message of a connection. ProtocolError names the first field that is wrong."""
    body = message.get("hello")
    if not isinstance(body, dict):
        raise ProtocolError(
            'the first message must be {"hello": {"apiKey", "deviceId", "deviceType", "sensors"}}'
        )
    api_key = body.get("apiKey")
    if not isinstance(api_key, str) or not api_key.strip():
        raise ProtocolError("hello.apiKey is missing: send the project's API key")
    sensors_raw = body.get("sensors", [])
    if not isinstance(sensors_raw, list) or len(sensors_raw) > MAX_SENSORS:
        raise ProtocolError(f"hello.sensors must be a list of at most {MAX_SENSORS} sensors")
    sensors = tuple(_sensor(s, i) for i, s in enumerate(sensors_raw))
    if len({s.name for s in sensors}) != len(sensors):
        raise ProtocolError("hello.sensors has two sensors with the same name")
    version = body.get("version", 3)
    mode = body.get("mode", "ingestion")
    return Hello(
        api_key=api_key.strip(),
        device_id=_text(body.get("deviceId"), "deviceId"),
        device_type=_text(body.get("deviceType"), "deviceType", required=False),
        connection=_text(body.get("connection"), "connection", required=False, limit=32) or "ip",
        sensors=sensors,
        supports_snapshot=body.get("supportsSnapshotStreaming") is True,
        version=version if isinstance(version, int) and not isinstance(version, bool) else 3,
        mode=mode if mode in ("ingestion", "inference") else "ingestion",
    )


def parse_device_message(message: dict[str, Any], *, max_snapshot_bytes: int) -> DeviceMessage:
    """A message after the hello. Unknown keys are a ProtocolError (answered, the connection
    stays)."""
    if "sample" in message:
        if message["sample"] is True:
            return DeviceMessage("sample")
        return DeviceMessage("sample", ok=False, error=_error_text(message))
    for key, kind in _SAMPLE_STAGES.items():
        if key in message:
            progress = message.get("progressPercentage")
            if (
                isinstance(progress, int | float)
                and not isinstance(progress, bool)
                and math.isfinite(progress)
            ):
                return DeviceMessage(kind, progress=max(0, min(100, int(progress))))
            return DeviceMessage(kind)
    for key, kind in _SNAPSHOT_STATES.items():
        if key in message:
            return DeviceMessage(
                kind,
                ok=kind != "snapshot_failed",
                error=_error_text(message) if kind == "snapshot_failed" else None,
            )
    if "snapshotFrame" in message:
        return DeviceMessage(
            "snapshot_frame", jpeg=_jpeg(message["snapshotFrame"], max_snapshot_bytes)
        )
    if "hello" in message:
        raise ProtocolError("this connection already said hello")
    if any(k in message for k in IGNORED_KEYS):
        return DeviceMessage("ignored", extra=message)
    raise ProtocolError(
        f"unknown message {sorted(message)[:3]}: expected sample, sampleStarted, sampleReading, "
        "sampleProcessing, sampleUploading, sampleFinished, snapshot... messages"
    )


def _error_text(message: dict[str, Any]) -> str:
    err = message.get("error", message.get("err"))
    return str(err)[:1000] if err else "the device reported a failure without a reason"


def _jpeg(value: Any, limit: int) -> bytes:
    if not isinstance(value, str):
        raise ProtocolError("snapshotFrame must be a base64-encoded JPEG")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError("snapshotFrame is not valid base64") from exc
    if len(data) > limit:
        raise ProtocolError(
            f"snapshot frame of {len(data)} bytes refused: the limit is {limit} bytes"
        )
    if not data.startswith(b"\xff\xd8\xff"):
        raise ProtocolError("snapshotFrame is not a JPEG image")
    return data


# --- server → device ------------------------------------------------------------------------------

CATEGORY_PATHS = {
    "training": "/api/training/data",
    "testing": "/api/testing/data",
    "anomaly": "/api/anomaly/data",
    "split": "/api/split/data",
}


@dataclass(frozen=True)
class SampleRequest:
    label: str
    length_ms: int
    category: str
    interval_ms: float
    sensor: str

    def message(self, hmac_key: str) -> dict[str, Any]:
        return {
            "sample": {
                "label": self.label,
                "length": self.length_ms,
                "path": CATEGORY_PATHS[self.category],
                "hmacKey": hmac_key,
                "interval": self.interval_ms,
                "sensor": self.sensor,
            }
        }


def check_sample_request(
    hello: Hello,
    *,
    label: str,
    length_ms: float,
    category: str,
    sensor: str,
    interval_ms: float | None = None,
    frequency_hz: float | None = None,
) -> SampleRequest:
    """A sample request the device can serve, or ProtocolError saying what it does not offer."""
    if category not in CATEGORY_PATHS:
        raise ProtocolError(
            f"unknown category '{category}': use training, testing, anomaly or split"
        )
    label = label.strip()
    if not label or len(label) > NAME_LIMIT:
        raise ProtocolError("a label of 1 to 255 characters is required")
    found = hello.sensor(sensor)
    if found is None:
        offered = ", ".join(f"'{s.name}'" for s in hello.sensors) or "none"
        raise ProtocolError(
            f"device {hello.device_id} has no sensor '{sensor}' (it offers {offered})"
        )
    if not math.isfinite(length_ms) or length_ms <= 0:
        raise ProtocolError("the length must be a positive number of milliseconds")
    if found.max_sample_length_s and length_ms > found.max_sample_length_s * 1000:
        raise ProtocolError(
            f"sensor '{sensor}' records at most {found.max_sample_length_s:g} s at a time"
        )
    if frequency_hz is not None:
        if not math.isfinite(frequency_hz) or frequency_hz <= 0:
            raise ProtocolError("the frequency must be a positive number of Hz")
        interval_ms = 1000.0 / frequency_hz
    if found.frequencies:
        if interval_ms is None:
            interval_ms = 1000.0 / found.frequencies[0]
        if not any(math.isclose(1000.0 / f, interval_ms, rel_tol=1e-3) for f in found.frequencies):
            offered = ", ".join(f"{f:g}" for f in found.frequencies)
            raise ProtocolError(
                f"sensor '{sensor}' does not sample at {1000.0 / interval_ms:g} Hz "
                f"(it offers {offered} Hz)"
            )
    elif interval_ms is None:
        interval_ms = 0.0  # cameras: one snapshot, no rate
    return SampleRequest(
        label=label,
        length_ms=int(round(length_ms)),
        category=category,
        interval_ms=float(interval_ms),
        sensor=sensor,
    )
