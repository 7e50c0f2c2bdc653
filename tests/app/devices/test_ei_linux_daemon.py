"""Edge Impulse's own Linux daemon (`edge-impulse-linux`, npm) against a real `tinyforge serve
--ei-ports`.

With `EI_HOST=<ip>` the daemon talks to the Studio API on port 4800, remote management on 4802 and
ingestion on 4810 of that address. Those ports are fixed, so every run picks its own random
127.x.y.z address: two runs (or other servers) never collide. The daemon runs with its fake camera
(a JPEG file), and the microphone off (no sound card here).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.app.devices.servers import ServerProcess, loopback_address, wait_for

pytestmark = [pytest.mark.slow]

EI_LINUX_DIR = Path(
    os.environ.get("TINYFORGE_EI_LINUX_DIR", Path.home() / ".cache" / "tinyforge" / "ei-linux")
)
DAEMON = (
    EI_LINUX_DIR / "node_modules" / "edge-impulse-linux" / "build" / "cli" / "linux" / "linux.js"
)


@pytest.fixture
def daemon_js() -> Path:
    if not DAEMON.exists() or shutil.which("node") is None:
        pytest.skip(
            f"edge-impulse-linux is not installed in {EI_LINUX_DIR}: run "
            "scripts/install-ei-linux.sh"
        )
    return DAEMON


def _jpeg(path: Path) -> Path:
    from PIL import Image

    img = Image.new("RGB", (320, 240), (30, 120, 200))
    for x in range(0, 320, 20):
        for y in range(240):
            img.putpixel((x, y), (250, 250, 250))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def test_edge_impulse_linux_daemon_records_and_streams(settings, make_project, tmp_path, daemon_js):
    project = make_project("daemon")
    pid, key = project.project.id, project.api_key
    host = loopback_address()
    server = ServerProcess(
        settings, host=host, port=4800, log_path=tmp_path / "server.log", ei_ports=True
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "EI_HOST": host, "HOME": str(home)}
    # Edge Impulse's tools accept only keys starting with "ei_": "ei_" + a Tinyforge key names that
    # key
    argv = [
        "node",
        str(daemon_js),
        "--api-key",
        "ei_" + key,
        "--disable-microphone",
        "--fake-camera",
        str(_jpeg(tmp_path / "camera.jpg")),
        "--dont-prompt-for-device-name",
        "--silent",
    ]
    log_path = tmp_path / "daemon.log"
    with open(log_path, "wb") as log:
        daemon = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    api = httpx.Client(base_url=server.url, headers={"x-api-key": key}, timeout=10)
    try:

        def connected() -> dict | None:
            assert daemon.poll() is None, log_path.read_text()
            devices = api.get(f"/api/{pid}/devices/connected").json()["devices"]
            return devices[0] if devices else None

        device = wait_for(connected, timeout=60, what="the daemon to say hello")
        wait_for(
            lambda: "is now connected to project" in log_path.read_text(),
            what="the daemon's greeting",
        )
        assert device["deviceType"] and device["supportsSnapshotStreaming"] is True
        camera = next(s["name"] for s in device["sensors"] if s["name"].startswith("Camera"))
        device_id = device["deviceId"]

        # a sensor the daemon does not offer: refused before anything reaches the device
        r = api.post(
            f"/api/{pid}/device/{device_id}/start-sampling",
            json={"label": "x", "lengthMs": 1000, "sensor": "Microphone", "category": "training"},
        )
        assert r.status_code == 400 and "has no sensor 'Microphone'" in r.json()["error"]

        # record a camera sample: the daemon takes a snapshot and uploads it to ingestion on 4810
        r = api.post(
            f"/api/{pid}/device/{device_id}/start-sampling",
            json={"label": "stripes", "lengthMs": 1000, "sensor": camera, "category": "training"},
        )
        assert r.status_code == 200, r.text
        request_id = r.json()["id"]

        def finished() -> dict | None:
            req = api.get(f"/api/{pid}/device/{device_id}/sampling/{request_id}").json()["request"]
            return req if req["finished"] else None

        req = wait_for(finished, timeout=30, what="the sample request to finish")
        assert req["status"] == "finished", (req, log_path.read_text())
        samples = api.get(f"/api/{pid}/raw-data", params={"category": "training"}).json()["samples"]
        assert [s["label"] for s in samples] == ["stripes"]
        image = api.get(f"/api/{pid}/raw-data/{samples[0]['id']}/image")
        assert image.content.startswith(b"\xff\xd8\xff")

        # the snapshot stream: low-resolution frames (the daemon resizes them to 96 px high)
        r = api.post(f"/api/{pid}/device/{device_id}/debug-stream/snapshot/start")
        assert r.status_code == 200, r.text

        def frame() -> bytes | None:
            res = api.get(f"/api/{pid}/device/{device_id}/snapshot")
            return res.content if res.status_code == 200 else None

        jpeg = wait_for(frame, timeout=20, what="a snapshot frame")
        from PIL import Image

        assert Image.open(io.BytesIO(jpeg)).size[1] == 96
        assert (
            api.get(f"/api/{pid}/device/{device_id}").json()["device"]["snapshotStreaming"] is True
        )
        assert api.post(f"/api/{pid}/device/{device_id}/debug-stream/stop").status_code == 200
        wait_for(
            lambda: (
                api.get(f"/api/{pid}/device/{device_id}").json()["device"]["snapshotStreaming"]
                is False
            ),
            timeout=10,
            what="the stream to stop",
        )
    finally:
        api.close()
        if daemon.poll() is None:
            os.killpg(daemon.pid, 15)
            daemon.wait(timeout=10)
        server.stop()
    # the daemon is gone: the device is no longer connected (the server dropped its row)
