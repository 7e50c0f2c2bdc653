"""Build, verify and download a deployment of a trained impulse through the API, with real
workers."""

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
    "input": {
        "type": "time-series",
        "window_size_ms": 1000,
        "window_increase_ms": 500,
        "frequency_hz": 62.5,
    },
    "dsp": [{"id": 1, "block": "spectral", "params": {}}],
    "learn": [
        {
            "id": 2,
            "type": "classification",
            "dsp": [1],
            "settings": {"training": {"epochs": 20, "seed": 3}},
        },
        {"id": 3, "type": "anomaly-kmeans", "dsp": [1], "settings": {"n_clusters": 6}},
    ],
}


@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_build_verify_download_and_run(client, make_project, worker, tmp_path):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, motion_dataset(8, seed=5), "training")
    _upload(client, p, motion_dataset(3, seed=6), "testing")
    iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
    for path, body in (
        ("generate-features", {"impulseId": iid}),
        ("train", {"impulseId": iid, "learnId": 2}),
        ("train", {"impulseId": iid, "learnId": 3}),
    ):
        job, log = _run(client, p, path, body)
        assert job["status"] == "succeeded", log[-20:]

    job, log = _run(
        client,
        p,
        "build-ondevice-model",
        {
            "impulseId": iid,
            "learnId": 2,
            "engine": "compiled",
            "modelType": "int8",
            "target": "linux-x86_64",
        },
    )
    assert job["status"] == "succeeded", log[-20:]
    manifest = job["result"]["manifest"]
    assert (
        manifest["bit_exact"] is True and manifest["verification"]["impulse"]["same_class"] == 1.0
    )
    assert manifest["labels"] == ["circle", "idle", "shake", "wave"] and manifest["anomaly"] is True
    assert manifest["verification"]["impulse"]["anomaly_agrees"] is True
    assert manifest["verification"]["impulse"]["anomaly_max_rel_diff"] < 1e-3
    assert any("same class 100.0%" in line for line in log) and any(
        "anomaly scores" in line for line in log
    )

    zipped = client.get(f"/api/{pid}/deployment/download", params={"type": "zip"}, headers=h)
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        zf.extractall(tmp_path / "zip")
    (root,) = list((tmp_path / "zip").iterdir())
    assert json.loads((root / "manifest.json").read_text())["bit_exact"] is True
    subprocess.run(["make", "-C", str(root)], check=True, capture_output=True)
    window = motion_dataset(1, seed=42, labels=("shake",))[0][1][:63].astype(
        np.float32
    )  # 1000 ms at 62.5 Hz
    out = subprocess.run(
        [str(root / "classify")], input=window.tobytes(), capture_output=True, check=True
    ).stdout
    scores = np.frombuffer(out, dtype=np.float32)
    assert scores.shape == (5,) and manifest["labels"][int(np.argmax(scores[:4]))] == "shake"

    if toolchain_available():
        job, log = _run(
            client,
            p,
            "build-ondevice-model",
            {"impulseId": iid, "learnId": 2, "target": "cortex-m4f"},
        )
        assert job["status"] == "succeeded", log[-20:]
        m = job["result"]["manifest"]
        assert (
            m["bit_exact"] is True
            and m["instructions"] > 0
            and m["flash_bytes"] > 0
            and m["ram_bytes"] > 0
        )
    listed = client.get(f"/api/{pid}/deployment", headers=h).json()["deployments"]
    assert listed and listed[0]["manifest"]["target"] in ("cortex-m4f", "linux-x86_64")

    job, log = _run(
        client,
        p,
        "build-ondevice-model",
        {"impulseId": iid, "engine": "tflite-micro", "target": "cortex-m7"},
    )
    assert job["status"] == "succeeded", log[-10:]
    assert job["result"]["manifest"]["tflm_op_resolver"]


def test_build_request_errors(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    cases = [
        ({"target": "cortex-m99", "impulseId": 1}, "target 'cortex-m99'"),
        ({"engine": "onnx", "impulseId": 1}, "engine 'onnx'"),
        ({"modelType": "int4", "impulseId": 1}, "modelType 'int4'"),
        ({"optimize": "tiny", "impulseId": 1}, "optimize 'tiny' is not known: use one of speed"),
        (
            {"optimize": "ram", "engine": "tflite-micro", "impulseId": 1},
            "optimize 'ram' applies to the compiled engine only",
        ),
        ({"target": "cortex-m4f"}, "impulseId"),
        ({"impulseId": 77}, "impulse 77"),
    ]
    for body, needle in cases:
        r = client.post(f"/api/{pid}/jobs/build-ondevice-model", json=body, headers=h)
        assert r.status_code in (400, 404) and needle in r.json()["error"], (body, r.text)
    r = client.get(f"/api/{pid}/deployment/download", headers=h)
    assert r.status_code == 404 and "no deployment" in r.json()["error"]
    targets = client.get("/api/deployment/targets").json()
    assert {t["name"] for t in targets["targets"]} >= {"cortex-m4f", "cortex-m55", "linux-x86_64"}
    assert any(b["target"] == "cortex-m4f" for b in targets["boards"])
    assert targets["optimize"] == ["speed", "ram"]


def test_build_request_optimize_defaults_and_edge_impulse_engine_name():
    from app.schemas.jobs import BuildRequest
    from app.services.deployment import validate_request

    assert validate_request(BuildRequest(impulseId=1))["optimize"] == "speed"
    ram = validate_request(BuildRequest(impulseId=1, engine="tflite-eon-ram-optimized"))
    assert (ram["engine"], ram["optimize"]) == ("compiled", "ram")
    assert validate_request(BuildRequest(modelId=3, optimize="ram"))["optimize"] == "ram"


def _frames(label: str, n: int, rng: np.random.Generator) -> list[tuple[str, bytes]]:
    """PNG frames 16 x 16: a bright square of the label's colour on a noisy background."""
    from PIL import Image

    out = []
    for i in range(n):
        pixels = rng.integers(0, 90, size=(16, 16, 3)).astype(np.uint8)
        x, y = rng.integers(0, 8, size=2)
        pixels[y : y + 8, x : x + 8, {"red": 0, "blue": 2}[label]] = 230
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG")
        out.append((f"{label}.{i}.png", buf.getvalue()))
    return out


@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_image_impulse_builds_and_classifies_like_the_platform(
    client, make_project, worker, tmp_path
):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    rng = np.random.default_rng(3)
    for category, n in (("training", 10), ("testing", 3)):
        files = [
            ("data", (name, data, "image/png"))
            for label in ("red", "blue")
            for name, data in _frames(label, n, rng)
        ]
        assert client.post(f"/api/{category}/files", files=files, headers=h).json()["success"]
    impulse = {
        "name": "colours",
        "input": {
            "type": "image",
            "width": 12,
            "height": 12,
            "resize_mode": "squash",
            "color_depth": "rgb",
        },
        "dsp": [{"id": 1, "block": "image", "params": {}}],
        "learn": [
            {
                "id": 2,
                "type": "classification",
                "dsp": [1],
                "settings": {"training": {"epochs": 15, "seed": 1}},
            }
        ],
    }
    r = client.post(f"/api/{pid}/impulses", json=impulse, headers=h)
    assert r.status_code == 200, r.text
    iid = r.json()["id"]
    for path, body in (
        ("generate-features", {"impulseId": iid}),
        ("train", {"impulseId": iid, "learnId": 2}),
    ):
        job, log = _run(client, p, path, body)
        assert job["status"] == "succeeded", log[-20:]

    job, log = _run(
        client,
        p,
        "build-ondevice-model",
        {"impulseId": iid, "learnId": 2, "target": "linux-x86_64"},
    )
    assert job["status"] == "succeeded", log[-20:]
    m = job["result"]["manifest"]
    assert m["bit_exact"] is True and m["verification"]["impulse"]["windows"] == 26
    assert m["verification"]["impulse"]["same_class"] == 1.0 and m["dsp"]["image"]["width"] == 12

    zipped = client.get(f"/api/{pid}/deployment/download", params={"type": "zip"}, headers=h)
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        zf.extractall(tmp_path / "zip")
    (root,) = list((tmp_path / "zip").iterdir())
    header = next(root.glob("src/*impulse.h")).read_text()
    assert (
        "#define TINYFORGE_IMAGE_WIDTH 12" in header and "#define TINYFORGE_CONTINUOUS 0" in header
    )
    assert "12 × 12 pixels" in (root / "README.md").read_text()
    subprocess.run(["make", "-C", str(root)], check=True, capture_output=True)
    frame = np.zeros((12, 12, 3), np.float32)
    frame[2:10, 2:10, 2] = 230.0  # a blue square
    out = subprocess.run(
        [str(root / "classify")], input=frame.tobytes(), capture_output=True, check=True
    ).stdout
    scores = np.frombuffer(out, dtype=np.float32)
    assert m["labels"][int(np.argmax(scores[:2]))] == "blue"


@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_learning_block_fed_by_two_processing_blocks(client, make_project, worker, tmp_path):
    """Spectral + flatten features side by side feed the classifier and a K-means block: both blocks
    run in C, one after the other, into their slices of the feature vector."""
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, motion_dataset(6, seed=11), "training")
    _upload(client, p, motion_dataset(2, seed=12), "testing")
    impulse = {
        **IMPULSE,
        "dsp": [
            {"id": 1, "block": "spectral", "params": {}},
            {"id": 4, "block": "flatten", "params": {}},
        ],
        "learn": [
            {
                "id": 2,
                "type": "classification",
                "dsp": [1, 4],
                "settings": {"training": {"epochs": 20, "seed": 3}},
            },
            {"id": 3, "type": "anomaly-gmm", "dsp": [1, 4], "settings": {"n_components": 2}},
        ],
    }
    r = client.post(f"/api/{pid}/impulses", json=impulse, headers=h)
    assert r.status_code == 200, r.text
    iid = r.json()["id"]
    for path, body in (
        ("generate-features", {"impulseId": iid}),
        ("train", {"impulseId": iid, "learnId": 2}),
        ("train", {"impulseId": iid, "learnId": 3}),
    ):
        job, log = _run(client, p, path, body)
        assert job["status"] == "succeeded", log[-20:]
    job, log = _run(
        client,
        p,
        "build-ondevice-model",
        {"impulseId": iid, "learnId": 2, "target": "linux-x86_64"},
    )
    assert job["status"] == "succeeded", log[-20:]
    m = job["result"]["manifest"]
    assert (
        m["dsp"]["block"] == "spectral+flatten" and m["dsp"]["n_features"] == 33 + 15
    )  # 5 statistics x 3 axes
    verified = m["verification"]["impulse"]
    assert (
        m["bit_exact"] is True
        and verified["same_class"] == 1.0
        and verified["anomaly_agrees"] is True
    )
    zipped = client.get(f"/api/{pid}/deployment/download", params={"type": "zip"}, headers=h)
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert {n.split("/src/")[-1] for n in names if "_dsp_config.c" in n} == {
        "tinyforge_dsp_config.c",
        "tinyforge_b1_dsp_config.c",
        "tinyforge_b2_dsp_config.c",
    }
