"""`tinyforge tune` against a running platform: its errors (the full run is in test_tuner_api)."""

from __future__ import annotations

import os
import subprocess
import sys

from app.ingestion import sign_acquisition
from app.synthetic import motion_dataset
from tests.app.api.helpers import key
from tests.paths import REPO_ROOT

BOARD = "Arduino Nano 33 BLE Sense"


def tune(url: str, api_key: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "tune", "--url", url, "--api-key", api_key, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )


def test_tune_cli_reports_what_is_wrong(client, make_project, live_server):
    p = make_project()
    proc = tune(live_server, p.api_key, "--board", BOARD)
    assert proc.returncode == 1 and "no enabled training samples" in proc.stderr
    files = [
        (
            "data",
            (
                f"idle.{i}.json",
                sign_acquisition(
                    {
                        "device_name": "d",
                        "device_type": "t",
                        "interval_ms": 16,
                        "sensors": [{"name": "accX", "units": "g"}],
                        "values": v[:, :1].tolist(),
                    },
                    hmac_key=None,
                ),
                "application/json",
            ),
        )
        for i, (lab, v) in enumerate(motion_dataset(1, seed=1))
    ]
    assert client.post("/api/training/files", files=files, headers=key(p.api_key)).json()["success"]
    proc = tune(live_server, p.api_key, "--board", "Arduino Uno")
    assert proc.returncode == 1 and "valid boards" in proc.stderr, proc.stderr
    proc = tune(live_server, p.api_key, "--board", BOARD, "--space", "{nope")
    assert proc.returncode == 2 and "--space" in proc.stderr and "not JSON" in proc.stderr
    proc = tune(live_server, p.api_key, "--board", BOARD)
    assert proc.returncode == 1 and "one class ('idle')" in proc.stderr, proc.stderr
    proc = tune(live_server, "wrong-key", "--board", BOARD)
    assert proc.returncode == 1 and "401" not in proc.stdout
