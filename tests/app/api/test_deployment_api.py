"""Build, verify and download a deployment of a trained impulse through the API, with real workers."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile

import numpy as np
import pytest

from app.synthetic import motion_dataset
from tests.app.api.helpers import key
from tests.app.api.test_learning_api import _run, _upload
from workers.deploy.mcu import toolchain_available

pytestmark = [pytest.mark.slow]

IMPULSE = {
    "name": "motion",
    "input": {"type": "time-series", "window_size_ms": 1000, "window_increase_ms": 500, "frequency_hz": 62.5},
    "dsp": [{"id": 1, "block": "spectral", "params": {}}],
    "learn": [{"id": 2, "type": "classification", "dsp": [1], "settings": {"training": {"epochs": 20, "seed": 3}}},
              {"id": 3, "type": "anomaly-kmeans", "dsp": [1], "settings": {"n_clusters": 6}}],
}


@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_build_verify_download_and_run(client, make_project, worker, tmp_path):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, motion_dataset(8, seed=5), "training")
    _upload(client, p, motion_dataset(3, seed=6), "testing")
    iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
    for path, body in (("generate-features", {"impulseId": iid}), ("train", {"impulseId": iid, "learnId": 2}),
                       ("train", {"impulseId": iid, "learnId": 3})):
        job, log = _run(client, p, path, body)
        assert job["status"] == "succeeded", log[-20:]

    job, log = _run(client, p, "build-ondevice-model", {"impulseId": iid, "learnId": 2, "engine": "compiled",
                                                          "modelType": "int8", "target": "linux-x86_64"})
    assert job["status"] == "succeeded", log[-20:]
    manifest = job["result"]["manifest"]
    assert manifest["bit_exact"] is True and manifest["verification"]["impulse"]["same_class"] == 1.0
    assert manifest["labels"] == ["circle", "idle", "shake", "wave"] and manifest["anomaly"] is True
    assert manifest["verification"]["impulse"]["anomaly_agrees"] is True
    assert manifest["verification"]["impulse"]["anomaly_max_rel_diff"] < 1e-3
    assert any("same class 100.0%" in line for line in log) and any("anomaly scores" in line for line in log)

    zipped = client.get(f"/api/{pid}/deployment/download", params={"type": "zip"}, headers=h)
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        zf.extractall(tmp_path / "zip")
    (root,) = list((tmp_path / "zip").iterdir())
    assert json.loads((root / "manifest.json").read_text())["bit_exact"] is True
    subprocess.run(["make", "-C", str(root)], check=True, capture_output=True)
    window = motion_dataset(1, seed=42, labels=("shake",))[0][1][:63].astype(np.float32)  # 1000 ms at 62.5 Hz
    out = subprocess.run([str(root / "classify")], input=window.tobytes(), capture_output=True, check=True).stdout
    scores = np.frombuffer(out, dtype=np.float32)
    assert scores.shape == (5,) and manifest["labels"][int(np.argmax(scores[:4]))] == "shake"

    if toolchain_available():
        job, log = _run(client, p, "build-ondevice-model", {"impulseId": iid, "learnId": 2, "target": "cortex-m4f"})
        assert job["status"] == "succeeded", log[-20:]
        m = job["result"]["manifest"]
        assert m["bit_exact"] is True and m["instructions"] > 0 and m["flash_bytes"] > 0 and m["ram_bytes"] > 0
    listed = client.get(f"/api/{pid}/deployment", headers=h).json()["deployments"]
    assert listed and listed[0]["manifest"]["target"] in ("cortex-m4f", "linux-x86_64")

    job, log = _run(client, p, "build-ondevice-model", {"impulseId": iid, "engine": "tflite-micro", "target": "cortex-m7"})
    assert job["status"] == "succeeded", log[-10:]
    assert job["result"]["manifest"]["tflm_op_resolver"]


def test_build_request_errors(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    cases = [({"target": "cortex-m99", "impulseId": 1}, "target 'cortex-m99'"),
             ({"engine": "onnx", "impulseId": 1}, "engine 'onnx'"),
             ({"modelType": "int4", "impulseId": 1}, "modelType 'int4'"),
             ({"target": "cortex-m4f"}, "impulseId"),
             ({"impulseId": 77}, "impulse 77")]
    for body, needle in cases:
        r = client.post(f"/api/{pid}/jobs/build-ondevice-model", json=body, headers=h)
        assert r.status_code in (400, 404) and needle in r.json()["error"], (body, r.text)
    r = client.get(f"/api/{pid}/deployment/download", headers=h)
    assert r.status_code == 404 and "no deployment" in r.json()["error"]
    targets = client.get("/api/deployment/targets").json()
    assert {t["name"] for t in targets["targets"]} >= {"cortex-m4f", "cortex-m55", "linux-x86_64"}
    assert any(b["target"] == "cortex-m4f" for b in targets["boards"])
