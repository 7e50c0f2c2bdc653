"""Guardrails (issue 13 item 4): a job that cannot do its work is refused with 409 and the reason
before it is queued; a second start of a running job is refused with the running job's id; a
failed job's message is one line without server paths, its traceback folded away in the log."""

from __future__ import annotations

import numpy as np

from app.core.db import session_scope
from tests.app.api.helpers import acquisition, key

IMPULSE = {
    "input": {
        "type": "time-series",
        "window_size_ms": 20,
        "window_increase_ms": 20,
        "frequency_hz": 100,
    },
    "dsp": [{"id": 1, "block": "flatten"}],
    "learn": [
        {"id": 2, "type": "classification", "dsp": [1], "settings": {"training": {"epochs": 2}}}
    ],
}


def _data(client, p) -> None:
    rng = np.random.default_rng(0)
    for label, sign in (("yes", 1.0), ("no", -1.0)):
        for i in range(4):
            values = (sign + 0.1 * rng.standard_normal((4, 3))).round(3).tolist()
            r = client.post(
                "/api/training/data",
                content=acquisition(values=values),
                headers={
                    **key(p.api_key),
                    "x-file-name": f"{label}.{i}.json",
                    "x-label": label,
                    "content-type": "application/json",
                },
            )
            assert r.status_code == 200, r.text


def test_training_testing_building_refused_with_the_reason(client, make_project, settings, store):
    from app.services import features, learning

    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _data(client, p)
    iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
    train = {"impulseId": iid, "learnId": 2}
    build = {**train, "engine": "compiled", "modelType": "int8", "target": "linux-x86_64"}

    r = client.post(f"/api/{pid}/jobs/train", json=train, headers=h)
    assert r.status_code == 409 and r.json()["error"] == (
        "no features for processing block 'Flatten' yet: generate features first "
        "(Impulse design → Generate features)"
    ), r.text
    r = client.post(f"/api/{pid}/jobs/test", json=train, headers=h)
    assert r.status_code == 409 and "has no trained model yet: train it first" in r.json()["error"]
    r = client.post(f"/api/{pid}/jobs/build-ondevice-model", json=build, headers=h)
    assert r.status_code == 409 and "has no trained model yet" in r.json()["error"]

    uow = lambda: session_scope(settings)  # noqa: E731
    features.generate(uow, store, pid, iid)
    changed = {"input": {**IMPULSE["input"], "window_size_ms": 30, "window_increase_ms": 30}}
    assert client.put(f"/api/{pid}/impulses/{iid}", json=changed, headers=h).status_code == 200
    r = client.post(f"/api/{pid}/jobs/train", json=train, headers=h)
    assert r.status_code == 409 and "made with an earlier design" in r.json()["error"]

    features.generate(uow, store, pid, iid)
    learning.train(uow, store, pid, iid, 2, log=lambda line: None)
    again = {"learn": [{**IMPULSE["learn"][0], "settings": {"training": {"epochs": 3}}}]}
    assert client.put(f"/api/{pid}/impulses/{iid}", json=again, headers=h).status_code == 200
    r = client.post(f"/api/{pid}/jobs/build-ondevice-model", json=build, headers=h)
    assert r.status_code == 409 and r.json()["error"].startswith(
        "the model of 'classification' was trained on revision 2 of the impulse, which is now "
        "at revision 3: train it again"
    ), r.text
    assert client.get(f"/api/{pid}/jobs", headers=h).json()["jobs"] == []  # nothing queued


def test_a_second_start_of_a_running_job_is_409_with_its_id(client, make_project, settings, store):
    from app.services import features

    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _data(client, p)
    iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
    features.generate(lambda: session_scope(settings), store, pid, iid)
    first = client.post(f"/api/{pid}/jobs/train", json={"impulseId": iid}, headers=h)
    assert first.status_code == 200, first.text  # queued (no worker in this test)
    second = client.post(f"/api/{pid}/jobs/train", json={"impulseId": iid}, headers=h)
    assert second.status_code == 409
    assert second.json()["jobId"] == first.json()["id"]
    assert f"already queued: job {first.json()['id']}" in second.json()["error"]
    gen = client.post(f"/api/{pid}/jobs/generate-features", json={"impulseId": iid}, headers=h)
    assert gen.status_code == 200  # another kind of job is fine
    gen2 = client.post(f"/api/{pid}/jobs/generate-features", json={"impulseId": iid}, headers=h)
    assert gen2.status_code == 409 and gen2.json()["jobId"] == gen.json()["id"]
    cancel = client.post(f"/api/{pid}/jobs/{first.json()['id']}/cancel", headers=h)
    assert cancel.status_code == 200
    third = client.post(f"/api/{pid}/jobs/train", json={"impulseId": iid}, headers=h)
    assert third.status_code == 200, third.text


def test_a_failed_job_shows_one_line_without_server_paths(settings, make_project, monkeypatch):
    from app.core.config import get_settings
    from app.services import jobs as job_service
    from tests.conftest import worker_env
    from workers.tasks.base import one_line, redact_paths, run_job

    for name, value in worker_env(settings).items():  # run_job reads the process's settings
        if name.startswith("TINYFORGE_"):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    monkeypatch.setattr(get_settings, "__wrapped__", get_settings.__wrapped__)

    here = __file__
    assert (
        redact_paths(f'File "{here}", line 3') == 'File "tests/app/api/test_guardrails.py", line 3'
    )
    assert redact_paths("/usr/lib/python3/dist-packages/x/y.py") == "…/y.py"
    assert redact_paths("/v/lib/python3.11/site-packages/keras/a.py") == "site-packages/keras/a.py"
    assert one_line("first\nsecond") == "first" and len(one_line("x" * 1000)) == 300

    p = make_project()
    with session_scope(settings) as s:
        job_id = job_service.create_job(s, p.project.id, "wait").id

    def fails(_ctx):
        np.load("/srv/tinyforge-data/blobs/projects/1/features.npy")

    run_job(job_id, fails)
    with session_scope(settings) as s:
        job = job_service.get_job(s, p.project.id, job_id)
        lines = [row.line for row in job_service.log_lines(s, job_id)]
        assert job.status == "failed"
        assert job.error == "[Errno 2] No such file or directory: '…/features.npy'"
    get_settings.cache_clear()
    tb = "\n".join(lines)
    assert "Traceback (most recent call last)" in tb and lines[-1] == "failed: " + job.error
    assert "/srv/" not in tb and "/work/" not in tb and "/usr/" not in tb, tb
    assert 'File "tests/app/api/test_guardrails.py"' in tb


def test_a_build_that_leaves_out_an_untrained_anomaly_block_says_so(
    client, make_project, settings, store
):
    from app.services import deployment, features, learning

    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _data(client, p)
    body = {
        **IMPULSE,
        "learn": [
            IMPULSE["learn"][0],
            {"id": 3, "type": "anomaly-kmeans", "dsp": [1], "settings": {"n_clusters": 2}},
        ],
    }
    iid = client.post(f"/api/{pid}/impulses", json=body, headers=h).json()["id"]
    uow = lambda: session_scope(settings)  # noqa: E731
    features.generate(uow, store, pid, iid)
    learning.train(uow, store, pid, iid, 2, log=lambda line: None)
    lines: list[str] = []
    out = deployment.build(
        uow,
        store,
        pid,
        {
            "impulseId": iid,
            "learnId": 2,
            "engine": "compiled",
            "modelType": "int8",
            "target": "linux-x86_64",
        },
        log=lines.append,
    )
    reason = "anomaly block 'anomaly-kmeans' is not trained: train it to include it"
    assert out["manifest"]["left_out"] == [reason]
    assert f"left out of the library: {reason}" in lines
