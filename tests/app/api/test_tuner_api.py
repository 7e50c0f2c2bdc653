"""The tuner through the API: bad requests, and a search fanned out over two real workers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from app.ingestion import sign_acquisition
from app.synthetic import motion_dataset
from tests.app.api.helpers import key
from workers.deploy.mcu import toolchain_available

BOARD = "Arduino Nano 33 BLE Sense"
# a small, fast space: raw/flatten features, tiny dense networks
FAST_SPACE = {
    "window_size_ms": [1000],
    "downsample": [2, 4],
    "dsp": ["flatten", "raw"],
    "network": ["dense"],
    "width": [4, 8],
    "depth": [1],
}


def _payload(values):
    return {
        "device_name": "d",
        "device_type": "t",
        "interval_ms": 16,
        "sensors": [{"name": a, "units": "m/s2"} for a in ("accX", "accY", "accZ")],
        "values": values.tolist(),
    }


def _upload(client, p, data, category="training", labelled=True):
    files = [
        (
            "data",
            (f"{label}.{i}.json", sign_acquisition(_payload(v), hmac_key=None), "application/json"),
        )
        for i, (label, v) in enumerate(data)
    ]
    headers = key(p.api_key) if labelled else key(p.api_key, **{"x-no-label": "1"})
    r = client.post(f"/api/{category}/files", files=files, headers=headers)
    assert r.json()["success"], r.text


def _tune(client, p, body):
    return client.post(f"/api/{p.project.id}/jobs/tune", json=body, headers=key(p.api_key))


def test_a_project_without_labels_or_with_one_class_is_a_conflict(client, make_project):
    p = make_project()
    r = _tune(client, p, {"board": BOARD})
    assert r.status_code == 409 and "no enabled training samples" in r.text
    _upload(client, p, [(lab, v) for lab, v in motion_dataset(2, seed=1) if lab == "idle"])
    r = _tune(client, p, {"board": BOARD})
    assert r.status_code == 409 and "one class ('idle')" in r.text


def test_bad_board_space_and_limits_are_refused(client, make_project):
    p = make_project()
    _upload(client, p, motion_dataset(2, seed=1))
    r = _tune(client, p, {"board": "Arduino Uno"})
    assert r.status_code == 422 and "valid boards" in r.text and BOARD in r.text
    r = _tune(client, p, {"board": BOARD, "space": {"width": [0]}})
    assert r.status_code == 422 and "space.width: got 0" in r.text
    r = _tune(client, p, {"board": BOARD, "space": {"dsp": ["mfcc"]}})
    assert r.status_code == 422 and "for motion data choose from" in r.text
    r = _tune(client, p, {"board": BOARD, "maxLatencyMs": -1})
    assert r.status_code == 422 and "maxLatencyMs" in r.text
    r = _tune(client, p, {"maxTrials": 3})
    assert r.status_code == 422 and "board" in r.text
    r = _tune(client, p, {"board": BOARD, "splitByMetadata": "speaker"})
    assert r.status_code == 422 and "no metadata 'speaker'" in r.text


def test_a_tune_request_queues_the_coordinator_and_its_result_starts_empty(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, motion_dataset(2, seed=1))
    r = _tune(client, p, {"board": BOARD, "maxTrials": 3, "space": FAST_SPACE})
    assert r.status_code == 200, r.text
    jid = r.json()["id"]
    job = client.get(f"/api/{pid}/jobs/{jid}/status", headers=h).json()["job"]
    assert job["kind"] == "tune" and job["queue"] == "default"
    assert job["params"]["limits"] == {
        "board": BOARD,
        "max_latency_ms": None,
        "max_ram_bytes": 256 * 1024,
        "max_flash_bytes": 1024 * 1024,
    }
    assert job["params"]["split_key"] == "sample" and job["params"]["kind"] == "motion"
    res = client.get(f"/api/{pid}/jobs/{jid}/result", headers=h).json()
    assert res["trials"] == [] and res["best"] is None
    r = client.post(f"/api/{pid}/tuner/{jid}/trials/999/apply", headers=h)
    assert r.status_code == 404 and "trial 999 does not exist" in r.text


def _wait(client, p, jid, timeout=900):
    pid, h = p.project.id, key(p.api_key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/{pid}/jobs/{jid}/status", headers=h).json()["job"]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {jid} did not finish")


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, todo = set(), [pid]
    while todo:
        cur = todo.pop()
        kids = [c for c, pp in parents.items() if pp == cur]
        out.update(kids)
        todo += kids
    return out


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_trials_run_on_two_workers_are_persisted_and_applied(client, make_project, start_worker):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, motion_dataset(4, seed=1))
    workers = [start_worker(concurrency=2), start_worker(concurrency=2)]

    # an impossible budget: said before any training, with the smallest candidate's figures
    r = _tune(client, p, {"board": BOARD, "maxRamBytes": 64, "maxTrials": 2, "space": FAST_SPACE})
    job = _wait(client, p, r.json()["id"])
    assert job["status"] == "failed", job
    assert "nothing in the search space fits" in job["error"]
    assert "the smallest candidate needs latency" in job["error"] and "RAM" in job["error"]
    res = client.get(f"/api/{pid}/jobs/{job['id']}/result", headers=h).json()
    assert res["trials"] == [] and len(res["skipped"]) >= 2
    assert all(s["reason"].startswith("RAM ") for s in res["skipped"])

    body = {"board": BOARD, "maxTrials": 4, "maxEpochs": 2, "space": FAST_SPACE}
    jid = _tune(client, p, body).json()["id"]
    job = _wait(client, p, jid)
    log = [
        ln["data"] for ln in client.get(f"/api/{pid}/jobs/{jid}/stdout", headers=h).json()["stdout"]
    ]
    assert job["status"] == "succeeded", (job["error"], log[-30:])
    res = client.get(f"/api/{pid}/jobs/{jid}/result", headers=h).json()
    trials = res["trials"]
    assert len(trials) == 4 and all(t["status"] == "succeeded" for t in trials), trials
    for t in trials:
        assert 0 <= t["accuracy"]["int8"] <= 1 and 0 <= t["accuracy"]["float32"] <= 1
        assert t["profile"]["latency_ms"] > 0 and t["profile"]["ram_bytes"] > 0
        assert t["profile"]["flash_bytes"] > 0 and t["impulse"]["dsp"]["block"] in (
            "flatten",
            "raw",
        )
    ran_on = {int(t["worker"].rsplit(" ", 1)[1]) for t in trials}
    per_worker = [ran_on & _descendants(w.proc.pid) for w in workers]
    assert all(per_worker), f"trials ran on pids {ran_on}; per worker {per_worker}"
    assert res["best"]["id"] in {t["id"] for t in trials}

    r = client.post(f"/api/{pid}/tuner/{jid}/trials/{res['best']['id']}/apply", headers=h)
    assert r.status_code == 200, r.text
    imp = client.get(f"/api/{pid}/impulses/{r.json()['id']}", headers=h).json()
    text = str(imp)
    assert res["best"]["impulse"]["dsp"]["block"] in text and "dense" in text


def _trial_jobs(client, p, jid, statuses=("running",), timeout=300):
    """The trial jobs of tuner `jid` once one of them has a status in `statuses`."""
    pid, h = p.project.id, key(p.api_key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = client.get(f"/api/{pid}/jobs", params={"kind": "tune-trial"}, headers=h).json()
        mine = [j for j in jobs["jobs"] if j["params"].get("tuner_job_id") == jid]
        if any(j["status"] in statuses for j in mine):
            return mine
        time.sleep(0.3)
    raise AssertionError(f"no trial of tuner {jid} reached {statuses}")


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_trial_whose_worker_dies_is_retried_and_cancelling_the_tuner_cancels_its_trials(
    client, make_project, worker
):
    import signal

    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, motion_dataset(4, seed=1))
    one = {**FAST_SPACE, "downsample": [4], "dsp": ["raw"], "width": [4]}
    jid = _tune(client, p, {"board": BOARD, "maxTrials": 1, "maxEpochs": 2, "space": one}).json()
    jid = jid["id"]
    (running,) = [j for j in _trial_jobs(client, p, jid) if j["status"] == "running"]
    child = int(running["worker"].rsplit(" pid ", 1)[1])
    assert child != worker.proc.pid
    os.kill(child, signal.SIGKILL)  # the pool process training the trial dies
    job = _wait(client, p, jid)
    assert job["status"] == "succeeded", job
    (trial_job,) = _trial_jobs(client, p, jid, statuses=("succeeded",))
    assert trial_job["attempts"] == 2, trial_job
    (trial,) = client.get(f"/api/{pid}/jobs/{jid}/result", headers=h).json()["trials"]
    assert trial["status"] == "succeeded" and trial["accuracy"]["int8"] is not None

    long = {
        "board": BOARD,
        "maxTrials": 2,
        "maxEpochs": 1000,
        "strategy": "random",
        "space": {**FAST_SPACE, "dsp": ["raw"]},
    }
    jid = _tune(client, p, long).json()["id"]
    _trial_jobs(client, p, jid)
    r = client.post(f"/api/{pid}/jobs/{jid}/cancel", headers=h)
    assert r.status_code == 200, r.text
    job = _wait(client, p, jid, timeout=120)
    assert job["status"] == "cancelled", job
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        trials = client.get(f"/api/{pid}/jobs/{jid}/result", headers=h).json()["trials"]
        if all(t["status"] == "cancelled" for t in trials):
            break
        time.sleep(0.5)
    statuses = [(t["status"], t["reason"]) for t in trials]
    assert len(trials) == 2 and all(t["status"] == "cancelled" for t in trials), statuses
    trial_jobs = _trial_jobs(client, p, jid, statuses=("cancelled",))
    assert all(j["status"] == "cancelled" for j in trial_jobs), trial_jobs


def _run_job(client, p, path, body):
    pid, h = p.project.id, key(p.api_key)
    r = client.post(f"/api/{pid}/jobs/{path}", json=body, headers=h)
    assert r.status_code == 200, r.text
    job = _wait(client, p, r.json()["id"])
    assert job["status"] == "succeeded", job
    return job


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_applied_trial_trained_with_the_same_seed_reproduces_its_accuracy(
    client, make_project, worker
):
    """Apply a trial, generate its features and train it as any impulse: the platform's
    validation accuracy (float32 and int8) is the trial's, exactly: same windows and features,
    same split (by sample), same seed, same epochs. The trial's DSP latency is the one the
    profile shows for the trained impulse."""
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    # 12 noisy samples per class (ids from 1: "10" sorts before "9" as a string), a small network
    # and 4 epochs: an accuracy well inside (0, 1) that a different split or different features
    # would change
    rng = np.random.default_rng(4)
    noisy = [(lab, v + rng.normal(0, 1.0, v.shape)) for lab, v in motion_dataset(12, seed=3)]
    _upload(client, p, noisy)
    one = {
        "window_size_ms": [1000],
        "downsample": [2],
        "dsp": ["spectral"],
        "dsp.fft_length": [16],
        "dsp.filter_type": ["low"],
        "dsp.analysis_type": ["FFT"],
        "network": ["dense"],
        "width": [8],
        "depth": [1],
    }
    body = {"board": BOARD, "maxTrials": 1, "maxEpochs": 4, "space": one, "seed": 7}
    r = _tune(client, p, body)
    assert r.status_code == 200, r.text
    jid = r.json()["id"]
    assert _wait(client, p, jid)["status"] == "succeeded"
    (trial,) = client.get(f"/api/{pid}/jobs/{jid}/result", headers=h).json()["trials"]
    assert trial["status"] == "succeeded", trial

    r = client.post(f"/api/{pid}/tuner/{jid}/trials/{trial['id']}/apply", headers=h)
    assert r.status_code == 200, r.text
    impulse_id = r.json()["id"]
    _run_job(client, p, "generate-features", {"impulseId": impulse_id})
    trained = _run_job(client, p, "train", {"impulseId": impulse_id, "learnId": 2})["result"]
    validation = {k: v["accuracy"] for k, v in trained["validation"].items()}
    assert trained["split"]["by"] == "sample"
    assert 0 < trial["accuracy"]["int8"] < 1, trial["accuracy"]
    assert validation == trial["accuracy"], (validation, trial["accuracy"])

    # the trial's DSP latency is the profile page's (the profile job that follows training)
    deadline = time.monotonic() + 600
    while True:
        jobs = client.get(f"/api/{pid}/jobs", params={"kind": "profile"}, headers=h).json()["jobs"]
        if jobs and all(j["status"] in ("succeeded", "failed", "cancelled") for j in jobs):
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(1)
    assert [j["status"] for j in jobs] == ["succeeded"], jobs
    prof = client.get(
        f"/api/{pid}/impulses/{impulse_id}/learn/2/profile", params={"board": BOARD}, headers=h
    ).json()
    (entry,) = prof["int8"]["boards"]
    assert entry["dsp"]["latency_ms"] == trial["profile"]["dsp_latency_ms"], (entry, trial)
    if toolchain_available():
        assert trial["profile"]["dsp_latency_ms"] > 0
        assert trial["profile"]["latency_ms"] == pytest.approx(
            trial["profile"]["dsp_latency_ms"] + trial["profile"]["nn_latency_ms"], abs=2e-4
        )
