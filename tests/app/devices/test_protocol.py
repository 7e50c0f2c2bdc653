"""The remote management messages, parsed and checked without a server."""

from __future__ import annotations

import base64
import json

import pytest

from app.devices.protocol import (
    ProtocolError,
    check_sample_request,
    decode_json,
    parse_device_message,
    parse_hello,
)

DAEMON_HELLO = {
    "hello": {
        "apiKey": "ei_tf_key_abc",
        "deviceId": "02:42:ac:11:00:02",
        "deviceType": "EDGE_IMPULSE_LINUX",
        "connection": "ip",
        "sensors": [{"name": "Camera (640x480)", "frequencies": [], "maxSampleLengthS": 60000}],
        "supportsSnapshotStreaming": True,
        "version": 4,
        "mode": "ingestion",
    }
}
FIRMWARE_HELLO = {
    "hello": {
        "version": 3,
        "apiKey": "k",
        "deviceId": "01:23:45:67:89:AA",
        "deviceType": "DISCO-L475VG-IOT01A",
        "connection": "ip",
        "sensors": [
            {"name": "Accelerometer", "maxSampleLengthS": 60000, "frequencies": [62.5, 100]},
            {"name": "Microphone", "maxSampleLengthS": 4, "frequencies": [16000]},
        ],
    }
}


def test_hellos_of_the_daemon_and_of_firmware():
    daemon = parse_hello(DAEMON_HELLO)
    assert (
        daemon.device_id == "02:42:ac:11:00:02" and daemon.supports_snapshot and daemon.version == 4
    )
    assert daemon.sensors[0].frequencies == ()
    fw = parse_hello(FIRMWARE_HELLO)
    assert not fw.supports_snapshot and fw.sensor("Microphone").frequencies == (16000.0,)
    assert fw.sensor("Gyro") is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"apiKey": None}, "hello.apiKey is missing"),
        ({"deviceId": ""}, "hello.deviceId must be a non-empty string"),
        ({"deviceId": "a\nb"}, "printable"),
        ({"deviceId": "x" * 256}, "at most 255"),
        ({"sensors": {"name": "x"}}, "hello.sensors must be a list"),
        ({"sensors": [{"name": "a"}, {"name": "a"}]}, "same name"),
        ({"sensors": [{"name": "a", "frequencies": [0]}]}, "must be > 0 Hz"),
        (
            {"sensors": [{"name": "a", "frequencies": ["fast"]}]},
            "frequencies[0] must be a finite number",
        ),
        (
            {"sensors": [{"name": "a", "maxSampleLengthS": float("inf")}]},
            "maxSampleLengthS must be a finite number",
        ),
    ],
)
def test_bad_hellos_name_the_field(change, expected):
    body = {**FIRMWARE_HELLO["hello"], **change}
    with pytest.raises(ProtocolError, match=None) as err:
        parse_hello({"hello": body})
    assert expected in str(err.value)


def test_messages_after_the_hello():
    jpeg = b"\xff\xd8\xff\xe0" + b"\0" * 100
    assert parse_device_message({"sample": True}, max_snapshot_bytes=10).kind == "sample"
    failed = parse_device_message({"sample": False, "error": "No IMU"}, max_snapshot_bytes=10)
    assert not failed.ok and failed.error == "No IMU"
    reading = parse_device_message(
        {"sampleReading": True, "progressPercentage": 140}, max_snapshot_bytes=10
    )
    assert reading.kind == "reading" and reading.progress == 100
    frame = parse_device_message(
        {"snapshotFrame": base64.b64encode(jpeg).decode(), "fileName": "a.jpg"},
        max_snapshot_bytes=1000,
    )
    assert frame.jpeg == jpeg
    with pytest.raises(ProtocolError, match="limit is 10 bytes"):
        parse_device_message(
            {"snapshotFrame": base64.b64encode(jpeg).decode()}, max_snapshot_bytes=10
        )
    with pytest.raises(ProtocolError, match="already said hello"):
        parse_device_message(FIRMWARE_HELLO, max_snapshot_bytes=10)
    assert parse_device_message({"inferenceSummary": {}}, max_snapshot_bytes=10).kind == "ignored"
    with pytest.raises(ProtocolError, match="refused: the limit is 64 bytes"):
        decode_json(json.dumps({"x": "y" * 100}), max_bytes=64)


def test_sample_requests_are_checked_against_the_hello():
    fw = parse_hello(FIRMWARE_HELLO)
    req = check_sample_request(
        fw,
        label=" wave ",
        length_ms=2000,
        category="training",
        sensor="Accelerometer",
        frequency_hz=100,
    )
    assert req.message("k")["sample"] == {
        "label": "wave",
        "length": 2000,
        "path": "/api/training/data",
        "hmacKey": "k",
        "interval": 10.0,
        "sensor": "Accelerometer",
    }
    assert (
        check_sample_request(
            fw, label="a", length_ms=1000, category="testing", sensor="Accelerometer"
        ).interval_ms
        == 16
    )
    with pytest.raises(ProtocolError, match=r"does not sample at 50 Hz \(it offers 62.5, 100 Hz\)"):
        check_sample_request(
            fw,
            label="a",
            length_ms=1000,
            category="training",
            sensor="Accelerometer",
            frequency_hz=50,
        )
    with pytest.raises(ProtocolError, match="records at most 4 s"):
        check_sample_request(
            fw, label="a", length_ms=5000, category="training", sensor="Microphone"
        )
    with pytest.raises(ProtocolError, match="no sensor 'Camera'"):
        check_sample_request(fw, label="a", length_ms=1000, category="training", sensor="Camera")
    camera = parse_hello(DAEMON_HELLO)
    assert (
        check_sample_request(
            camera, label="a", length_ms=1, category="split", sensor="Camera (640x480)"
        ).interval_ms
        == 0
    )
