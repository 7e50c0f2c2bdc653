"""One entry point for every upload body: pick the format, decode, validate, hash."""

from __future__ import annotations

from typing import Literal

import numpy as np

from app.ingestion.acquisition import decode_acquisition, read_acquisition_values, sniff_encoding
from app.ingestion.csv_format import decode_csv
from app.ingestion.errors import malformed, too_large, unauthorized, unsupported
from app.ingestion.image import DEFAULT_MAX_IMAGE_PIXELS, decode_image
from app.ingestion.sample import DecodedSample, image_hash, timeseries_hash
from app.ingestion.wav import audio_sensors, decode_wav

Format = Literal["json", "cbor", "wav", "csv", "jpg", "png"]

_EXTENSIONS: dict[str, Format] = {
    "json": "json",
    "cbor": "cbor",
    "wav": "wav",
    "wave": "wav",
    "csv": "csv",
    "jpg": "jpg",
    "jpeg": "jpg",
    "png": "png",
}
_KNOWN_UNSUPPORTED = {
    "mp4",
    "avi",
    "mov",
    "mp3",
    "ogg",
    "flac",
    "m4a",
    "labels",
    "txt",
    "zip",
    "gif",
    "bmp",
    "webp",
    "tif",
    "tiff",
    "parquet",
}
_CONTENT_TYPES: dict[str, Format] = {
    "application/json": "json",
    "text/json": "json",
    "application/cbor": "cbor",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "text/csv": "csv",
    "application/csv": "csv",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/png": "png",
}


def _extension(filename: str | None) -> str | None:
    if not filename:
        return None
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return None
    return base.rsplit(".", 1)[-1].strip().lower() or None


def _sniff_magic(data: bytes) -> Format | None:
    if data[:4] in (b"RIFF", b"RIFX") and data[8:12] == b"WAVE":
        return "wav"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    return None


def detect_format(data: bytes, *, filename: str | None, content_type: str | None) -> Format:
    """Choose the decoder: unambiguous magic bytes (RIFF/WAVE, PNG, JPEG) win, then the file
    extension, then the content type; JSON and CBOR are told apart by sniffing the content because
    clients send JSON labelled application/cbor (the Edge Impulse Python SDK does)."""
    magic = _sniff_magic(data)
    if magic is not None:
        return magic
    ext = _extension(filename)
    declared: Format | None = None
    if ext is not None:
        if ext in _EXTENSIONS:
            declared = _EXTENSIONS[ext]
        elif ext in _KNOWN_UNSUPPORTED:
            raise unsupported(
                f"Files of type .{ext} are not supported; send .json, .cbor, .wav, .csv, "
                ".jpg or .png."
            )
    if declared is None and content_type:
        mime = content_type.split(";", 1)[0].strip().lower()
        declared = _CONTENT_TYPES.get(mime)
    if declared in ("json", "cbor", None):
        sniffed = sniff_encoding(data)
        if sniffed is not None:
            return sniffed
        if declared is None and _looks_like_text_table(data):
            return "csv"
    if declared is None:
        ext_text = f".{ext}" if ext else "no extension"
        raise unsupported(
            f"Cannot tell the file type ({ext_text}, content type {content_type or 'none'}); "
            "send .json, .cbor, .wav, .csv, .jpg or .png."
        )
    return declared


def _looks_like_text_table(data: bytes) -> bool:
    head = data[:4096]
    if b"\x00" in head:
        return False
    try:
        first_line = head.split(b"\n", 1)[0].decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return "," in first_line or ";" in first_line


def decode_upload(
    data: bytes,
    *,
    filename: str | None,
    content_type: str | None,
    hmac_keys: list[str],
    require_signature: bool = False,
    max_bytes: int | None = None,
    interval_ms: float | None = None,
    reject_bad_signature: bool = True,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> DecodedSample:
    """Decode and validate one uploaded file or body; raise IngestionError naming the problem.

    `interval_ms` is used for a CSV file without a timestamp column. With `reject_bad_signature`
    False a wrong HS256 signature is accepted and recorded as unverified (Edge Impulse's own
    behaviour) instead of being rejected with 401. When `require_signature` is set, messages with
    alg "none" and raw files (WAV, CSV, images), which cannot carry a signature, get 401.
    """
    data = _checked_body(data, max_bytes=max_bytes)
    fmt = detect_format(data, filename=filename, content_type=content_type)

    if fmt in ("json", "cbor"):
        if sniff_encoding(data) is None:
            raise malformed(
                f"File declared as {fmt.upper()} is neither a JSON object nor a CBOR map."
            )
        return decode_acquisition(
            data,
            hmac_keys=hmac_keys,
            require_signature=require_signature,
            reject_bad_signature=reject_bad_signature,
        )

    if require_signature:
        raise unauthorized(
            f"This project requires signed data; a raw .{fmt} file cannot carry a signature."
        )
    if fmt == "wav":
        return _wav_sample(data)
    if fmt == "csv":
        return _csv_sample(data, interval_ms=interval_ms)
    return _image_sample(data, filename=filename, max_pixels=max_image_pixels)


def _checked_body(data: bytes | bytearray | memoryview, *, max_bytes: int | None) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("data must be bytes")
    data = bytes(data)
    if max_bytes is not None and len(data) > max_bytes:
        raise too_large(f"Upload is {len(data)} bytes; the limit is {max_bytes} bytes.")
    if not data:
        raise malformed("Upload is empty.")
    return data


def _unsigned_timeseries(
    fmt: Format,
    *,
    values: np.ndarray,
    interval_ms: float,
    sensors: list[dict[str, str]],
    metadata: dict,
) -> DecodedSample:
    """A time series from a raw file: no device, no signature."""
    return DecodedSample(
        kind="timeseries",
        format=fmt,
        sensors=sensors,
        interval_ms=interval_ms,
        values=values,
        image_size=None,
        device_name=None,
        device_type=None,
        signature_alg=None,
        signature_verified=False,
        content_hash=timeseries_hash(values=values, interval_ms=interval_ms, sensors=sensors),
        metadata=metadata,
    )


def _wav_sample(data: bytes) -> DecodedSample:
    values, info = decode_wav(data)
    return _unsigned_timeseries(
        "wav",
        values=values,
        interval_ms=1000.0 / info.rate_hz,
        sensors=audio_sensors(info.channels),
        metadata={
            "wav_sample_rate_hz": info.rate_hz,
            "wav_bits": info.bits,
            "wav_channels": info.channels,
            "wav_sample_format": info.sample_format,
        },
    )


def _csv_sample(data: bytes, *, interval_ms: float | None) -> DecodedSample:
    values, interval, sensors, meta = decode_csv(data, interval_ms=interval_ms)
    return _unsigned_timeseries(
        "csv", values=values, interval_ms=interval, sensors=sensors, metadata=meta
    )


def _image_sample(data: bytes, *, filename: str | None, max_pixels: int) -> DecodedSample:
    pixels, info = decode_image(data, max_pixels=max_pixels)
    height, width, channels = pixels.shape
    return DecodedSample(
        kind="image",
        format=info["image_format"],
        sensors=[{"name": "image", "units": "rgba"}],
        interval_ms=0.0,
        values=None,
        image_size=(width, height, channels),
        device_name=None,
        device_type=None,
        signature_alg=None,
        signature_verified=False,
        content_hash=image_hash(pixels),
        metadata=_image_metadata(info, filename),
    )


def _image_metadata(info: dict, filename: str | None) -> dict:
    meta = {"image_mode": info["image_mode"]}
    ext = _extension(filename)
    if ext is not None and _EXTENSIONS.get(ext) != info["image_format"]:
        meta["declared_extension"] = ext  # e.g. a JPEG uploaded as .png
    return meta


def read_values(
    blob: bytes, *, format: str, interval_ms: float | None = None
) -> tuple[np.ndarray, float, list[dict[str, str]]]:
    """Re-decode a stored time-series blob (no signature check): (float32 [rows, axes], interval_ms,
    sensors).

    `interval_ms` is needed only for a CSV stored without a timestamp column.
    """
    if format in ("json", "cbor"):
        return read_acquisition_values(blob)
    if format == "wav":
        values, info = decode_wav(blob)
        return values, 1000.0 / info.rate_hz, audio_sensors(info.channels)
    if format == "csv":
        values, interval, sensors, _ = decode_csv(blob, interval_ms=interval_ms)
        return values, interval, sensors
    if format in ("jpg", "png"):
        raise malformed(f"A .{format} blob is an image; use read_image.")
    raise unsupported(f"Unknown stored format {format!r}.")
