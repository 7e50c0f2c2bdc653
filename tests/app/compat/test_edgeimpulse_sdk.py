"""Edge Impulse's Python SDK (`edgeimpulse` on PyPI), unchanged, uploads, lists, gets and deletes
samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.paths import FSDD_DIR, REPO_ROOT, require_shared

SCRIPT = Path(__file__).with_name("edgeimpulse_sdk_session.py")


def test_edgeimpulse_sdk_round_trip(live_server, make_project):
    wav = require_shared(FSDD_DIR) / "7_jackson_0.wav"
    p = make_project("SDK")
    env = {
        **os.environ,
        "EI_API_KEY": p.api_key,
        "EI_API_ENDPOINT": f"{live_server}/v1",
        "EI_INGESTION_ENDPOINT": live_server,
        "PYTHONPATH": str(REPO_ROOT),
    }
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(wav)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[0][7:])
    assert out["uploaded"] == 3 and out["upload_fails"] == []
    names = [n for n, _, _ in out["listed"]]
    assert sorted(names) == ["idle.02.csv", "seven.wav", "wave.01.json"]
    assert ("wave.01.json", "training", "wave") in [tuple(x) for x in out["listed"]]
    assert out["filename_of_wave"] == "wave.01.json"
    wave = out["downloaded"]["wave.01.json"]
    assert wave["json"]["payload"]["values"] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert wave["json"]["payload"]["interval_ms"] == 20
    seven = out["downloaded"]["seven.wav"]
    assert seven["riff"] == "RIFF" and seven["bytes"] == wav.stat().st_size
    assert sorted(out["after_delete"]) == ["idle.02.csv", "seven.wav"]
    assert out["duplicate_fails"] == 1, (
        "the SDK disallows duplicates by default and gets a per-file error"
    )
    assert out["after_delete_all"] == 0
