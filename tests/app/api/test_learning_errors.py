"""Bad input to the learning endpoints: each a clear 4xx before any job runs."""

from __future__ import annotations

from tests.app.api.helpers import acquisition, key
from tests.paths import MODELS_DIR, require_shared

IMPULSE = {
    "input": {
        "type": "time-series",
        "window_size_ms": 20,
        "window_increase_ms": 20,
        "frequency_hz": 100,
    },
    "dsp": [{"id": 1, "block": "flatten"}],
    "learn": [{"id": 2, "type": "classification", "dsp": [1]}],
}


def test_train_without_features_or_with_one_label(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
    r = client.post(f"/api/{pid}/jobs/train", json={"impulseId": iid}, headers=h)
    assert r.status_code == 409 and "no features for processing block" in r.json()["error"]
    r = client.post(f"/api/{pid}/jobs/train", json={"impulseId": iid, "learnId": 9}, headers=h)
    assert r.status_code == 404 and "no learning block 9" in r.json()["error"]
    r = client.post(f"/api/{pid}/jobs/test", json={"impulseId": iid}, headers=h)
    assert r.status_code == 409 and "train it first" in r.json()["error"]
    r = client.get(f"/api/{pid}/impulses/{iid}/learn/2/results", headers=h)
    assert r.status_code == 404


def test_one_label_only_is_refused(client, make_project, session, store, settings):
    from app.core.db import session_scope
    from app.services import features

    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    client.post(
        "/api/training/files",
        files=[
            (
                "data",
                (
                    f"idle.{i}.json",
                    acquisition(values=[[float(i), 1.0, 2.0]] * 4),
                    "application/json",
                ),
            )
            for i in range(4)
        ],
        headers=h,
    )
    iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
    features.generate(lambda: session_scope(settings), store, pid, iid)
    r = client.post(f"/api/{pid}/jobs/train", json={"impulseId": iid}, headers=h)
    assert (
        r.status_code == 400
        and "at least two labels" in r.json()["error"]
        and "idle" in r.json()["error"]
    )


def test_bad_training_settings_are_422(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    bad = {
        **IMPULSE,
        "learn": [
            {"id": 2, "type": "classification", "dsp": [1], "settings": {"training": {"epochs": 0}}}
        ],
    }
    r = client.post(f"/api/{pid}/impulses", json=bad, headers=h)
    assert r.status_code == 422 and "epochs" in r.json()["error"]
    bad["learn"][0]["settings"] = {"trainin": {}}
    r = client.post(f"/api/{pid}/impulses", json=bad, headers=h)
    assert r.status_code == 422 and "trainin" in r.json()["error"]


def test_uploaded_models(client, make_project, settings):
    models = require_shared(MODELS_DIR)
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    good = (models / "kws_ref_model.tflite").read_bytes()
    r = client.post(
        f"/api/{pid}/models/upload",
        files={"file": ("kws.tflite", good, "application/octet-stream")},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "int8" and "DEPTHWISE_CONV_2D" in r.json()["operators"]
    corrupt = good[:100] + b"\x00" * 50
    r = client.post(
        f"/api/{pid}/models/upload",
        files={"file": ("bad.tflite", corrupt, "application/octet-stream")},
        headers=h,
    )
    assert r.status_code == 400 and "corrupt" in r.json()["error"]
    r = client.post(
        f"/api/{pid}/models/upload",
        files={"file": ("x.onnx", good, "application/octet-stream")},
        headers=h,
    )
    assert r.status_code == 400 and "not a .tflite" in r.json()["error"]
    listed = client.get(f"/api/{pid}/models", headers=h).json()["models"]
    assert [m["name"] for m in listed] == ["kws.tflite"]


def test_uploaded_model_with_an_unsupported_op_is_refused(client, make_project):
    """A float model using an op outside the compiler's list (built here with TF's converter)."""
    import tensorflow as tf

    from workers.deploy import SUPPORTED_OPS

    inp = tf.keras.Input((8,))
    out = tf.keras.layers.Lambda(lambda x: tf.math.cumsum(x, axis=-1))(inp)
    model = tf.keras.Model(inp, out)
    data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    assert "CUMSUM" not in SUPPORTED_OPS
    p = make_project()
    r = client.post(
        f"/api/{p.project.id}/models/upload",
        files={"file": ("cumsum.tflite", data, "application/octet-stream")},
        headers=key(p.api_key),
    )
    assert r.status_code == 400 and "CUMSUM" in r.json()["error"], r.text
