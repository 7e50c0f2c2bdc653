"""decode_upload as the routes call it: format choice, limits, signatures on raw files, one table of
bad bodies."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.ingestion import (
    IngestionError,
    decode_upload,
    detect_format,
    encode_csv,
    encode_wav,
    read_values,
    sign_acquisition,
)
from app.ingestion import acquisition as acquisition_module
from tests.app.ingestion.factories import HMAC_KEY, OTHER_KEY, accel_payload, image_bytes

SIGNED_JSON = sign_acquisition(accel_payload(rows=20), hmac_key=HMAC_KEY, encoding="json")
SIGNED_CBOR = sign_acquisition(accel_payload(rows=20), hmac_key=HMAC_KEY, encoding="cbor")
WAV = encode_wav(np.arange(100) - 50, rate=16000)
CSV = encode_csv(np.ones((4, 2)), sensor_names=["a", "b"], interval_ms=10)
PNG = image_bytes("PNG")
JPG = image_bytes("JPEG")


@pytest.mark.parametrize(
    "data, filename, content_type, expected",
    [
        (SIGNED_JSON, "idle.01.json", "application/json", "json"),
        (
            SIGNED_JSON,
            "idle.01.cbor",
            "application/cbor",
            "json",
        ),  # the Python SDK's DataAcquisition upload
        (SIGNED_CBOR, "idle.01.json", "application/json", "cbor"),
        (
            SIGNED_CBOR,
            None,
            "application/octet-stream",
            "cbor",
        ),  # /data with x-file-name and no extension
        (SIGNED_JSON, "idle01", None, "json"),
        (WAV, "yes.wav", "multipart/form-data", "wav"),  # the SDK labels every file part like this
        (WAV, None, None, "wav"),
        (WAV, "clip.json", "application/json", "wav"),  # magic bytes win over the name
        (CSV, "a.csv", "multipart/form-data", "csv"),
        (CSV, None, "text/csv", "csv"),
        (CSV, "noext", None, "csv"),
        (PNG, "x.png", None, "png"),
        (PNG, None, "image/png", "png"),
        (JPG, "x.jpeg", None, "jpg"),
        (JPG, "x.png", "image/png", "jpg"),
    ],
)
def test_detect_format(data, filename, content_type, expected):
    assert detect_format(data, filename=filename, content_type=content_type) == expected


def test_every_format_decodes_through_decode_upload_and_read_values():
    for data, filename in (
        (SIGNED_JSON, "a.json"),
        (SIGNED_CBOR, "a.cbor"),
        (WAV, "a.wav"),
        (CSV, "a.csv"),
    ):
        sample = decode_upload(data, filename=filename, content_type=None, hmac_keys=[HMAC_KEY])
        values, interval_ms, sensors = read_values(data, format=sample.format)
        np.testing.assert_array_equal(values, sample.values)
        assert interval_ms == sample.interval_ms and sensors == sample.sensors


def test_max_bytes_gives_413_before_any_parsing():
    with pytest.raises(IngestionError) as info:
        decode_upload(
            b"x" * 1001, filename="a.json", content_type=None, hmac_keys=[], max_bytes=1000
        )
    assert info.value.status == 413 and "1000" in info.value.message
    assert (
        decode_upload(
            SIGNED_JSON,
            filename="a.json",
            content_type=None,
            hmac_keys=[HMAC_KEY],
            max_bytes=len(SIGNED_JSON),
        ).rows
        == 20
    )


@pytest.mark.parametrize("data, filename", [(WAV, "a.wav"), (CSV, "a.csv"), (PNG, "a.png")])
def test_raw_files_cannot_satisfy_require_signature(data, filename):
    with pytest.raises(IngestionError) as info:
        decode_upload(
            data, filename=filename, content_type=None, hmac_keys=[HMAC_KEY], require_signature=True
        )
    assert info.value.status == 401 and "signed" in info.value.message
    assert (
        decode_upload(
            data, filename=filename, content_type=None, hmac_keys=[HMAC_KEY]
        ).signature_alg
        is None
    )


def test_signed_messages_satisfy_require_signature():
    sample = decode_upload(
        SIGNED_CBOR,
        filename="a.cbor",
        content_type=None,
        hmac_keys=[HMAC_KEY],
        require_signature=True,
    )
    assert sample.signature_verified


# One table across formats: each bad body gets its status and a message naming the problem.
BAD_UPLOADS = [
    ("empty", b"", "a.json", None, {}, 400, "empty"),
    ("malformed json", b'{"protected": {"ver": "v1"', "a.json", None, {}, 400, "not valid JSON"),
    ("malformed cbor", b"\xa3\x69protec", "a.cbor", None, {}, 400, "CBOR"),
    (
        "wrong signature",
        sign_acquisition(accel_payload(rows=3), hmac_key=OTHER_KEY),
        "a.json",
        None,
        {},
        401,
        "signature",
    ),
    (
        "missing signature when required",
        sign_acquisition(accel_payload(rows=3), hmac_key=None),
        "a.json",
        None,
        {"require_signature": True},
        401,
        "requires signed",
    ),
    (
        "nan value",
        json.dumps(
            {
                "protected": {"ver": "v1", "alg": "none"},
                "payload": {**accel_payload(rows=2), "values": [[1, 2, 3], [4, 5, float("nan")]]},
            }
        ).encode(),
        "a.json",
        None,
        {},
        400,
        "JSON",
    ),
    (
        "ragged rows",
        sign_acquisition({**accel_payload(rows=2), "values": [[1, 2, 3], [4, 5]]}, hmac_key=None),
        "a.json",
        None,
        {},
        400,
        "sensors",
    ),
    (
        "bad wav header",
        b"RIFF\x00\x00\x00\x00WAVEfmt \x02\x00\x00\x00\x01\x00",
        "a.wav",
        None,
        {},
        400,
        "fmt",
    ),
    ("truncated wav", WAV[: len(WAV) // 2], "a.wav", None, {}, 400, "truncated"),
    (
        "non-image png",
        b"<html>not an image</html>",
        "a.png",
        None,
        {},
        400,
        "not a valid JPEG or PNG",
    ),
    ("csv without interval", b"a,b\n1,2\n3,4\n", "a.csv", None, {}, 400, "interval_ms"),
    ("video", b"\x00\x00\x00\x18ftypmp42", "clip.mp4", None, {}, 415, ".mp4"),
    ("labels file", b'{"version":1}', "info.labels", None, {}, 415, ".labels"),
    (
        "unknown binary",
        b"\x00\x01\x02\x03",
        "blob.bin",
        "application/octet-stream",
        {},
        415,
        "file type",
    ),
    ("too large", SIGNED_JSON, "a.json", None, {"max_bytes": 100}, 413, "limit"),
]


@pytest.mark.parametrize(
    "case, data, filename, content_type, kwargs, status, needle",
    BAD_UPLOADS,
    ids=[c[0] for c in BAD_UPLOADS],
)
def test_bad_uploads(case, data, filename, content_type, kwargs, status, needle):
    with pytest.raises(IngestionError) as info:
        decode_upload(
            data, filename=filename, content_type=content_type, hmac_keys=[HMAC_KEY], **kwargs
        )
    assert info.value.status == status, info.value.message
    assert needle.lower() in info.value.message.lower(), info.value.message


def test_stdlib_json_fallback_gives_the_same_results(monkeypatch):
    """Without orjson the decoder must behave the same (it is an accelerator, not a requirement)."""
    fast = decode_upload(SIGNED_JSON, filename="a.json", content_type=None, hmac_keys=[HMAC_KEY])
    monkeypatch.setattr(acquisition_module, "_orjson", None)
    slow = decode_upload(SIGNED_JSON, filename="a.json", content_type=None, hmac_keys=[HMAC_KEY])
    assert slow.content_hash == fast.content_hash and slow.signature_verified
    for body in (
        b'{"protected": {"ver": "v1", "alg": "none"}, "payload": {"values": [[NaN]]}}',
        b'{"a": 1} junk',
    ):
        with pytest.raises(IngestionError) as info:
            decode_upload(body, filename="a.json", content_type=None, hmac_keys=[])
        assert info.value.status == 400


def test_data_must_be_bytes():
    with pytest.raises(TypeError):
        decode_upload("text", filename="a.json", content_type=None, hmac_keys=[])  # type: ignore[arg-type]
