"""Train, quantize, test and classify through the API, on synthetic motion data, with real
workers."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.ingestion import sign_acquisition
from app.synthetic import anomaly_sample, motion_dataset
from tests.app.api.helpers import key

# training is the heavy part and backend-independent: one backend suffices (the data layer is tested
# on both)
pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

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
            "settings": {"training": {"epochs": 30, "seed": 3}},
        },
        {"id": 3, "type": "anomaly-kmeans", "dsp": [1], "settings": {"n_clusters": 8}},
    ],
}


def _payload(values):
    return {
        "device_name": "d",
        "device_type": "t",
        "interval_ms": 16,
        "sensors": [{"name": a, "units": "m/s2"} for a in ("accX", "accY", "accZ")],
        "values": values.tolist(),
    }


def _upload(client, p, data, category):
    files = [
        (
            "data",
            (f"{label}.{i}.json", sign_acquisition(_payload(v), hmac_key=None), "application/json"),
        )
        for i, (label, v) in enumerate(data)
    ]
    r = client.post(f"/api/{category}/files", files=files, headers=key(p.api_key))
    assert r.json()["success"], r.text


def _run(client, p, path, body, timeout=600):
    pid, h = p.project.id, key(p.api_key)
    r = client.post(f"/api/{pid}/jobs/{path}", json=body, headers=h)
    assert r.status_code == 200, r.text
    jid = r.json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/{pid}/jobs/{jid}/status", headers=h).json()["job"]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.3)
    log = [
        ln["data"] for ln in client.get(f"/api/{pid}/jobs/{jid}/stdout", headers=h).json()["stdout"]
    ]
    return job, log


@pytest.fixture
def trained(client, make_project, worker):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, motion_dataset(12, seed=5), "training")
    _upload(client, p, motion_dataset(4, seed=6), "testing")
    rng = np.random.default_rng(9)
    _upload(client, p, [("weird", anomaly_sample(rng=rng)) for _ in range(3)], "anomaly")
    iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
    job, log = _run(client, p, "generate-features", {"impulseId": iid})
    assert job["status"] == "succeeded", log[-20:]
    job, log = _run(client, p, "train", {"impulseId": iid, "learnId": 2})
    assert job["status"] == "succeeded", log[-30:]
    return p, iid, job, log


def test_train_test_classify_motion(client, trained, worker):
    p, iid, job, log = trained
    pid, h = p.project.id, key(p.api_key)
    assert any(line.startswith("epoch 1/30:") for line in log) and any(
        line.startswith("epoch 30/30:") for line in log
    )
    res = client.get(f"/api/{pid}/impulses/{iid}/learn/2/results", headers=h).json()
    assert res["labels"] == ["circle", "idle", "shake", "wave"]
    assert (
        res["validation"]["float32"]["accuracy"] >= 0.9
        and res["validation"]["int8"]["accuracy"] >= 0.9
    )
    assert res["io"]["input"]["dtype"] == "int8" and res["io"]["output"]["dtype"] == "int8"
    assert all(op["supported"] for op in res["ops"]), res["ops"]
    assert {"tflite-int8", "tflite-float32", "keras-model", "model-card"} <= set(res["downloads"])
    # the explorer marks the windows the int8 model gets wrong (issue 13 item 5)
    assert any(ln.startswith("feature explorer: the int8 model gets ") for ln in log)
    explorer = client.get(f"/api/{pid}/impulses/{iid}/features/1/explorer", headers=h).json()
    assert explorer["predictedBy"] == res.get("name", explorer["predictedBy"])
    assert all(pt["predicted"] in res["labels"] for pt in explorer["points"])
    assert all(pt["sampleName"].endswith(".json") for pt in explorer["points"])
    wrong = sum(pt["predicted"] != pt["label"] for pt in explorer["points"])
    assert explorer["misclassified"] == wrong < len(explorer["points"]) * 0.2
    tfl = client.get(f"/api/{pid}/artifacts/{res['downloads']['tflite-int8']}/download", headers=h)
    assert tfl.status_code == 200 and tfl.content[4:8] == b"TFL3"

    job, log = _run(client, p, "test", {"impulseId": iid, "learnId": 2})
    assert job["status"] == "succeeded", log[-20:]
    tr = client.get(f"/api/{pid}/impulses/{iid}/learn/2/test-results", headers=h).json()
    assert (
        tr["accuracy"]["int8"] >= 0.9
        and abs(tr["accuracy"]["int8"] - tr["accuracy"]["float32"]) <= 0.1
    )
    assert len(tr["samples"]) == 16 and tr["per_window"]["int8"]["confusion_matrix"]

    job, log = _run(client, p, "train", {"impulseId": iid, "learnId": 3})
    assert job["status"] == "succeeded", log[-20:]
    job, log = _run(client, p, "test", {"impulseId": iid, "learnId": 3})
    assert job["status"] == "succeeded", log[-20:]
    an = client.get(f"/api/{pid}/impulses/{iid}/learn/3/test-results", headers=h).json()
    assert an["per_category"]["anomaly"]["flagged"] >= 0.9, an["per_category"]
    assert an["per_category"]["testing"]["flagged"] <= 0.2, an["per_category"]

    sid = client.get(
        f"/api/{pid}/raw-data", params={"category": "testing", "labels": '["shake"]'}, headers=h
    ).json()["samples"][0]["id"]
    live = client.post(f"/api/{pid}/impulses/{iid}/classify/{sid}", headers=h).json()
    assert live["windows"] == 3 and live["blocks"]["2"]["predicted"] == "shake"
    assert live["blocks"]["2"]["name"] and live["blocks"]["3"]["name"]  # shown by name
    assert len(live["blocks"]["2"]["int8"]) == 3 and live["blocks"]["3"]["anomalous"] == [
        False,
        False,
        False,
    ]
    weird = anomaly_sample(rng=np.random.default_rng(1))
    live = client.post(
        f"/api/{pid}/impulses/{iid}/classify",
        json={"values": weird.tolist(), "interval_ms": 16},
        headers=h,
    ).json()
    assert all(live["blocks"]["3"]["anomalous"])


def test_same_seed_same_metrics(client, trained, worker):
    p, iid, first, _ = trained
    job, log = _run(client, p, "train", {"impulseId": iid, "learnId": 2})
    assert job["status"] == "succeeded", log[-10:]
    assert job["result"]["validation"] == first["result"]["validation"]
    assert job["result"]["history"] == first["result"]["history"]
