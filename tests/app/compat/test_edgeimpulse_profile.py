"""Edge Impulse's Python SDK (`edgeimpulse` on PyPI), unchanged, lists Tinyforge's boards as
profile devices and profiles an uploaded .tflite: its `.summary()` prints Tinyforge's figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.paths import MODELS_DIR, REPO_ROOT, require_shared
from workers.deploy.mcu import toolchain_available
from workers.deploy.profile import board_names

SCRIPT = Path(__file__).with_name("edgeimpulse_profile_session.py")
NANO = "Arduino Nano 33 BLE Sense"


def test_edgeimpulse_sdk_lists_devices_and_profiles(live_server, make_project):
    model = require_shared(MODELS_DIR / "ad01_int8.tflite")
    p = make_project("SDK profile")
    env = {
        **os.environ,
        "EI_API_KEY": p.api_key,
        "EI_API_ENDPOINT": f"{live_server}/v1",
        "PYTHONPATH": str(REPO_ROOT),
    }
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(model), NANO],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[0][7:])
    assert out["devices"] == board_names()
    assert out["bad_device"] and "Arduino Uno" in out["bad_device"]
    int8 = out["int8"]
    assert int8["device"] == NANO and int8["isSupportedOnMcu"] is True
    metrics = {m["name"]: m["value"] for m in int8["customMetrics"]}
    method = metrics["Tinyforge method"]
    assert method == ("measured" if toolchain_available() else "estimated")
    assert int(metrics["Tinyforge cycles"]) > 400_000
    assert int8["memory"]["tflite"]["arenaSize"] == 768
    assert int8["memory"]["tflite"]["rom"] > 270_000  # the 270,880 B of weights + code
    assert "Target results for int8:" in out["summary"] and "Tinyforge cycles" in out["summary"]
    assert "Performance on device types:" in out["summary"]
    assert out["table"]["lowEndMcu"]["supported"] is True
    assert out["inputs"][0]["shape"] == [1, 640]


DEPLOY_SCRIPT = Path(__file__).with_name("edgeimpulse_deploy_session.py")


def test_edgeimpulse_sdk_deploys_an_uploaded_model(live_server, worker, make_project, tmp_path):
    model = require_shared(MODELS_DIR / "ad01_int8.tflite")
    p = make_project("SDK deploy")
    env = {
        **os.environ,
        "EI_API_KEY": p.api_key,
        "EI_API_ENDPOINT": f"{live_server}/v1",
        "PYTHONPATH": str(REPO_ROOT),
    }
    proc = subprocess.run(
        [sys.executable, str(DEPLOY_SCRIPT), str(model), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[0][7:])
    assert out["bytes"] > 100_000 and any(n.endswith("model_data.c") for n in out["names"])
    assert out["bit_exact"] is True  # the verified library, not an unchecked export
    assert "zip" in out["targets"] and "cortex-m4f" in out["targets"]
    assert list((tmp_path / "out").iterdir())  # the SDK wrote the zip where it was asked to
