"""Data acquisition format (JSON/CBOR): parsing, signatures, Ref-BINARY blocks, canonical hashes."""

from __future__ import annotations

import hashlib
import hmac
import json

import cbor2
import numpy as np
import pytest

from app.ingestion import (
    EMPTY_SIGNATURE,
    IngestionError,
    decode_upload,
    read_values,
    ref_binary_message,
    sign_acquisition,
)
from app.ingestion.acquisition import parse_message, parse_protected, signature_verdict
from tests.app.ingestion.factories import ACC_SENSORS, HMAC_KEY, OTHER_KEY, accel_payload


def decode(
    body: bytes, *, keys=(HMAC_KEY,), filename="sample.json", content_type="application/json", **kw
):
    return decode_upload(
        body, filename=filename, content_type=content_type, hmac_keys=list(keys), **kw
    )


def reject(
    body: bytes, status: int, *, keys=(HMAC_KEY,), filename="sample.json", content_type=None, **kw
) -> str:
    with pytest.raises(IngestionError) as info:
        decode_upload(
            body, filename=filename, content_type=content_type, hmac_keys=list(keys), **kw
        )
    assert info.value.status == status, info.value.message
    assert info.value.message and info.value.message.endswith(".")
    return info.value.message


# --- Edge Impulse's published examples (docs.edgeimpulse.com data acquisition format page) -------

# The CBOR example from the spec page, byte for byte (HS256 signed with a key we do not have).
EI_DOC_CBOR = bytes.fromhex(
    "a36970726f746563746564a36376657262763163616c67654853323536636961741a5d3add3d697369676e6174757265"
    "784062306565303537326131393834623933623662633536653635373665326362626436626363643635643063333536"
    "653236623331626263396134383231306336677061796c6f6164a56b6465766963655f6e616d657161633a38373a6133"
    "3a30613a32643a31626b6465766963655f7479706573444953434f2d4c34373556472d494f543031416b696e74657276"
    "616c5f6d730a6773656e736f727383a2646e616d65646163635865756e697473646d2f7332a2646e616d656461636359"
    "65756e697473646d2f7332a2646e616d65646163635a65756e697473646d2f73326676616c7565739f83fac11cf5c3fa"
    "3cf5c28ffa3f9ae14883fac11d47aefa3d23d70afa3fa3d70a83fac111eb85fa3cf5c28ffa3f9d70a483fac1123d71fa"
    "3c23d70af93d00ff"
)

# The Ref-BINARY audio example from the same page (a 16 kHz int16 recording, header ends at 0xff).
EI_DOC_REF_BINARY = bytes.fromhex(
    "a36970726f746563746564a26376657262763163616c67654853323536697369676e6174757265784038346432"
    "316234343665323831383561356336303761396437656134636336333735356137363261666164643036343334"
    "613136353766623433386237656630677061796c6f6164a56b6465766963655f6e616d657143343a37463a3531"
    "3a38443a31383a34416b6465766963655f7479706573444953434f5f4c34373556475f494f543031416b696e74"
    "657276616c5f6d73f92c006773656e736f727381a2646e616d6565617564696f65756e69747363776176667661"
    "6c7565739f6e5265662d42494e4152592d693136fff918fa18e718de18e218dd18e118e218f218f018f918f418"
    "e918ee18f618f918fc180919101915191119fe18f6180b190e190a19021912191419fc18f218f718"
)


def test_edge_impulse_doc_cbor_example_verifies_with_the_doc_hmac_key():
    # The spec's example is signed with the docs' example key: our verification rule (HMAC over the
    # received bytes with the 64 signature characters set to '0') reproduces Edge Impulse's.
    sample = decode(EI_DOC_CBOR, filename="doc.cbor")
    assert sample.format == "cbor" and sample.kind == "timeseries"
    assert sample.signature_alg == "HS256" and sample.signature_verified is True
    assert sample.metadata["iat"] == 1564138813
    assert sample.device_name == "ac:87:a3:0a:2d:1b" and sample.device_type == "DISCO-L475VG-IOT01A"
    assert sample.interval_ms == 10 and sample.frequency_hz == 100 and sample.length_ms == 40
    assert sample.sensors == ACC_SENSORS
    np.testing.assert_allclose(sample.values[0], [-9.81, 0.03, 1.21], rtol=1e-6)
    assert sample.values.shape == (4, 3) and sample.values.dtype == np.float32
    assert "does not match" in reject(EI_DOC_CBOR, 401, keys=(OTHER_KEY,), filename="doc.cbor")
    flipped = EI_DOC_CBOR.replace(b"DISCO", b"DISCA")
    assert "does not match" in reject(flipped, 401, filename="doc.cbor")


def test_edge_impulse_doc_ref_binary_example_decodes_to_int16_audio():
    sample = decode(
        EI_DOC_REF_BINARY, keys=(), filename=None, content_type="application/octet-stream"
    )
    assert sample.metadata["ref_binary"] == "i16"
    assert sample.sensors == [{"name": "audio", "units": "wav"}]
    assert sample.interval_ms == 0.0625 and sample.frequency_hz == 16000 and sample.rows == 32
    header_end = (
        EI_DOC_REF_BINARY.index(b"Ref-BINARY-i16") + len("Ref-BINARY-i16") + 1
    )  # 0xff closes `values`
    expected = np.frombuffer(EI_DOC_REF_BINARY[header_end:], dtype="<i2")
    assert expected[:3].tolist() == [0x18F9, 0x18FA, 0x18E7]
    np.testing.assert_array_equal(sample.values[:, 0], expected.astype(np.float32))
    # its signature was made with a key that is not published: rejected, or kept unverified on
    # request
    reject(EI_DOC_REF_BINARY, 401, filename=None)
    assert (
        decode(EI_DOC_REF_BINARY, filename=None, reject_bad_signature=False).signature_verified
        is False
    )
    # an odd number of bytes cannot be int16 samples
    assert "whole number" in reject(EI_DOC_REF_BINARY[:-1], 400, keys=(), filename=None)


# --- signatures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_signed_message_round_trips_and_is_verified(encoding):
    payload = accel_payload()
    body = sign_acquisition(payload, hmac_key=HMAC_KEY, encoding=encoding, iat=1564128599)
    sample = decode(body, keys=(OTHER_KEY, HMAC_KEY))
    assert sample.format == encoding
    assert sample.signature_alg == "HS256" and sample.signature_verified
    assert sample.metadata["hmac_key_index"] == 1 and sample.metadata["iat"] == 1564128599
    np.testing.assert_array_equal(sample.values, np.asarray(payload["values"], dtype=np.float32))
    assert sample.rows == 250 and sample.length_ms == 2500


@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_signature_is_hmac_over_the_body_with_64_zeros(encoding):
    body = sign_acquisition(accel_payload(rows=3), hmac_key=HMAC_KEY, encoding=encoding)
    message = json.loads(body) if encoding == "json" else cbor2.loads(body)
    signature = message["signature"]
    zeroed = body.replace(signature.encode(), EMPTY_SIGNATURE.encode())
    assert hmac.new(HMAC_KEY.encode(), zeroed, hashlib.sha256).hexdigest() == signature


def test_message_signed_by_hand_like_the_edge_impulse_python_example_verifies():
    # json.dumps with default separators and a float iat, exactly like the docs' Python example.
    data = {
        "protected": {"ver": "v1", "alg": "HS256", "iat": 1564128599.25},
        "signature": EMPTY_SIGNATURE,
        "payload": accel_payload(rows=4),
    }
    encoded = json.dumps(data)
    data["signature"] = hmac.new(
        HMAC_KEY.encode("utf-8"), encoded.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    sample = decode(json.dumps(data).encode("utf-8"))
    assert sample.signature_verified


def test_uppercase_hex_signature_verifies():
    body = sign_acquisition(accel_payload(rows=3), hmac_key=HMAC_KEY)
    signature = json.loads(body)["signature"]
    assert decode(body.replace(signature.encode(), signature.upper().encode())).signature_verified


@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_tampered_value_fails_the_signature(encoding):
    body = sign_acquisition(
        {**accel_payload(rows=3), "values": [[1.5, 2, 3]] * 3}, hmac_key=HMAC_KEY, encoding=encoding
    )
    tampered = body.replace(b"Y", b"Q", 1)  # accY -> accQ: still well-formed, different bytes
    assert tampered != body
    reject(tampered, 401)


@pytest.mark.parametrize(
    "case, mutate, keys, kwargs, status, needle",
    [
        (
            "wrong key",
            lambda p: sign_acquisition(p, hmac_key=OTHER_KEY),
            (HMAC_KEY,),
            {},
            401,
            "does not match",
        ),
        (
            "none but required",
            lambda p: sign_acquisition(p, hmac_key=None),
            (HMAC_KEY,),
            {"require_signature": True},
            401,
            "requires signed",
        ),
        (
            "required, no keys",
            lambda p: sign_acquisition(p, hmac_key=HMAC_KEY),
            (),
            {"require_signature": True},
            401,
            "no HMAC key",
        ),
        (
            "short signature",
            lambda p: json.dumps(
                {"protected": {"ver": "v1", "alg": "HS256"}, "signature": "abc", "payload": p}
            ).encode(),
            (HMAC_KEY,),
            {},
            401,
            "64 hexadecimal",
        ),
        (
            "null signature",
            lambda p: json.dumps(
                {"protected": {"ver": "v1", "alg": "HS256"}, "signature": None, "payload": p}
            ).encode(),
            (HMAC_KEY,),
            {},
            401,
            "64 hexadecimal",
        ),
        (
            "alg RS256",
            lambda p: json.dumps(
                {
                    "protected": {"ver": "v1", "alg": "RS256"},
                    "signature": EMPTY_SIGNATURE,
                    "payload": p,
                }
            ).encode(),
            (HMAC_KEY,),
            {},
            400,
            "alg",
        ),
        (
            "ver v2",
            lambda p: json.dumps(
                {"protected": {"ver": "v2", "alg": "none"}, "signature": None, "payload": p}
            ).encode(),
            (HMAC_KEY,),
            {},
            400,
            "ver",
        ),
        (
            "no protected",
            lambda p: json.dumps({"signature": EMPTY_SIGNATURE, "payload": p}).encode(),
            (HMAC_KEY,),
            {},
            400,
            "protected",
        ),
        (
            "iat string",
            lambda p: json.dumps(
                {"protected": {"ver": "v1", "alg": "none", "iat": "yesterday"}, "payload": p}
            ).encode(),
            (HMAC_KEY,),
            {},
            400,
            "iat",
        ),
    ],
)
def test_signature_and_header_problems(case, mutate, keys, kwargs, status, needle):
    message = reject(mutate(accel_payload(rows=5)), status, keys=keys, **kwargs)
    assert needle in message, (case, message)


def test_wrong_signature_can_be_accepted_as_unverified_like_edge_impulse():
    body = sign_acquisition(accel_payload(rows=5), hmac_key=OTHER_KEY)
    sample = decode(body, reject_bad_signature=False)
    assert (
        sample.signature_verified is False
        and sample.metadata["signature_error"] == "signature mismatch"
    )
    with pytest.raises(IngestionError) as info:
        decode(body, reject_bad_signature=False, require_signature=True)
    assert info.value.status == 401


def test_unsigned_and_unverifiable_messages_are_accepted_but_not_verified():
    sample = decode(sign_acquisition(accel_payload(rows=5), hmac_key=None))
    assert sample.signature_alg == "none" and not sample.signature_verified
    sample = decode(sign_acquisition(accel_payload(rows=5), hmac_key=HMAC_KEY), keys=())
    assert sample.signature_alg == "HS256" and not sample.signature_verified
    assert sample.metadata["signature_error"] == "no HMAC key configured"


@pytest.mark.parametrize(
    "signed_with, keys, require, reject_bad, expected",
    [
        (None, [HMAC_KEY], False, True, (False, {})),
        (None, [HMAC_KEY], True, True, "requires signed data, but the message has alg"),
        (HMAC_KEY, [OTHER_KEY, HMAC_KEY], True, True, (True, {"hmac_key_index": 1})),
        (HMAC_KEY, [], False, True, (False, {"signature_error": "no HMAC key configured"})),
        (HMAC_KEY, [], True, True, "has no HMAC key to verify it with"),
        (OTHER_KEY, [HMAC_KEY], False, True, "does not match the message"),
        (OTHER_KEY, [HMAC_KEY], False, False, (False, {"signature_error": "signature mismatch"})),
        (OTHER_KEY, [HMAC_KEY], True, False, "does not match the message"),
        ("not hex", [HMAC_KEY], False, False, "is not 64 hexadecimal characters"),
    ],
)
def test_signature_verdict_policy(signed_with, keys, require, reject_bad, expected):
    if signed_with == "not hex":
        body = json.dumps(
            {"protected": {"ver": "v1", "alg": "HS256"}, "signature": "z" * 64, "payload": {}}
        ).encode()
    else:
        body = sign_acquisition(accel_payload(rows=3), hmac_key=signed_with)
    parsed = parse_message(body)
    alg, _ = parse_protected(parsed.message)
    kwargs = dict(
        alg=alg, hmac_keys=keys, require_signature=require, reject_bad_signature=reject_bad
    )
    if isinstance(expected, str):
        with pytest.raises(IngestionError, match=expected) as info:
            signature_verdict(parsed, body, **kwargs)
        assert info.value.status == 401
    else:
        assert signature_verdict(parsed, body, **kwargs) == expected


def test_parse_protected_normalises_alg_and_keeps_iat():
    assert parse_protected({"protected": {"ver": "v1", "alg": "hs256", "iat": 5}}) == ("HS256", 5)
    assert parse_protected({"protected": {"ver": "v1", "alg": "NONE"}}) == ("none", None)
    with pytest.raises(IngestionError, match="protected.iat must be a number"):
        parse_protected({"protected": {"ver": "v1", "alg": "none", "iat": float("inf")}})


# --- encodings, sniffing, values layouts ----------------------------------------------------------


def test_json_sent_as_cbor_and_cbor_sent_as_json_are_sniffed():
    payload = accel_payload(rows=10)
    as_json = sign_acquisition(payload, hmac_key=HMAC_KEY, encoding="json")
    as_cbor = sign_acquisition(payload, hmac_key=HMAC_KEY, encoding="cbor")
    a = decode(as_json, filename="x.cbor", content_type="application/cbor")
    b = decode(as_cbor, filename="x.json", content_type="application/json")
    assert (a.format, b.format) == ("json", "cbor")
    assert a.signature_verified and b.signature_verified
    assert (
        decode(b"  \r\n" + sign_acquisition(payload, hmac_key=None), filename=None).format == "json"
    )


def test_content_hash_is_the_same_across_encodings_signatures_and_iat():
    payload = accel_payload(rows=50)
    hashes = {
        decode(sign_acquisition(payload, hmac_key=HMAC_KEY, encoding="json", iat=1)).content_hash,
        decode(sign_acquisition(payload, hmac_key=HMAC_KEY, encoding="cbor", iat=2)).content_hash,
        decode(sign_acquisition(payload, hmac_key=None, encoding="cbor")).content_hash,
        decode(sign_acquisition({**payload, "device_name": "other"}, hmac_key=None)).content_hash,
        decode(
            json.dumps(
                {"protected": {"ver": "v1", "alg": "none"}, "signature": None, "payload": payload},
                indent=2,
            ).encode()
        ).content_hash,
        decode(
            ref_binary_message(
                np.asarray(payload["values"], dtype=np.float32),
                ref_type="f32",
                sensors=payload["sensors"],
                interval_ms=10,
                hmac_key=HMAC_KEY,
            )
        ).content_hash,
    }
    assert len(hashes) == 1
    other_values = decode(
        sign_acquisition(
            {**payload, "values": accel_payload(rows=50, seed=1)["values"]}, hmac_key=None
        )
    )
    other_interval = decode(sign_acquisition({**payload, "interval_ms": 20}, hmac_key=None))
    other_units = decode(
        sign_acquisition(
            {**payload, "sensors": [{**s, "units": "g"} for s in ACC_SENSORS]}, hmac_key=None
        )
    )
    assert (
        len(
            {
                next(iter(hashes)),
                other_values.content_hash,
                other_interval.content_hash,
                other_units.content_hash,
            }
        )
        == 4
    )


def test_flattened_values_for_one_sensor_equal_rows_of_one():
    base = {"device_type": "T", "interval_ms": 1, "sensors": [{"name": "temp", "units": "Cel"}]}
    flat = decode(sign_acquisition({**base, "values": [20.5, 21, 22.25]}, hmac_key=HMAC_KEY))
    rows = decode(
        sign_acquisition(
            {**base, "values": [[20.5], [21], [22.25]]}, hmac_key=HMAC_KEY, encoding="cbor"
        )
    )
    assert flat.values.shape == (3, 1)
    np.testing.assert_array_equal(flat.values, rows.values)
    assert flat.content_hash == rows.content_hash


def test_single_reading_may_have_zero_interval_but_a_series_may_not():
    base = {"device_type": "T", "sensors": ACC_SENSORS}
    single = decode(
        sign_acquisition({**base, "interval_ms": 0, "values": [[1, 2, 3]]}, hmac_key=None)
    )
    assert single.interval_ms == 0 and single.frequency_hz == 0 and single.rows == 1
    reject(
        sign_acquisition(
            {**base, "interval_ms": 0, "values": [[1, 2, 3], [4, 5, 6]]}, hmac_key=None
        ),
        400,
    )


def _msg(payload: dict) -> bytes:
    return json.dumps(
        {"protected": {"ver": "v1", "alg": "none"}, "signature": None, "payload": payload}
    ).encode()


GOOD = {
    "device_type": "T",
    "interval_ms": 10,
    "sensors": ACC_SENSORS,
    "values": [[1, 2, 3], [4, 5, 6]],
}

INVALID_BODIES = [
    ("empty body", b"", 400, "empty"),
    ("not json or cbor", b"hello world", 400, "neither a JSON object nor a CBOR map"),
    ("truncated json", _msg(GOOD)[:-7], 400, "not valid JSON"),
    ("json array", b"[1, 2, 3]", 400, "neither a JSON object nor a CBOR map"),
    ("json NaN", _msg(GOOD).replace(b"[1, 2, 3]", b"[NaN, 2, 3]"), 400, "JSON"),
    ("json Infinity", _msg(GOOD).replace(b"[1, 2, 3]", b"[Infinity, 2, 3]"), 400, "JSON"),
    ("json 1e400", _msg(GOOD).replace(b"[1, 2, 3]", b"[1e400, 2, 3]"), 400, "finite"),
    ("beyond float32", _msg({**GOOD, "values": [[1e39, 2, 3]]}), 400, "finite float32"),
    ("garbage after json", _msg(GOOD) + b"trailing", 400, "JSON"),
    ("deep nesting", b'{"a":' * 100000 + b"1" + b"}" * 100000, 400, "JSON"),
    (
        "truncated cbor",
        cbor2.dumps({"protected": {"ver": "v1", "alg": "none"}, "payload": GOOD})[:-5],
        400,
        "CBOR",
    ),
    (
        "cbor garbage after",
        cbor2.dumps({"protected": {"ver": "v1", "alg": "none"}, "payload": GOOD}) + b"\x01\x02",
        400,
        "unexpected bytes",
    ),
    (
        "no payload",
        json.dumps({"protected": {"ver": "v1", "alg": "none"}}).encode(),
        400,
        "payload",
    ),
    (
        "payload not object",
        json.dumps({"protected": {"ver": "v1", "alg": "none"}, "payload": [1]}).encode(),
        400,
        "payload",
    ),
    ("no sensors", _msg({**GOOD, "sensors": []}), 400, "sensors"),
    ("sensor without name", _msg({**GOOD, "sensors": [{"units": "m"}] * 3}), 400, "name"),
    (
        "sensor name not string",
        _msg({**GOOD, "sensors": [{"name": 5, "units": "m"}] * 3}),
        400,
        "name",
    ),
    (
        "sensor name control char",
        _msg({**GOOD, "sensors": [{"name": "a\nb", "units": "m"}] * 3}),
        400,
        "control",
    ),
    ("no values", _msg({k: v for k, v in GOOD.items() if k != "values"}), 400, "values"),
    ("empty values", _msg({**GOOD, "values": []}), 400, "empty"),
    ("values string", _msg({**GOOD, "values": "1,2,3"}), 400, "values"),
    (
        "ragged rows",
        _msg({**GOOD, "values": [[1, 2, 3], [4, 5]]}),
        400,
        "has 2 values but there are 3 sensors",
    ),
    (
        "row too long",
        _msg({**GOOD, "values": [[1, 2, 3, 4]]}),
        400,
        "4 values but there are 3 sensors",
    ),
    ("string in row", _msg({**GOOD, "values": [[1, "2", 3]]}), 400, "string"),
    ("null in row", _msg({**GOOD, "values": [[1, None, 3]]}), 400, "null"),
    ("bool in row", _msg({**GOOD, "values": [[1, True, 3]]}), 400, "boolean"),
    ("nested too deep", _msg({**GOOD, "values": [[[1], [2], [3]]]}), 400, "values"),
    ("flat list for 3 sensors", _msg({**GOOD, "values": [1, 2, 3]}), 400, "flat list"),
    ("mixed rows and numbers", _msg({**GOOD, "values": [[1, 2, 3], 4]}), 400, "values"),
    ("negative interval", _msg({**GOOD, "interval_ms": -1}), 400, "interval_ms"),
    ("string interval", _msg({**GOOD, "interval_ms": "10"}), 400, "interval_ms"),
    (
        "missing interval",
        _msg({k: v for k, v in GOOD.items() if k != "interval_ms"}),
        400,
        "interval_ms",
    ),
    ("device_type not string", _msg({**GOOD, "device_type": 7}), 400, "device_type"),
    ("unknown ref marker", _msg({**GOOD, "values": ["Ref-BINARY-i64"]}), 400, "Ref-BINARY"),
    (
        "ref marker without block",
        _msg({**GOOD, "sensors": ACC_SENSORS[:1], "values": ["Ref-BINARY-i16"]}),
        400,
        "no samples",
    ),
    # bytes that are not UTF-8 inside a JSON string: once a 500 (the surrogate-escaped name
    # reached the content hash), now refused like any other body that is not UTF-8 text
    (
        "sensor name not UTF-8",
        _msg({**GOOD, "sensors": ACC_SENSORS}).replace(b"accX", b"acc\xff"),
        400,
        "Body is not valid JSON: it is not UTF-8 text.",
    ),
    (
        "device name not UTF-8, Ref-BINARY block after it",
        _msg(
            {**GOOD, "device_name": "dev", "sensors": ACC_SENSORS[:1], "values": ["Ref-BINARY-i16"]}
        ).replace(b'"dev"', b'"d\xe9v"')
        + b"\x01\x00\x02\x00",
        400,
        "it is not UTF-8 text",
    ),
]


@pytest.mark.parametrize(
    "case, body, status, needle", INVALID_BODIES, ids=[c[0] for c in INVALID_BODIES]
)
def test_invalid_acquisition_bodies(case, body, status, needle):
    message = reject(body, status, keys=(), filename=None, content_type="application/json")
    assert needle.lower() in message.lower(), message


@pytest.mark.parametrize(
    "body",
    [
        b"\xa1\x61a" + b"\x81" * 100_000 + b"\x00",  # nesting bomb
        b"\xa1\x61a\x5b" + (1 << 62).to_bytes(8, "big") + b"abc",  # 4 EiB byte string
        b"\xa1\x61a\x9b" + (1 << 62).to_bytes(8, "big") + b"\x00",  # 2**62-item array
        b"\xbb" + (1 << 62).to_bytes(8, "big"),  # 2**62-pair map
    ],
    ids=["deep", "huge bytes", "huge array", "huge map"],
)
def test_cbor_length_and_nesting_bombs_fail_fast_without_allocating(body):
    assert "CBOR" in reject(body, 400, keys=(), filename=None)


def test_integers_beyond_int64_are_kept_when_float32_can_hold_them():
    def body(values):
        return cbor2.dumps(
            {"protected": {"ver": "v1", "alg": "none"}, "payload": {**GOOD, "values": values}}
        )

    assert "float32" in reject(body([[10**40, 2, 3]]), 400, keys=())
    assert decode(body([[2**70, 2, 3]]), keys=()).values[0, 0] == np.float32(2.0**70)


def test_cbor_nan_and_inf_are_rejected():
    for bad in (float("nan"), float("inf"), -float("inf")):
        body = cbor2.dumps(
            {
                "protected": {"ver": "v1", "alg": "none"},
                "payload": {**GOOD, "values": [[1, bad, 3]]},
            }
        )
        assert "finite" in reject(body, 400, keys=())


def test_trailing_flash_padding_after_a_complete_cbor_message_is_tolerated():
    body = cbor2.dumps(
        {"protected": {"ver": "v1", "alg": "none"}, "signature": EMPTY_SIGNATURE, "payload": GOOD}
    )
    assert decode(body + b"\xff\xff\xff", keys=()).rows == 2


def test_streamed_cbor_with_indefinite_values_array_like_the_c_sdk():
    # ingestion-sdk-c writes the header with an open indefinite-length `values` array (0x9F),
    # appends one CBOR array per reading and closes it with 0xFF, signing the bytes it wrote.
    header = {
        "protected": {"ver": "v1", "alg": "HS256"},
        "signature": EMPTY_SIGNATURE,
        "payload": {
            "device_name": "dev",
            "device_type": "C_SDK",
            "interval_ms": 10.0,
            "sensors": ACC_SENSORS,
            "values": [],
        },
    }
    encoded = cbor2.dumps(header)
    assert encoded.endswith(b"fvalues\x80")
    rows = [[-9.81, 0.03, 1.21], [-9.83, 0.04, 1.28]]
    zeroed = encoded[:-1] + b"\x9f" + b"".join(cbor2.dumps(r) for r in rows) + b"\xff"
    signature = hmac.new(HMAC_KEY.encode(), zeroed, hashlib.sha256).hexdigest()
    body = zeroed.replace(EMPTY_SIGNATURE.encode(), signature.encode())
    sample = decode(body, filename="c.cbor")
    assert sample.signature_verified
    np.testing.assert_allclose(sample.values, rows, rtol=1e-6)


# --- Ref-BINARY -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref_type, dtype",
    [
        ("i8", "<i1"),
        ("u8", "<u1"),
        ("i16", "<i2"),
        ("u16", "<u2"),
        ("i32", "<i4"),
        ("u32", "<u4"),
        ("f32", "<f4"),
    ],
)
@pytest.mark.parametrize("encoding", ["cbor", "json"])
def test_ref_binary_types_round_trip_and_are_signed_over_the_whole_body(ref_type, dtype, encoding):
    info = np.iinfo(dtype) if dtype[1] in "iu" else None
    rng = np.random.default_rng(3)
    raw = (
        rng.integers(info.min, info.max, size=(64, 2), endpoint=True).astype(dtype)
        if info
        else rng.normal(size=(64, 2)).astype(dtype)
    )
    sensors = [{"name": "a", "units": "V"}, {"name": "b", "units": "V"}]
    body = ref_binary_message(
        raw,
        ref_type=ref_type,
        sensors=sensors,
        interval_ms=0.5,
        hmac_key=HMAC_KEY,
        encoding=encoding,
    )
    header_length = len(body) - raw.nbytes
    assert header_length % 4 == 0, (
        "marker padding aligns the binary block like Edge Impulse firmware"
    )
    sample = decode(body, filename=None, content_type="application/octet-stream")
    assert (
        sample.signature_verified
        and sample.metadata["ref_binary"] == ref_type
        and sample.format == encoding
    )
    np.testing.assert_array_equal(sample.values, raw.astype(np.float32))
    flipped = bytearray(body)
    flipped[-1] ^= 0x01  # one bit of the binary block
    reject(bytes(flipped), 401, filename=None)
    values, interval_ms, read_sensors = read_values(body, format=encoding)
    np.testing.assert_array_equal(values, sample.values)
    assert interval_ms == 0.5 and read_sensors == sensors


def test_ref_binary_marker_spelling_from_the_docs_and_firmware():
    for marker in ("Ref-Binary-i16", "Ref-BINARY-i16", "Ref-BINARY-i16   ", "ref-binary-I16"):
        header = cbor2.dumps(
            {
                "protected": {"ver": "v1", "alg": "none"},
                "signature": EMPTY_SIGNATURE,
                "payload": {
                    "device_type": "T",
                    "interval_ms": 1,
                    "sensors": [{"name": "audio", "units": "wav"}],
                    "values": [marker],
                },
            }
        )
        sample = decode(header + np.arange(6, dtype="<i2").tobytes(), keys=(), filename=None)
        assert sample.values[:, 0].tolist() == [0, 1, 2, 3, 4, 5]


def test_ref_binary_block_of_wrong_length_and_nan_f32():
    sensors = [{"name": "a", "units": "V"}]
    body = ref_binary_message(
        np.arange(8, dtype="<i2"), ref_type="i16", sensors=sensors, interval_ms=1, hmac_key=None
    )
    assert "whole number" in reject(body[:-1], 400, keys=(), filename=None)
    body = ref_binary_message(
        np.array([1.0, np.nan], dtype="<f4"),
        ref_type="f32",
        sensors=sensors,
        interval_ms=1,
        hmac_key=None,
    )
    assert "finite" in reject(body, 400, keys=(), filename=None)


def test_firmware_style_ref_binary_with_indefinite_array_and_alignment_padding():
    # firmware: header up to 0x9F, then text(14 + pad) "Ref-BINARY-i16" + spaces, 0xFF, then
    # samples.
    header = (
        cbor2.dumps(
            {
                "protected": {"ver": "v1", "alg": "HS256"},
                "signature": EMPTY_SIGNATURE,
                "payload": {
                    "device_name": "C4:7F",
                    "device_type": "NANO33BLE",
                    "interval_ms": 0.0625,
                    "sensors": [{"name": "audio", "units": "wav"}],
                    "values": [],
                },
            }
        )[:-1]
        + b"\x9f"
    )
    pad = (4 - (len(header) & 3)) & 3
    head = header + bytes([0x60 + 14 + pad]) + b"Ref-BINARY-i16" + b" " * pad + b"\xff"
    assert len(head) % 4 == 0
    samples = np.array([100, -100, 32767, -32768], dtype="<i2").tobytes()
    signature = hmac.new(HMAC_KEY.encode(), head + samples, hashlib.sha256).hexdigest()
    body = head.replace(EMPTY_SIGNATURE.encode(), signature.encode()) + samples
    sample = decode(body, filename=None, content_type="application/octet-stream")
    assert sample.signature_verified and sample.values[:, 0].tolist() == [100, -100, 32767, -32768]


def test_read_values_round_trips_json_and_cbor():
    payload = accel_payload(rows=20)
    for encoding in ("json", "cbor"):
        body = sign_acquisition(payload, hmac_key=HMAC_KEY, encoding=encoding)
        values, interval_ms, sensors = read_values(body, format=encoding)
        np.testing.assert_array_equal(values, np.asarray(payload["values"], dtype=np.float32))
        assert interval_ms == 10 and sensors == ACC_SENSORS


def test_sign_acquisition_accepts_numpy_values_and_unsigned_messages():
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    body = sign_acquisition(
        {"device_type": "T", "interval_ms": 5, "sensors": ACC_SENSORS, "values": values},
        hmac_key=None,
    )
    message = json.loads(body)
    assert message["protected"] == {"ver": "v1", "alg": "none"}
    assert decode(body).values.tolist() == values.tolist()
    with pytest.raises(ValueError):
        sign_acquisition(GOOD, hmac_key=None, encoding="xml")
