"""WAV decoding: bit depths, channels, rates, real FSDD recordings, and broken files."""

from __future__ import annotations

import struct
import wave

import numpy as np
import pytest

from app.ingestion import IngestionError, decode_upload, decode_wav, encode_wav, read_values
from tests.paths import FSDD_DIR, require_shared


def decode(data: bytes, **kw):
    return decode_upload(data, filename="sound.wav", content_type="audio/wav", hmac_keys=[], **kw)


def reject(data: bytes, status: int, **kw) -> str:
    with pytest.raises(IngestionError) as info:
        decode(data, **kw)
    assert info.value.status == status, info.value.message
    return info.value.message


@pytest.mark.parametrize("bits", [8, 16, 24, 32])
@pytest.mark.parametrize("channels", [1, 2])
def test_integer_pcm_keeps_integer_sample_values(bits, channels):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    rng = np.random.default_rng(bits + channels)
    samples = rng.integers(lo, hi, size=(300, channels), endpoint=True)
    samples[0] = lo
    samples[1] = hi
    sample = decode(encode_wav(samples, rate=11025, bits=bits))
    assert sample.kind == "timeseries" and sample.format == "wav"
    assert sample.values.shape == (300, channels) and sample.values.dtype == np.float32
    np.testing.assert_array_equal(sample.values, samples.astype(np.float32))
    assert sample.interval_ms == pytest.approx(
        1000 / 11025
    ) and sample.frequency_hz == pytest.approx(11025)
    assert sample.sensors[0] == {"name": "audio", "units": "wav"}
    assert [s["name"] for s in sample.sensors] == ["audio", "audio2"][:channels]
    assert sample.metadata == {
        "wav_sample_rate_hz": 11025,
        "wav_bits": bits,
        "wav_channels": channels,
        "wav_sample_format": "int",
    }
    assert sample.signature_alg is None and not sample.signature_verified


def test_stdlib_wave_writer_files_decode_identically():
    """Cross-check against an independent writer: Python's `wave` module, 16-bit stereo and 8-bit
    mono."""
    import io

    rng = np.random.default_rng(7)
    stereo = rng.integers(-32768, 32767, size=(500, 2)).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(stereo.tobytes())
    sample = decode(out.getvalue())
    np.testing.assert_array_equal(sample.values, stereo.astype(np.float32))
    assert sample.interval_ms == pytest.approx(1000 / 22050)

    unsigned = rng.integers(0, 255, size=400).astype(np.uint8)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(unsigned.tobytes())
    sample = decode(out.getvalue())
    np.testing.assert_array_equal(sample.values[:, 0], unsigned.astype(np.float32) - 128)


def test_float32_wav_keeps_float_values():
    samples = np.array([[0.5, -0.25], [1.0, -1.0], [0.0, 0.125]], dtype=np.float32)
    sample = decode(encode_wav(samples, rate=48000, bits=32, sample_format="float"))
    np.testing.assert_array_equal(sample.values, samples)
    assert sample.metadata["wav_sample_format"] == "float"


def test_real_fsdd_recordings_match_the_stdlib_reader():
    files = sorted(require_shared(FSDD_DIR).glob("*.wav"))[:25]
    assert files
    for path in files:
        data = path.read_bytes()
        sample = decode_upload(
            data, filename=path.name, content_type="multipart/form-data", hmac_keys=[]
        )
        with wave.open(str(path)) as w:
            rate, width, frames = w.getframerate(), w.getsampwidth(), w.readframes(w.getnframes())
        assert width == 2
        expected = np.frombuffer(frames, dtype="<i2").astype(np.float32)
        np.testing.assert_array_equal(sample.values[:, 0], expected)
        assert sample.interval_ms == pytest.approx(1000 / rate)
        assert sample.length_ms == pytest.approx(len(expected) * 1000 / rate)
        values, interval_ms, sensors = read_values(data, format="wav")
        np.testing.assert_array_equal(values, sample.values)
        assert interval_ms == sample.interval_ms and sensors == sample.sensors


def test_fsdd_hash_is_stable_and_distinguishes_recordings():
    files = sorted(require_shared(FSDD_DIR).glob("*.wav"))[:2]
    a, b = (decode(p.read_bytes()) for p in files)
    assert a.content_hash == decode(files[0].read_bytes()).content_hash
    assert a.content_hash != b.content_hash


def test_extra_chunks_before_data_and_odd_chunk_padding_are_skipped():
    body = encode_wav(np.arange(10), rate=8000)
    fmt_end = 12 + 8 + 16
    junk = b"LIST" + struct.pack("<I", 3) + b"abc" + b"\x00"  # odd size, padded
    patched = body[:fmt_end] + junk + body[fmt_end:]
    patched = patched[:4] + struct.pack("<I", len(patched) - 8) + patched[8:]
    assert decode(patched).values[:, 0].tolist() == list(range(10))


def test_streaming_writer_with_unknown_data_size_is_read_to_the_end():
    body = bytearray(encode_wav(np.arange(8), rate=8000))
    data_at = body.index(b"data")
    body[data_at + 4 : data_at + 8] = struct.pack("<I", 0xFFFFFFFF)
    assert decode(bytes(body)).rows == 8


def _fmt(
    tag: int, channels: int = 1, rate: int = 8000, bits: int = 16, block_align: int | None = None
) -> bytes:
    block_align = block_align if block_align is not None else channels * bits // 8
    return struct.pack("<HHIIHH", tag, channels, rate, rate * block_align, block_align, bits)


def _riff(*chunks: tuple[bytes, bytes]) -> bytes:
    body = b"WAVE" + b"".join(cid + struct.pack("<I", len(data)) + data for cid, data in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


PCM = np.arange(16, dtype="<i2").tobytes()

BAD_WAVS = [
    ("big-endian rifx", b"RIFX\x24\x00\x00\x00WAVE" + b"\x00" * 40, 415, "big-endian"),
    ("riff but not wave", b"RIFF\x10\x00\x00\x00AVI LIST", 400, "RIFF/WAVE"),
    ("header only", b"RIFF\x04\x00\x00\x00WAVE", 400, "fmt"),
    ("no data chunk", _riff((b"fmt ", _fmt(1))), 400, "data"),
    ("no fmt chunk", _riff((b"data", PCM)), 400, "fmt"),
    ("short fmt", _riff((b"fmt ", _fmt(1)[:10]), (b"data", PCM)), 400, "fmt"),
    ("mp3 inside", _riff((b"fmt ", _fmt(0x55, bits=0, block_align=1)), (b"data", PCM)), 415, "MP3"),
    (
        "ima adpcm",
        _riff((b"fmt ", _fmt(0x11, bits=4, block_align=256)), (b"data", PCM)),
        415,
        "ADPCM",
    ),
    ("mu-law", _riff((b"fmt ", _fmt(7, bits=8)), (b"data", PCM)), 415, "mu-law"),
    (
        "12-bit pcm",
        _riff((b"fmt ", _fmt(1, bits=12, block_align=2)), (b"data", PCM)),
        415,
        "12-bit",
    ),
    ("64-bit float", _riff((b"fmt ", _fmt(3, bits=64)), (b"data", PCM)), 415, "64-bit float"),
    (
        "zero channels",
        _riff((b"fmt ", _fmt(1, channels=0, block_align=2)), (b"data", PCM)),
        400,
        "channels",
    ),
    ("zero rate", _riff((b"fmt ", _fmt(1, rate=0)), (b"data", PCM)), 400, "sample rate"),
    (
        "bad block align",
        _riff((b"fmt ", _fmt(1, block_align=3)), (b"data", PCM)),
        400,
        "block align",
    ),
    ("empty data", _riff((b"fmt ", _fmt(1)), (b"data", b"")), 400, "no audio frames"),
    (
        "float nan",
        _riff((b"fmt ", _fmt(3, bits=32)), (b"data", np.array([1.0, np.nan], "<f4").tobytes())),
        400,
        "NaN",
    ),
    ("truncated data", encode_wav(np.arange(1000), rate=8000)[:-500], 400, "truncated"),
    ("truncated in chunk header", encode_wav(np.arange(10), rate=8000)[:30], 400, "fmt"),
]


@pytest.mark.parametrize("case, data, status, needle", BAD_WAVS, ids=[c[0] for c in BAD_WAVS])
def test_bad_wav_files(case, data, status, needle):
    message = reject(data, status)
    assert needle.lower() in message.lower(), message


def test_non_wav_bytes_with_wav_name():
    message = reject(b"this is not audio at all", 400)
    assert "RIFF/WAVE" in message


def test_encode_wav_rejects_out_of_range_and_bad_arguments():
    with pytest.raises(ValueError):
        encode_wav([40000], rate=8000, bits=16)
    with pytest.raises(ValueError):
        encode_wav([1], rate=0)
    with pytest.raises(ValueError):
        encode_wav([1.0], rate=8000, bits=16, sample_format="float")
    with pytest.raises(ValueError):
        encode_wav(np.zeros((0, 1)), rate=8000)


def test_decode_wav_direct_api_reports_info():
    values, info = decode_wav(encode_wav(np.zeros((5, 3)), rate=16000, bits=24))
    assert values.shape == (5, 3)
    assert (info.rate_hz, info.channels, info.bits, info.frames, info.sample_format) == (
        16000,
        3,
        24,
        5,
        "int",
    )
