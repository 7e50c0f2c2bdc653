"""RIFF/WAVE decoding and encoding (PCM 8/16/24/32-bit integer and 32-bit float, any rate, any
channels).

Values are kept as the integer sample values, the way Edge Impulse stores audio: 16-bit files give
the int16 range (-32768..32767), 24-bit the int24 range, 32-bit integer the int32 range (float32
keeps 24 bits of precision), 8-bit files (unsigned on disk) are centred to -128..127, and 32-bit
float files keep their float values (normally -1..1). Channels become axes named audio, audio2, ...
and interval_ms = 1000 / sample rate.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from app.ingestion.errors import malformed, unsupported

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_FORMAT_NAMES = {
    0x0002: "Microsoft ADPCM",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0050: "MPEG",
    0x0055: "MP3",
    0x00FF: "AAC",
    0x1610: "HE-AAC",
    0x674F: "Ogg Vorbis",
    0xF1AC: "FLAC",
}
MAX_CHANNELS = 64
MAX_RATE_HZ = 1_000_000


@dataclass
class WavInfo:
    rate_hz: int
    channels: int
    bits: int
    sample_format: str  # "int" or "float"
    frames: int


def audio_sensors(channels: int) -> list[dict[str, str]]:
    """[{"name": "audio", "units": "wav"}, {"name": "audio2", ...}, ...] as Edge Impulse firmware
    names them."""
    return [
        {"name": "audio" if ix == 0 else f"audio{ix + 1}", "units": "wav"} for ix in range(channels)
    ]


@dataclass(frozen=True)
class _Format:
    """The fields of a 'fmt ' chunk that decoding needs (the sub-format tag for EXTENSIBLE)."""

    tag: int
    channels: int
    rate: int
    block_align: int
    bits: int


def decode_wav(data: bytes) -> tuple[np.ndarray, WavInfo]:
    """Decode a RIFF/WAVE file to float32 [frames, channels] holding the integer sample values."""
    _check_riff_header(data)
    fmt, pcm = _read_chunks(data)
    _check_format(fmt)
    frames = len(pcm) // fmt.block_align
    if frames == 0:
        raise malformed("WAV file has no audio frames.")
    samples, sample_format = _decode_samples(pcm[: frames * fmt.block_align], fmt)
    values = samples.reshape(frames, fmt.channels)
    return values, WavInfo(
        rate_hz=fmt.rate,
        channels=fmt.channels,
        bits=fmt.bits,
        sample_format=sample_format,
        frames=frames,
    )


def _check_riff_header(data: bytes) -> None:
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise malformed("File is not a RIFF/WAVE file (missing 'RIFF....WAVE' header).")
    if data[:4] == b"RIFX":
        raise unsupported(
            "Big-endian RIFX WAV files are not supported; send little-endian RIFF PCM."
        )


def _read_chunks(data: bytes) -> tuple[_Format, bytes]:
    """Walk the chunks after the RIFF header until both 'fmt ' and 'data' are found (other chunks
    are skipped, odd sizes padded); return the format and the data chunk's bytes."""
    fmt: _Format | None = None
    pcm: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body_start = pos + 8
        available = len(data) - body_start
        if chunk_id == b"data":
            if size > available:
                # Streaming writers leave the size at 0 or 0xFFFFFFFF; anything else is a cut-off
                # file.
                if size in (0, 0xFFFFFFFF):
                    size = available
                else:
                    raise malformed(
                        f"WAV data chunk declares {size} bytes but only {available} are "
                        "present (truncated file?)."
                    )
            pcm = data[body_start : body_start + size]
            if fmt is not None:
                break
        elif chunk_id == b"fmt ":
            fmt = _parse_fmt_chunk(data, body_start, size=size, available=available)
            if pcm is not None:
                break
        elif size > available:
            raise malformed(
                f"WAV chunk {chunk_id!r} declares {size} bytes but the file ends early "
                "(truncated file?)."
            )
        pos = body_start + size + (size & 1)
    if fmt is None:
        raise malformed("WAV file has no 'fmt ' chunk.")
    if pcm is None:
        raise malformed("WAV file has no 'data' chunk.")
    return fmt, pcm


def _parse_fmt_chunk(data: bytes, body_start: int, *, size: int, available: int) -> _Format:
    if size < 16 or size > available:
        raise malformed("WAV 'fmt ' chunk is truncated or too short.")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from(
        "<HHIIHH", data, body_start
    )
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if size < 40:
            raise malformed("WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is shorter than 40 bytes.")
        (tag,) = struct.unpack_from("<H", data, body_start + 24)
    return _Format(tag=tag, channels=channels, rate=rate, block_align=block_align, bits=bits)


def _check_format(fmt: _Format) -> None:
    """Reject compressed formats, channel counts, rates and sample widths that are not supported,
    and a block align that does not match them."""
    tag, channels, rate, bits = fmt.tag, fmt.channels, fmt.rate, fmt.bits
    if tag not in (WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT):
        name = _FORMAT_NAMES.get(tag, "compressed")
        raise unsupported(
            f"WAV format 0x{tag:04x} ({name}) is not supported; send uncompressed PCM "
            "(8/16/24/32-bit) or 32-bit float."
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise malformed(
            f"WAV file declares {channels} channels; 1 to {MAX_CHANNELS} are supported."
        )
    if not 1 <= rate <= MAX_RATE_HZ:
        raise malformed(f"WAV sample rate {rate} Hz is outside 1..{MAX_RATE_HZ} Hz.")
    if tag == WAVE_FORMAT_IEEE_FLOAT and bits != 32:
        raise unsupported(
            f"{bits}-bit float WAV is not supported; use 32-bit float or integer PCM."
        )
    if tag == WAVE_FORMAT_PCM and bits not in (8, 16, 24, 32):
        raise unsupported(
            f"{bits}-bit PCM WAV is not supported; use 8, 16, 24 or 32 bits per sample."
        )
    if fmt.block_align != bits // 8 * channels:
        raise malformed(
            f"WAV block align {fmt.block_align} does not match {channels} channel(s) of "
            f"{bits} bits."
        )


def _decode_samples(pcm: bytes, fmt: _Format) -> tuple[np.ndarray, str]:
    """Whole frames of PCM bytes to float32 samples (interleaved) and "int" or "float"."""
    if fmt.tag == WAVE_FORMAT_IEEE_FLOAT:
        samples = np.frombuffer(pcm, dtype="<f4").astype(np.float32)
        if not np.isfinite(samples).all():
            raise malformed("32-bit float WAV holds NaN or infinite samples.")
        return samples, "float"
    if fmt.bits == 8:
        return np.frombuffer(pcm, dtype=np.uint8).astype(np.float32) - 128.0, "int"
    if fmt.bits == 16:
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32), "int"
    if fmt.bits == 24:
        raw = np.frombuffer(pcm, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        return ints.astype(np.float32), "int"
    return np.frombuffer(pcm, dtype="<i4").astype(np.float32), "int"


def encode_wav(
    samples: np.ndarray | list, *, rate: int, bits: int = 16, sample_format: str = "int"
) -> bytes:
    """Encode [frames] or [frames, channels] samples as a RIFF/WAVE file.

    Integer formats take the integer sample values (int16 range for 16-bit; -128..127 for 8-bit,
    stored unsigned on disk); `sample_format="float"` with bits=32 writes IEEE float.
    """
    arr = np.asarray(samples)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[0] == 0 or not 1 <= arr.shape[1] <= MAX_CHANNELS:
        raise ValueError("samples must be a non-empty [frames] or [frames, channels] array")
    if not isinstance(rate, (int, np.integer)) or not 1 <= rate <= MAX_RATE_HZ:
        raise ValueError(f"rate must be an integer number of Hz in 1..{MAX_RATE_HZ}, got {rate!r}")
    frames, channels = arr.shape
    if sample_format == "float":
        if bits != 32:
            raise ValueError("float WAV must be 32-bit")
        pcm = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        tag = WAVE_FORMAT_IEEE_FLOAT
    elif sample_format == "int":
        if bits not in (8, 16, 24, 32):
            raise ValueError(f"bits must be 8, 16, 24 or 32, got {bits}")
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        ints = np.rint(np.asarray(arr, dtype=np.float64))
        if ints.min() < lo or ints.max() > hi:
            raise ValueError(f"samples exceed the {bits}-bit range {lo}..{hi}")
        ints = ints.astype(np.int64)
        if bits == 8:
            pcm = (ints + 128).astype(np.uint8).tobytes()
        elif bits == 16:
            pcm = ints.astype("<i2").tobytes()
        elif bits == 24:
            u = (ints & 0xFFFFFF).astype("<u4").reshape(-1)
            pcm = (
                np.stack([u & 0xFF, (u >> 8) & 0xFF, (u >> 16) & 0xFF], axis=1)
                .astype(np.uint8)
                .tobytes()
            )
        else:
            pcm = ints.astype("<i4").tobytes()
        tag = WAVE_FORMAT_PCM
    else:
        raise ValueError(f"sample_format must be 'int' or 'float', got {sample_format!r}")
    width = bits // 8
    block_align = width * channels
    fmt = struct.pack(
        "<HHIIHH", tag, channels, int(rate), int(rate) * block_align, block_align, bits
    )
    pad = b"\x00" if len(pcm) & 1 else b""
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(pcm))
        + pcm
        + pad
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body
