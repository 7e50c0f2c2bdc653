"""Edge Impulse's data acquisition format: JSON or CBOR, optionally HMAC-SHA256 signed.

Message shape (docs.edgeimpulse.com/tools/specifications/data-acquisition/json-cbor)::

    {"protected": {"ver": "v1", "alg": "HS256" | "none", "iat": <epoch s, optional>},
     "signature": "<64 hex chars>",
     "payload": {"device_name"?, "device_type", "interval_ms", "sensors": [{"name", "units"}],
                 "values": [[...], ...] | [n, n, ...] (one sensor) | ["Ref-BINARY-i16"]}}

Signing: the client serialises the message with `signature` = 64 ASCII '0's, computes HMAC-SHA256
over those exact bytes with the project's HMAC key (the key string's UTF-8 bytes), and puts the hex
digest in place of the zeros. The server therefore verifies over the received bytes with the 64
signature characters replaced by '0's.

Binary payloads: `values` is a one-string array naming the sample type (`Ref-BINARY-i16`, any case,
optionally right-padded with spaces for alignment); the message is complete, valid CBOR/JSON and the
raw little-endian samples follow it directly in the same body. The signature covers the whole body
(header and samples). Edge Impulse firmware builds this as: header up to an indefinite-length
`values` array (0x9F), a text string "Ref-BINARY-i16" padded with spaces so that the header ends on
a 4-byte boundary, the break byte 0xFF, then the int16 samples.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import cbor2
import numpy as np

from app.ingestion.errors import IngestionError, malformed, unauthorized
from app.ingestion.sample import (
    DecodedSample,
    timeseries_hash,
    validate_interval_ms,
    validate_sensors,
    values_to_array,
)

_orjson: ModuleType | None
try:  # orjson parses the hot path (3 axes x 250 values) ~6x faster than the stdlib
    import orjson as _orjson
except ImportError:  # pragma: no cover - the stdlib parser gives the same results, slower
    _orjson = None

EMPTY_SIGNATURE = "0" * 64
_EMPTY_SIGNATURE_BYTES = EMPTY_SIGNATURE.encode("ascii")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}\Z")
# "Ref-BINARY-i16", "Ref-Binary-f32  " ... (padding spaces allowed on the right)
_REF_BINARY = re.compile(r"Ref-BINARY-(i8|u8|i16|u16|i32|u32|f32) *\Z", re.IGNORECASE)
REF_BINARY_DTYPES: dict[str, np.dtype] = {
    "i8": np.dtype("<i1"),
    "u8": np.dtype("<u1"),
    "i16": np.dtype("<i2"),
    "u16": np.dtype("<u2"),
    "i32": np.dtype("<i4"),
    "u32": np.dtype("<u4"),
    "f32": np.dtype("<f4"),
}
# Edge Impulse firmware writes the header to flash and the uploader may include erased-flash
# padding after a complete message; such trailing bytes (all 0x00 or all 0xFF) are tolerated.
_PADDING_BYTES = frozenset(b"\x00\xff")
_MAX_SIGNATURE_CANDIDATES = 8


@dataclass
class ParsedMessage:
    """The parsed envelope of a data acquisition message, before values are converted."""

    encoding: Literal["json", "cbor"]
    message: dict[str, Any]
    header_length: int  # bytes of the JSON/CBOR document; the rest of the body is the binary block


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid JSON number")


def sniff_encoding(data: bytes) -> Literal["json", "cbor"] | None:
    """'json' when the first non-space byte is '{', 'cbor' when the first byte is a CBOR map, else
    None."""
    stripped = data.lstrip(b" \t\r\n\xef\xbb\xbf")
    if stripped[:1] == b"{":
        return "json"
    if data[:1] and (0xA0 <= data[0] <= 0xBF or data[:3] == b"\xd9\xd9\xf7"):
        return "cbor"
    return None


def parse_message(data: bytes) -> ParsedMessage:
    """Parse the JSON or CBOR envelope (content-sniffed; the declared content type is not
    trusted)."""
    encoding = sniff_encoding(data)
    if encoding == "json":
        message, header_length = _parse_json(data)
    elif encoding == "cbor":
        message, header_length = _parse_cbor(data)
    else:
        raise malformed(
            "Body is neither a JSON object nor a CBOR map in the data acquisition format."
        )
    if not isinstance(message, dict):
        raise malformed(
            "Data acquisition message must be an object with protected, signature and payload."
        )
    return ParsedMessage(encoding=encoding, message=message, header_length=header_length)


def _parse_json(data: bytes) -> tuple[Any, int]:
    if _orjson is not None:
        try:
            return _orjson.loads(data), len(data)
        except _orjson.JSONDecodeError:
            pass  # fall through: BOM, Ref-BINARY block, or a real error worded by the stdlib parser
    try:
        return json.loads(data, parse_constant=_reject_constant), len(data)
    except RecursionError:
        raise malformed("JSON body is nested too deeply.") from None
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as first_error:
        # A binary block after the JSON document (Ref-BINARY) makes the whole body invalid JSON.
        text = data.decode("utf-8", errors="surrogateescape")
        start = len(text) - len(text.lstrip(" \t\r\n\ufeff"))
        try:
            message, end = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(text, start)
        except RecursionError:
            raise malformed("JSON body is nested too deeply.") from None
        except (json.JSONDecodeError, ValueError) as error:
            raise malformed(f"Body is not valid JSON: {_json_error(error)}.") from None
        header_length = len(text[:end].encode("utf-8", errors="surrogateescape"))
        try:  # the document itself must be UTF-8; only a Ref-BINARY block after it may be bytes
            data[:header_length].decode("utf-8")
        except UnicodeDecodeError as error:
            raise malformed(f"Body is not valid JSON: {_json_error(error)}.") from None
        if (
            _ref_binary_type(message) is None
            and not set(data[header_length:].strip()) <= _PADDING_BYTES
        ):
            raise malformed(f"Body is not valid JSON: {_json_error(first_error)}.") from None
        return message, header_length


def _json_error(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return str(error)


def _parse_cbor(data: bytes) -> tuple[Any, int]:
    fp = io.BytesIO(data)
    try:
        message = cbor2.CBORDecoder(fp).decode()
    except RecursionError:
        raise malformed("CBOR body is nested too deeply.") from None
    except (
        cbor2.CBORDecodeError,
        ValueError,
        TypeError,
        OverflowError,
        EOFError,
        MemoryError,
    ) as error:
        raise malformed(f"Body is not valid CBOR: {error}.") from None
    return message, fp.tell()


def _ref_binary_type(message: Any) -> str | None:
    """The sample type ('i16', ...) when payload.values is a Ref-BINARY marker, else None."""
    if not isinstance(message, dict):
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return None
    values = payload.get("values")
    if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str):
        match = _REF_BINARY.match(values[0])
        if match:
            return match.group(1).lower()
    return None


# --------------------------------------------------------------------------------------------------
# signatures


def _signature_candidates(data: bytes, header_length: int, signature: str) -> list[int]:
    """Offsets of the signature's 64 characters inside the message header."""
    needle = signature.encode("ascii")
    header = memoryview(data)[:header_length].tobytes() if header_length != len(data) else data
    out: list[int] = []
    start = 0
    while len(out) < _MAX_SIGNATURE_CANDIDATES:
        at = header.find(needle, start)
        if at < 0:
            break
        out.append(at)
        start = at + 1
    return out


def verify_hs256(
    data: bytes, *, header_length: int, signature: str, hmac_keys: list[str]
) -> int | None:
    """Index of the HMAC key that signed `data`, or None.

    Recomputes HMAC-SHA256 over the received bytes with the signature's 64 characters replaced by
    '0's (every place the signature text occurs in the header is tried, normally exactly one) and
    compares in constant time.
    """
    expected = signature.lower()
    found: int | None = None
    for at in _signature_candidates(data, header_length, signature):
        zeroed = b"".join((data[:at], _EMPTY_SIGNATURE_BYTES, data[at + 64 :]))
        for ix, key in enumerate(hmac_keys):
            digest = hmac.new(key.encode("utf-8"), zeroed, hashlib.sha256).hexdigest()
            if hmac.compare_digest(digest, expected) and found is None:
                found = ix
    return found


# --------------------------------------------------------------------------------------------------
# decoding


def decode_acquisition(
    data: bytes,
    *,
    hmac_keys: list[str],
    require_signature: bool = False,
    reject_bad_signature: bool = True,
) -> DecodedSample:
    """Decode and validate a data acquisition message (JSON or CBOR, sniffed), verifying its
    signature."""
    parsed = parse_message(data)
    message = parsed.message
    alg, iat = parse_protected(message)
    metadata: dict[str, Any] = {}
    if iat is not None:
        metadata["iat"] = iat
    verified, notes = signature_verdict(
        parsed,
        data,
        alg=alg,
        hmac_keys=hmac_keys,
        require_signature=require_signature,
        reject_bad_signature=reject_bad_signature,
    )
    metadata.update(notes)

    payload = message.get("payload")
    if not isinstance(payload, dict):
        raise malformed("Message has no 'payload' object.")
    values, interval_ms, sensors, info = payload_values(
        payload, data=data, header_length=parsed.header_length
    )
    metadata.update(info)
    device_name = _optional_str(payload, "device_name")
    device_type = _optional_str(payload, "device_type")
    return DecodedSample(
        kind="timeseries",
        format=parsed.encoding,
        sensors=sensors,
        interval_ms=interval_ms,
        values=values,
        image_size=None,
        device_name=device_name,
        device_type=device_type,
        signature_alg=alg,
        signature_verified=verified,
        content_hash=timeseries_hash(values=values, interval_ms=interval_ms, sensors=sensors),
        metadata=metadata,
    )


def parse_protected(message: dict[str, Any]) -> tuple[Literal["HS256", "none"], int | float | None]:
    """The message's `protected` header checked: (alg normalised to "HS256" or "none", iat or
    None)."""
    protected = message.get("protected")
    if not isinstance(protected, dict):
        raise malformed('Message has no \'protected\' object (expected {"ver": "v1", "alg": ...}).')
    ver = protected.get("ver")
    if ver != "v1":
        raise malformed(f'protected.ver must be "v1", got {ver!r}.')
    alg_raw = protected.get("alg")
    if not isinstance(alg_raw, str) or alg_raw.lower() not in ("hs256", "none"):
        raise malformed(f'protected.alg must be "HS256" or "none", got {alg_raw!r}.')
    alg: Literal["HS256", "none"] = "HS256" if alg_raw.lower() == "hs256" else "none"
    iat = protected.get("iat")
    if iat is not None and (
        isinstance(iat, bool) or not isinstance(iat, (int, float)) or not math.isfinite(iat)
    ):
        raise malformed(f"protected.iat must be a number of seconds since the epoch, got {iat!r}.")
    return alg, iat


def signature_verdict(
    parsed: ParsedMessage,
    data: bytes,
    *,
    alg: str,
    hmac_keys: list[str],
    require_signature: bool,
    reject_bad_signature: bool,
) -> tuple[bool, dict[str, Any]]:
    """Whether the message's signature is verified, and the metadata that says why not (or which
    key signed it). 401 for: no signature where the project requires one, a signature that is not
    64 hex characters, no key to verify a required signature with, and a signature that no key
    matches (unless `reject_bad_signature` is off and no signature is required: then it is kept,
    unverified, as Edge Impulse does)."""
    if alg == "none":
        if require_signature:
            raise unauthorized('This project requires signed data, but the message has alg "none".')
        return False, {}
    signature = parsed.message.get("signature")
    if not isinstance(signature, str) or not _HEX64.match(signature):
        raise unauthorized(
            "protected.alg is HS256 but 'signature' is not 64 hexadecimal characters."
        )
    if not hmac_keys:
        if require_signature:
            raise unauthorized(
                "This project requires signed data but has no HMAC key to verify it with."
            )
        return False, {"signature_error": "no HMAC key configured"}
    key_ix = verify_hs256(
        data, header_length=parsed.header_length, signature=signature, hmac_keys=hmac_keys
    )
    if key_ix is None:
        if reject_bad_signature or require_signature:
            raise unauthorized(
                "HMAC-SHA256 signature does not match the message for any of the project's "
                "HMAC keys."
            )
        return False, {"signature_error": "signature mismatch"}
    return True, {"hmac_key_index": key_ix}


def _optional_str(payload: dict, key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise malformed(f"payload.{key} must be a string.")
    if len(value) > 255 or any(ord(ch) < 0x20 for ch in value):
        raise malformed(f"payload.{key} must be at most 255 printable characters.")
    return value


def payload_values(
    payload: dict, *, data: bytes, header_length: int
) -> tuple[np.ndarray, float, list[dict[str, str]], dict[str, Any]]:
    """Values [rows, axes] float32, interval_ms, sensors and extra metadata from a parsed
    payload."""
    sensors = validate_sensors(payload.get("sensors"))
    info: dict[str, Any] = {}
    ref_type = _ref_binary_type({"payload": payload})
    if ref_type is not None:
        values = _binary_block(data[header_length:], ref_type=ref_type, axes=len(sensors))
        info["ref_binary"] = ref_type
    else:
        if header_length < len(data) and not set(data[header_length:].strip()) <= _PADDING_BYTES:
            raise malformed(
                f"Body has {len(data) - header_length} unexpected bytes after the message "
                "(only a Ref-BINARY message may carry a binary block)."
            )
        raw_values = payload.get("values")
        if isinstance(raw_values, list) and raw_values and isinstance(raw_values[0], str):
            raise malformed(
                f"payload.values holds the string {raw_values[0][:60]!r}; expected numbers or a "
                "Ref-BINARY-i8/u8/i16/u16/i32/u32/f32 marker followed by the binary samples."
            )
        may_hold_bools = not data.startswith(b"{") or b"true" in data or b"false" in data
        values = values_to_array(raw_values, axes=len(sensors), may_hold_bools=may_hold_bools)
    interval_ms = validate_interval_ms(payload.get("interval_ms"), rows=values.shape[0])
    return values, interval_ms, sensors, info


def _binary_block(block: bytes, *, ref_type: str, axes: int) -> np.ndarray:
    dtype = REF_BINARY_DTYPES[ref_type]
    frame = dtype.itemsize * axes
    if not block:
        raise malformed(
            f"payload.values is Ref-BINARY-{ref_type} but no samples follow the message."
        )
    if len(block) % frame:
        raise malformed(
            f"Binary block of {len(block)} bytes is not a whole number of {ref_type} samples "
            f"for {axes} sensor(s) ({frame} bytes per reading)."
        )
    raw = np.frombuffer(block, dtype=dtype).reshape(-1, axes)
    out = raw.astype(np.float32)
    if ref_type == "f32" and not np.isfinite(out).all():
        bad = int(np.argwhere(~np.isfinite(out))[0][0])
        raise malformed(f"Binary block reading {bad} is not a finite float32 number (NaN or inf).")
    return out


def read_acquisition_values(blob: bytes) -> tuple[np.ndarray, float, list[dict[str, str]]]:
    """Re-decode a stored JSON/CBOR message without checking its signature."""
    parsed = parse_message(blob)
    payload = parsed.message.get("payload")
    if not isinstance(payload, dict):
        raise malformed("Message has no 'payload' object.")
    values, interval_ms, sensors, _ = payload_values(
        payload, data=blob, header_length=parsed.header_length
    )
    return values, interval_ms, sensors


# --------------------------------------------------------------------------------------------------
# building messages (clients, tests, CLI)


def sign_acquisition(
    payload: dict[str, Any],
    *,
    hmac_key: str | None,
    encoding: Literal["json", "cbor"] = "json",
    iat: int | None = None,
    binary: bytes | None = None,
) -> bytes:
    """Build a full data acquisition message the way Edge Impulse's clients do.

    With an `hmac_key` the message is serialised with 64 '0's as signature, HMAC-SHA256 is computed
    over those bytes (plus `binary`, the raw samples of a Ref-BINARY message, when given) and the
    hex digest replaces the zeros. Without a key the message carries alg "none".
    """
    if encoding not in ("json", "cbor"):
        raise ValueError(f"encoding must be 'json' or 'cbor', got {encoding!r}")
    payload = dict(payload)
    if isinstance(payload.get("values"), np.ndarray):
        payload["values"] = payload["values"].tolist()
    protected: dict[str, Any] = {"ver": "v1", "alg": "HS256" if hmac_key else "none"}
    if iat is not None:
        protected["iat"] = int(iat)
    message = {"protected": protected, "signature": EMPTY_SIGNATURE, "payload": payload}
    encoded = _encode(message, encoding)
    tail = binary or b""
    if hmac_key:
        signature = hmac.new(hmac_key.encode("utf-8"), encoded + tail, hashlib.sha256).hexdigest()
        message["signature"] = signature
        encoded = _encode(message, encoding)
    return encoded + tail


def _encode(message: dict, encoding: str) -> bytes:
    if encoding == "json":
        return json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return cbor2.dumps(message)


def ref_binary_message(
    samples: np.ndarray,
    *,
    ref_type: str,
    sensors: list[dict[str, str]],
    interval_ms: float,
    hmac_key: str | None,
    encoding: Literal["json", "cbor"] = "cbor",
    device_type: str = "TINYFORGE",
    device_name: str | None = None,
    pad_to: int = 4,
) -> bytes:
    """Build a Ref-BINARY message (header + little-endian samples) like Edge Impulse firmware does.

    The marker string is right-padded with spaces so that the binary block starts at a multiple of
    `pad_to` bytes (Edge Impulse firmware aligns to 4 for flash writes).
    """
    if ref_type not in REF_BINARY_DTYPES:
        raise ValueError(f"ref_type must be one of {sorted(REF_BINARY_DTYPES)}, got {ref_type!r}")
    block = np.ascontiguousarray(samples, dtype=REF_BINARY_DTYPES[ref_type]).tobytes()
    payload: dict[str, Any] = {"device_type": device_type}
    if device_name is not None:
        payload["device_name"] = device_name
    payload.update({"interval_ms": interval_ms, "sensors": sensors})
    marker = f"Ref-BINARY-{ref_type}"
    for padding in range(max(pad_to, 1)):
        payload["values"] = [marker + " " * padding]
        header = sign_acquisition(payload, hmac_key=hmac_key, encoding=encoding)
        if len(header) % max(pad_to, 1) == 0:
            break
    return sign_acquisition(payload, hmac_key=hmac_key, encoding=encoding, binary=block)


__all__ = [
    "EMPTY_SIGNATURE",
    "REF_BINARY_DTYPES",
    "IngestionError",
    "ParsedMessage",
    "decode_acquisition",
    "parse_message",
    "read_acquisition_values",
    "ref_binary_message",
    "sign_acquisition",
    "sniff_encoding",
    "verify_hs256",
]
