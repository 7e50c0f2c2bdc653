"""The profile of a trained block through the API (issue 11): the job after training, the
contract of GET .../learn/{learnId}/profile, the project's target board, bad input."""

from __future__ import annotations

import time

import pytest

from tests.app.api.helpers import key
from tests.app.api.test_learning_api import _run, trained  # noqa: F401  (fixture)
from workers.deploy.mcu import toolchain_available

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

PART_KEYS = {"cycles", "latency_ms", "ram_bytes", "flash_bytes"}
NANO = "Arduino Nano 33 BLE Sense"


def _wait_for_profile_job(client, pid, h, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = client.get(f"/api/{pid}/jobs", headers=h).json()["jobs"]
        prof = [j for j in jobs if j.get("kind", j.get("category")) == "profile"]
        if prof and prof[0]["status"] in ("succeeded", "failed", "cancelled"):
            return prof[0]
        time.sleep(0.5)
    raise AssertionError("no finished profile job")


def test_profile_after_training_per_board_int8_and_float32(client, trained, worker):  # noqa: F811
    p, iid, _, train_log = trained
    pid, h = p.project.id, key(p.api_key)
    assert any("queued the profile job" in line for line in train_log)
    job = _wait_for_profile_job(client, pid, h)
    assert job["status"] == "succeeded", job
    res = client.get(f"/api/{pid}/impulses/{iid}/learn/2/profile", headers=h)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["targetBoard"] == NANO
    for kind in ("int8", "float32"):
        boards = body[kind]["boards"]
        assert len(boards) >= 12
        for b in boards:
            for part in ("dsp", "model", "anomaly", "total"):
                assert set(b[part]) >= PART_KEYS
            assert b["method"] in ("measured", "estimated")
            assert b["model"]["cycles"] > 0 and b["model"]["latency_ms"] > 0
            assert b["total"]["ram_bytes"] == sum(b["ram"].values())
            assert b["anomaly"]["cycles"] is None  # the K-means block (3) is not trained yet
            assert b["total"]["flash_bytes"] == sum(b["flash"].values())
            if toolchain_available():  # the DSP measured on every core, summed into total
                assert b["dsp"]["cycles"] > 0 and b["dsp"]["ram_bytes"] > 0
                assert b["total"]["cycles"] == b["dsp"]["cycles"] + b["model"]["cycles"]
                assert b["ram"]["window"] == 63 * 3 * 4  # 1 s at 62.5 Hz, 3 axes, float32
        nano = next(b for b in boards if b["board"] == NANO)
        assert nano["method"] == ("measured" if toolchain_available() else "estimated")
        others = [b for b in boards if b["target"] != nano["target"]]
        assert all(b["method"] == "estimated" for b in others)
    int8 = next(b for b in body["int8"]["boards"] if b["board"] == NANO)
    f32 = next(b for b in body["float32"]["boards"] if b["board"] == NANO)
    assert int8["flash"]["weights"] < f32["flash"]["weights"]  # int8 weights are 4x smaller

    # the anomaly block trained after the profile job: costed in when the profile is read
    job, _ = _run(client, p, "train", {"impulseId": iid, "learnId": 3})
    assert job["status"] == "succeeded", job
    after = client.get(f"/api/{pid}/impulses/{iid}/learn/2/profile", headers=h).json()
    for kind in ("int8", "float32"):
        for b, before in zip(after[kind]["boards"], body[kind]["boards"], strict=True):
            a = b["anomaly"]
            assert a["cycles"] > 0 and a["ram_bytes"] > 0 and a["flash_bytes"] > 0
            assert b["total"]["cycles"] == before["total"]["cycles"] + a["cycles"]
            assert b["flash"]["anomaly_tables"] == a["flash_bytes"]
            assert b["total"]["flash_bytes"] == before["total"]["flash_bytes"] + a["flash_bytes"]
            assert b["total"]["ram_bytes"] == sum(b["ram"].values())

    if toolchain_available():  # the build records the profile's RAM/flash: one definition
        job, log = _run(
            client,
            p,
            "build-ondevice-model",
            {"impulseId": iid, "learnId": 2, "target": nano["target"], "modelType": "int8"},
        )
        assert job["status"] == "succeeded", log[-20:]
        m = job["result"]["manifest"]
        prof = next(b for b in after["int8"]["boards"] if b["board"] == NANO)
        assert m["memory_board"] == NANO and prof["method"] == "measured"
        assert (m["ram_bytes"], m["flash_bytes"]) == (
            prof["total"]["ram_bytes"],
            prof["total"]["flash_bytes"],
        )
        assert (m["ram"], m["flash"]) == (prof["ram"], prof["flash"])
        line = next(ln for ln in log if " memory (as the profile of " in ln)
        assert f"RAM {m['ram_bytes']:,} B (" in line and f"flash {m['flash_bytes']:,} B (" in line

    one = client.get(
        f"/api/{pid}/impulses/{iid}/learn/2/profile", params={"board": NANO}, headers=h
    ).json()
    assert [b["board"] for b in one["int8"]["boards"]] == [NANO]
    bad = client.get(
        f"/api/{pid}/impulses/{iid}/learn/2/profile", params={"board": "Nano"}, headers=h
    )
    assert bad.status_code == 422 and "valid boards: " in bad.text and NANO in bad.text


def test_project_target_board_setting(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    assert client.get(f"/api/{pid}", headers=h).json()["project"]["targetBoard"] == NANO
    bad = client.post(f"/api/{pid}", json={"targetBoard": "Uno"}, headers=h)
    assert bad.status_code == 422 and "valid boards: " in bad.text
    ok = client.post(f"/api/{pid}", json={"targetBoard": "Teensy 4.1"}, headers=h)
    assert ok.status_code == 200
    assert client.get(f"/api/{pid}", headers=h).json()["project"]["targetBoard"] == "Teensy 4.1"


def test_profile_of_an_untrained_block_is_a_clear_404(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    from tests.app.api.test_learning_api import IMPULSE

    iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
    res = client.get(f"/api/{pid}/impulses/{iid}/learn/2/profile", headers=h)
    assert res.status_code == 404 and "train it first" in res.text
