"""Restore a version into a new project and train again with the same seed: the same accuracy."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.app.api.helpers import key
from tests.app.api.test_learning_api import _run, trained  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def test_restore_and_retrain_reproduces_the_accuracy(client, trained, worker):  # noqa: F811
    p, iid, first, _ = trained
    pid, h = p.project.id, key(p.api_key)
    r = client.post(f"/api/{pid}/versions", json={"description": "trained"}, headers=h)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/{pid}/versions/1/restore", headers=h)
    assert r.status_code == 200, r.text
    rid, rkey = r.json()["projectId"], r.json()["apiKey"]
    rh = key(rkey)
    impulses = client.get(f"/api/{rid}/impulses", headers=rh).json()
    assert impulses["success"], impulses
    [impulse] = impulses["impulses"]

    restored = SimpleNamespace(project=SimpleNamespace(id=rid), api_key=rkey)  # what _run reads

    job, log = _run(client, restored, "generate-features", {"impulseId": impulse["id"]})
    assert job["status"] == "succeeded", log[-20:]
    job, log = _run(client, restored, "train", {"impulseId": impulse["id"], "learnId": 2})
    assert job["status"] == "succeeded", log[-30:]
    assert job["result"]["validation"] == first["result"]["validation"]
    assert job["result"]["history"] == first["result"]["history"]
