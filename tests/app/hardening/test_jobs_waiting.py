"""Issue 10 item 8: a job with no live worker says it is waiting for one, and for how long."""

from __future__ import annotations

import time

import pytest

from tests.app.api.helpers import key

pytestmark = pytest.mark.worker


def _status(client, p, job_id):
    r = client.get(f"/api/{p.project.id}/jobs/{job_id}/status", headers=key(p.api_key))
    assert r.status_code == 200, r.text
    return r.json()["job"]


def _until(client, p, job_id, ok, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _status(client, p, job_id)
        if ok(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id}: {job}")


def test_a_job_without_a_live_worker_says_it_waits_for_one(
    client, make_project, start_worker, settings
):
    p = make_project()
    job_id = client.post(
        f"/api/{p.project.id}/jobs/wait", json={"seconds": 30}, headers=key(p.api_key)
    ).json()["id"]
    time.sleep(1.1)
    job = _status(client, p, job_id)
    assert job["status"] == "queued"
    assert (
        job["waiting"].startswith("waiting for a worker for ")
        and "none has run yet" in job["waiting"]
    ), job["waiting"]
    assert int(job["waiting"].split("for a worker for ")[1].split(" s")[0]) >= 1

    first = start_worker()
    job = _until(client, p, job_id, lambda j: j["status"] == "running")
    assert job["waiting"] is None
    first.kill(9)  # the worker dies with the job: it would show "running" for ever
    time.sleep(settings.job_heartbeat_timeout_s + 0.5)
    job = _status(client, p, job_id)
    assert job["status"] == "running"
    assert job["waiting"].startswith("waiting for a worker: the one running it stopped")
    assert "none is alive" in job["waiting"]

    start_worker()  # its reaper re-queues the job; while it runs again the note is gone
    job = _until(client, p, job_id, lambda j: j["status"] == "running" and j["attempts"] == 2)
    assert job["waiting"] is None
