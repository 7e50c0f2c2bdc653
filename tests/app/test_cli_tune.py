"""`tinyforge tune` against a running platform: its errors (the full run is in test_tuner_api)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.ingestion import sign_acquisition
from app.synthetic import motion_dataset
from tests.app.api.helpers import key
from tests.paths import REPO_ROOT

BOARD = "Arduino Nano 33 BLE Sense"


def tune(url: str, api_key: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "tune", "--url", url, "--api-key", api_key, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
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


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tune_cli_shows_progress_and_the_best_trials(client, make_project, live_server, worker):
    p = make_project()
    files = [
        (
            "data",
            (
                f"{lab}.{i}.json",
                sign_acquisition(
                    {
                        "device_name": "d",
                        "device_type": "t",
                        "interval_ms": 16,
                        "sensors": [{"name": a, "units": "g"} for a in ("accX", "accY", "accZ")],
                        "values": v.tolist(),
                    },
                    hmac_key=None,
                ),
                "application/json",
            ),
        )
        for i, (lab, v) in enumerate(motion_dataset(3, seed=1))
    ]
    assert client.post("/api/training/files", files=files, headers=key(p.api_key)).json()["success"]
    space = {
        "window_size_ms": [1000],
        "downsample": [4],
        "dsp": ["flatten", "raw"],
        "network": ["dense"],
        "width": [8],
        "depth": [1],
    }
    proc = tune(
        live_server,
        p.api_key,
        "--board",
        BOARD,
        "--trials",
        "2",
        "--max-epochs",
        "2",
        "--space",
        json.dumps(space),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("tuner job ")  # the progress bar (its label only: not a TTY)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("tuner job ") and "2 trials trained" in lines[0]
    assert lines[1].split()[:4] == ["trial", "epochs", "int8", "float32"]
    assert len(lines) == 4 and all(" ms " in ln for ln in lines[2:])
    assert {ln.split()[9] for ln in lines[2:]} == {"flatten", "raw"}
    for ln in lines[2:]:  # latency = DSP + network (when the DSP could be measured)
        total, parts = float(ln.split()[4]), ln.split()[6]
        if parts != "-":
            dsp, nn = map(float, parts.split("+"))
            assert abs(dsp + nn - total) <= 0.011, ln
