"""The remote management WebSocket across real server processes, on both backends.

SQLite + filesystem broker (embedded): commands reach the process holding the device through the
database. PostgreSQL + Redis: through Redis pub/sub. In both, the device's socket is in one
`tinyforge serve` process and the dashboard's request goes to another.
"""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.demo import free_port
from tests.app.devices.servers import ServerProcess, wait_for

pytestmark = [pytest.mark.slow]

ACCEL = {"name": "Accelerometer", "maxSampleLengthS": 60, "frequencies": [62.5, 100]}


def hello(key: str, device_id: str, sensors=(ACCEL,), **extra) -> str:
    return json.dumps(
        {
            "hello": {
                "version": 3,
                "apiKey": key,
                "deviceId": device_id,
                "deviceType": "SIMULATED",
                "connection": "ip",
                "sensors": list(sensors),
                **extra,
            }
        }
    )


def ws_url(server: ServerProcess) -> str:
    return server.url.replace("http://", "ws://") + "/api/remote-management"


@pytest.fixture
def two_servers(settings, tmp_path):
    servers = [
        ServerProcess(
            settings,
            host="127.0.0.1",
            port=free_port(),
            log_path=tmp_path / f"server-{i}.log",
            extra_env={"TINYFORGE_DEVICE_MAX_MESSAGE_BYTES": "4096"},
        )
        for i in range(2)
    ]
    yield servers
    for s in servers:
        s.stop()


def test_sample_request_crosses_processes(two_servers, make_project):
    holder, other = two_servers
    project = make_project("cross")
    pid, key = project.project.id, project.api_key
    api = httpx.Client(base_url=other.url, headers={"x-api-key": key}, timeout=10)
    with connect(ws_url(holder)) as device:
        device.send(hello(key, "board-1"))
        assert json.loads(device.recv(timeout=5)) == {"hello": True}
        listed = api.get(f"/api/{pid}/devices/connected").json()["devices"]
        assert [d["deviceId"] for d in listed] == ["board-1"]
        assert listed[0]["sensors"][0]["frequencies"] == [62.5, 100.0]

        r = api.post(
            f"/api/{pid}/device/board-1/start-sampling",
            json={
                "label": "wave",
                "lengthMs": 2000,
                "sensor": "Accelerometer",
                "frequencyHz": 100,
                "category": "testing",
            },
        )
        assert r.status_code == 200, r.text
        request_id = r.json()["id"]
        sample = json.loads(device.recv(timeout=10))["sample"]
        assert sample["label"] == "wave" and sample["length"] == 2000 and sample["interval"] == 10
        assert sample["sensor"] == "Accelerometer" and sample["path"] == "/api/testing/data"
        assert len(sample["hmacKey"]) == 32

        def status() -> dict:
            return api.get(f"/api/{pid}/device/board-1/sampling/{request_id}").json()["request"]

        for message, expected in (
            ({"sample": True}, "accepted"),
            ({"sampleStarted": True}, "started"),
            ({"sampleReading": True, "progressPercentage": 40}, "reading"),
            ({"sampleUploading": True}, "uploading"),
            ({"sampleFinished": True}, "finished"),
        ):
            device.send(json.dumps(message))
            wait_for(lambda e=expected: status()["status"] == e, timeout=10, what=expected)
        assert status()["progress"] == 100

        # a second request that the device refuses: its error reaches the other process
        r = api.post(
            f"/api/{pid}/device/board-1/start-sampling",
            json={"label": "wave", "lengthMs": 1000, "sensor": "Accelerometer"},
        )
        request_id = r.json()["id"]
        assert (
            json.loads(device.recv(timeout=10))["sample"]["interval"] == 16
        )  # 62.5 Hz, the first offered
        device.send(json.dumps({"sample": False, "error": "Failed to read from IMU"}))
        final = wait_for(lambda: (s := status())["finished"] and s, timeout=10, what="failure")
        assert final["status"] == "failed" and final["error"] == "Failed to read from IMU"

    # the device left: the other process sees it disconnected, a new request is refused
    wait_for(
        lambda: api.get(f"/api/{pid}/devices/connected").json()["devices"] == [],
        timeout=10,
        what="gone",
    )
    r = api.post(
        f"/api/{pid}/device/board-1/start-sampling",
        json={"label": "wave", "lengthMs": 1000, "sensor": "Accelerometer"},
    )
    assert r.status_code == 409 and "is not connected" in r.json()["error"]
    api.close()


def test_bad_input_is_refused_and_harms_no_other_connection(two_servers, make_project):
    holder, other = two_servers
    project = make_project("bad input")
    pid, key = project.project.id, project.api_key
    url = ws_url(holder)

    # without a valid key: answered and closed with the reason
    for first in (
        hello("tf_key_not-a-key", "x"),
        hello("", "x"),
        "not json",
        json.dumps({"sample": True}),
        hello(key, ""),
    ):
        with connect(url) as bad:
            bad.send(first)
            answer = json.loads(bad.recv(timeout=5))
            assert answer["hello"] is False and answer["err"], first
            with pytest.raises(ConnectionClosed) as closed:
                bad.recv(timeout=5)
            assert (
                closed.value.rcvd.code == 1008 and closed.value.rcvd.reason == answer["err"][:120]
            )
    assert "not valid" in json.loads(_first_answer(url, hello("tf_key_nope", "x")))["err"]

    api = httpx.Client(base_url=other.url, headers={"x-api-key": key}, timeout=10)
    with connect(url) as noisy, connect(url) as good:
        noisy.send(hello(key, "noisy"))
        good.send(hello(key, "good"))
        assert (
            json.loads(noisy.recv(timeout=5)) == {"hello": True} == json.loads(good.recv(timeout=5))
        )
        # malformed, unknown and oversized messages: each answered with an error, the connection
        # stays
        for junk, expected in (
            ("{nope", "not valid JSON"),
            ("[1, 2]", "JSON object"),
            (json.dumps({"launchMissiles": True}), "unknown message"),
            (json.dumps({"snapshotFrame": "AAAA"}), "not a JPEG"),
            (json.dumps({"sampleStarted": "x" * 5000}), "refused: the limit is 4096 bytes"),
        ):
            noisy.send(junk)
            assert expected in json.loads(noisy.recv(timeout=5))["error"]
        # the other device is unharmed and still records
        r = api.post(
            f"/api/{pid}/device/good/start-sampling",
            json={"label": "ok", "lengthMs": 500, "sensor": "Accelerometer", "frequencyHz": 100},
        )
        assert r.status_code == 200
        assert json.loads(good.recv(timeout=10))["sample"]["label"] == "ok"
        good.send(json.dumps({"sampleFinished": True}))
        # unknown sensor and frequency: a clear 400 before anything reaches the device
        for body, expected in (
            ({"sensor": "Gyroscope"}, "has no sensor 'Gyroscope' (it offers 'Accelerometer')"),
            ({"sensor": "Accelerometer", "frequencyHz": 50}, "does not sample at 50 Hz"),
            ({"sensor": "Accelerometer", "lengthMs": 120_000}, "at most 60 s"),
        ):
            r = api.post(
                f"/api/{pid}/device/good/start-sampling",
                json={"label": "x", "lengthMs": 1000, **body},
            )
            assert r.status_code in (400, 409) and expected in r.json()["error"], r.text
        # a device that keeps sending garbage is closed after 20 errors in a row (a valid message
        # resets it)
        noisy.send(json.dumps({"sampleFinished": True}))
        for _ in range(19):
            noisy.send("garbage")
            noisy.recv(timeout=5)
        noisy.send("garbage")
        noisy.recv(timeout=5)
        with pytest.raises(ConnectionClosed) as closed:
            noisy.recv(timeout=5)
        assert closed.value.rcvd.code == 1008 and "invalid messages" in closed.value.rcvd.reason
        good.send(json.dumps({"sampleFinished": True}))  # still connected
        wait_for(
            lambda: (
                [d["deviceId"] for d in api.get(f"/api/{pid}/devices/connected").json()["devices"]]
                == ["good"]
            ),
            timeout=10,
            what="only the good device to be listed",
        )
    api.close()


def _first_answer(url: str, message: str) -> str:
    with connect(url) as ws:
        ws.send(message)
        return ws.recv(timeout=5)
