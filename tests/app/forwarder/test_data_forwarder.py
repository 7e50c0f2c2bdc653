"""`tinyforge data-forwarder` with a simulated device on a pseudo-terminal and a real server.

The device is its own process (`serial_device.py`) holding the master side of a pty pair; the
forwarder is the real CLI in another process, reading the slave side with pyserial.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.app.devices.servers import wait_for
from tests.paths import REPO_ROOT

pytestmark = [pytest.mark.slow]
sqlite_only = pytest.mark.parametrize(
    "backend", ["sqlite"], indirect=True
)  # the serial side does not depend on it


class Device:
    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.app.forwarder.serial_device", *args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        self.path = self.proc.stdout.readline().strip()
        assert self.path.startswith("/dev/"), self.path

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def device():
    made: list[Device] = []

    def start(*args: str) -> Device:
        made.append(Device(*args))
        return made[-1]

    yield start
    for d in made:
        d.stop()


@pytest.fixture
def forwarder_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    return {
        **env,
        "TINYFORGE_FORWARDER_CONFIG": str(tmp_path / "forwarder.json"),
        "PYTHONPATH": str(REPO_ROOT),
    }


def forward(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "data-forwarder", "--detect-seconds", "1", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def samples(url: str, pid: int, key: str) -> list[dict]:
    return httpx.get(
        f"{url}/api/{pid}/raw-data", params={"limit": 1000}, headers={"x-api-key": key}
    ).json()["samples"]


def values(url: str, pid: int, key: str, sample_id: int) -> np.ndarray:
    body = httpx.get(f"{url}/api/{pid}/raw-data/{sample_id}", headers={"x-api-key": key}).json()
    return np.asarray(body["payload"]["values"], dtype=np.float64)


def contiguous(rows: np.ndarray) -> bool:
    return bool(np.all(np.diff(rows[:, 0]) == 1))


@sqlite_only
def test_finds_baud_rate_rate_and_axes_and_records_signed_samples(
    live_server, make_project, device, forwarder_env
):
    project = make_project("forwarder")
    pid, key = project.project.id, project.api_key
    dev = device("--baud", "9600", "--hz", "100", "--axes", "3", "--sep", "\t")
    out = forward(
        forwarder_env,
        "--port",
        dev.path,
        "--api-key",
        key,
        "--host",
        live_server,
        "--axes",
        "k,sin,cos",
        "--device-id",
        "sim-1",
        "--label",
        "wave",
        "--length-ms",
        "1000",
        "--count",
        "2",
        "--category",
        "testing",
    )
    assert out.returncode == 0, out.stderr
    assert "115200 baud: no lines of numbers" in out.stderr  # tried first; the device runs at 9600
    assert "3 axes at 100 Hz, 9600 baud" in out.stderr
    rows = samples(live_server, pid, key)
    assert [(s["label"], s["category"], s["valuesCount"]) for s in rows] == [
        ("wave", "testing", 100)
    ] * 2
    for s in rows:
        v = values(live_server, pid, key, s["id"])
        assert v.shape == (100, 3) and contiguous(v)
        assert np.allclose(v[:, 1], np.sin(2 * np.pi * v[:, 0] / 100), atol=1e-4)
        assert s["sensors"] == [{"name": n, "units": "N/A"} for n in ("k", "sin", "cos")]
        assert s["intervalMs"] == 10
    detail = httpx.get(f"{live_server}/api/{pid}/devices", headers={"x-api-key": key}).json()[
        "devices"
    ]
    assert [(d["name"], d["samples"]) for d in detail] == [("sim-1", 2)]
    assert all(s["signatureValidate"] and s["signatureMethod"] == "HS256" for s in rows)


@sqlite_only
def test_axis_names_are_asked_once_and_remembered(live_server, make_project, device, forwarder_env):
    project = make_project("names")
    key = project.api_key
    dev = device("--baud", "115200", "--hz", "50", "--axes", "2", "--sep", " ")
    common = [
        "--port",
        dev.path,
        "--api-key",
        key,
        "--host",
        live_server,
        "--device-id",
        "board-7",
        "--label",
        "idle",
        "--length-ms",
        "200",
    ]
    wrong = forward(forwarder_env, *common, stdin="x,y,z\n")
    assert (
        wrong.returncode == 1
        and "give 2 axis names (the device sends 2 values per line), got 3" in wrong.stderr
    )
    first = forward(forwarder_env, *common, stdin="accX, accY\n")
    assert first.returncode == 0, first.stderr
    assert "Name the 2 axes" in first.stderr
    saved = json.loads(Path(forwarder_env["TINYFORGE_FORWARDER_CONFIG"]).read_text())
    assert saved["devices"]["board-7"]["axes"] == ["accX", "accY"]
    second = forward(forwarder_env, *common)  # no terminal, no --axes: the remembered names
    assert second.returncode == 0, second.stderr
    assert "remembered for board-7" in second.stderr and "Name the" not in second.stderr
    other = forward(
        forwarder_env,
        *common[:-6],
        "--device-id",
        "board-8",
        "--label",
        "idle",
        "--length-ms",
        "200",
    )
    assert other.returncode == 1 and "pass --axes a,b,c when there is no terminal" in other.stderr


@sqlite_only
def test_a_device_that_prints_garbage_gets_a_clear_message(
    live_server, make_project, device, forwarder_env
):
    project = make_project("garbage")
    dev = device("--baud", "115200")
    dev.signal(signal.SIGUSR1)
    out = forward(
        forwarder_env,
        "--port",
        dev.path,
        "--api-key",
        project.api_key,
        "--host",
        live_server,
        "--baud",
        "115200",
        "--axes",
        "a,b,c",
        "--label",
        "x",
        "--length-ms",
        "100",
    )
    assert out.returncode == 1
    assert (
        "could not read the device: at 115200 baud: the device sent 0 lines of numbers"
        in out.stderr
    )
    assert "ERR sensor timeout" in out.stderr
    assert samples(live_server, project.project.id, project.api_key) == []
    bad = forward(forwarder_env, "--port", "/dev/does-not-exist", "--api-key", "k", "--axes", "a")
    assert bad.returncode == 1 and "cannot open /dev/does-not-exist" in bad.stderr
    bad = forward(forwarder_env, "--port", dev.path, "--api-key", "k", "--baud", "fast")
    assert bad.returncode == 2 and "must be 'auto' or a positive whole number" in bad.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_records_when_the_dashboard_asks_and_fails_cleanly_mid_sample(
    live_server,
    make_project,
    device,
    forwarder_env,
    tmp_path,
):
    project = make_project("remote")
    pid, key = project.project.id, project.api_key
    api = httpx.Client(base_url=live_server, headers={"x-api-key": key}, timeout=10)
    dev = device("--baud", "115200", "--hz", "100", "--axes", "3")
    log = open(tmp_path / "forwarder.log", "w")
    fwd = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "data-forwarder",
            "--detect-seconds",
            "1",
            "--port",
            dev.path,
            "--api-key",
            key,
            "--host",
            live_server,
            "--axes",
            "k,sin,cos",
            "--device-id",
            "sim-remote",
        ],
        env=forwarder_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=REPO_ROOT,
    )
    sensor = "Sensor with 3 axes (k, sin, cos)"

    def request(length_ms: int, **extra) -> int:
        r = api.post(
            f"/api/{pid}/device/sim-remote/start-sampling",
            json={"label": "circle", "lengthMs": length_ms, "sensor": sensor, **extra},
        )
        assert r.status_code == 200, r.text
        return r.json()["id"]

    def status(rid: int) -> dict:
        return api.get(f"/api/{pid}/device/sim-remote/sampling/{rid}").json()["request"]

    try:
        device_row = wait_for(
            lambda: api.get(f"/api/{pid}/devices/connected").json()["devices"],
            timeout=30,
            what="the forwarder to connect",
        )[0]
        assert device_row["sensors"] == [
            {"name": sensor, "maxSampleLengthS": 300.0, "frequencies": [100.0]}
        ]
        r = api.post(
            f"/api/{pid}/device/sim-remote/start-sampling",
            json={"label": "x", "lengthMs": 500, "sensor": sensor, "frequencyHz": 62.5},
        )
        assert (
            r.status_code == 400
            and "does not sample at 62.5 Hz (it offers 100 Hz)" in r.json()["error"]
        )

        rid = request(1500, category="training")
        done = wait_for(lambda: (s := status(rid))["finished"] and s, timeout=30, what="the sample")
        assert done["status"] == "finished", done
        [stored] = samples(live_server, pid, key)
        v = values(live_server, pid, key, stored["id"])
        assert v.shape == (150, 3) and contiguous(v) and stored["label"] == "circle"

        # garbage mid-sample: the request fails with the reason, nothing is stored, the device stays
        # usable
        rid = request(3000)
        wait_for(
            lambda: status(rid)["status"] in ("reading", "started"), timeout=10, what="recording"
        )
        dev.signal(signal.SIGUSR1)
        failed = wait_for(
            lambda: (s := status(rid))["finished"] and s, timeout=15, what="the failure"
        )
        assert failed["status"] == "failed" and "is not a line of numbers" in failed["error"]
        assert "nothing was uploaded" in failed["error"]
        assert len(samples(live_server, pid, key)) == 1
        assert fwd.poll() is None
    finally:
        fwd.terminate()  # SIGTERM: the forwarder leaves cleanly
        assert fwd.wait(timeout=20) == 0
        dev.stop()
    # a device whose axis count changes mid-sample, then one that disconnects mid-sample
    for trigger, expected in (
        (signal.SIGUSR2, "now sends 4 values per line instead of 3"),
        (signal.SIGTERM, "disconnected"),
    ):
        dev = device("--baud", "115200", "--hz", "100", "--axes", "3")
        fwd = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "data-forwarder",
                "--detect-seconds",
                "1",
                "--port",
                dev.path,
                "--api-key",
                key,
                "--host",
                live_server,
                "--axes",
                "k,sin,cos",
                "--device-id",
                "sim-remote",
            ],
            env=forwarder_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
        )
        wait_for(
            lambda: api.get(f"/api/{pid}/devices/connected").json()["devices"],
            timeout=30,
            what="connect",
        )
        rid = request(3000)
        wait_for(
            lambda r=rid: status(r)["status"] in ("reading", "started"),
            timeout=10,
            what="recording",
        )
        dev.signal(trigger)
        failed = wait_for(
            lambda r=rid: (s := status(r))["finished"] and s, timeout=15, what="the failure"
        )
        assert failed["status"] == "failed" and expected in failed["error"], failed
        assert fwd.wait(timeout=20) == 1  # the forwarder cannot go on: it says why and exits
        assert expected in (tmp_path / "forwarder.log").read_text()
        assert len(samples(live_server, pid, key)) == 1  # nothing half-written
        dev.stop()
    log.close()
    api.close()
