"""Jobs on a real Celery worker process: progress, logs, live stream, cancel, and dead workers."""

from __future__ import annotations

import json
import time

import pytest

from tests.app.api.helpers import acquisition, key

pytestmark = pytest.mark.worker


def _wait(client, p, job_id, statuses=("succeeded", "failed", "cancelled"), timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(
            f"/api/{p.project.id}/jobs/{job_id}/status", headers=key(p.api_key)
        ).json()["job"]
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


def _log(client, p, job_id):
    return [
        ln["data"]
        for ln in client.get(
            f"/api/{p.project.id}/jobs/{job_id}/stdout", headers=key(p.api_key)
        ).json()["stdout"]
    ]


def test_summarize_job_reads_every_sample(client, make_project, worker):
    p = make_project()
    files = [
        (
            "data",
            (
                f"{lab}.{i}.json",
                acquisition(values=[[float(i), -1.0, 2.0], [0.5, 4.0, 5.0]]),
                "application/json",
            ),
        )
        for i in range(3)
        for lab in ("idle", "wave")
    ]
    client.post("/api/training/files", files=files, headers=key(p.api_key))
    job_id = client.post(f"/api/{p.project.id}/jobs/summarize-data", headers=key(p.api_key)).json()[
        "id"
    ]
    job = _wait(client, p, job_id)
    assert job["status"] == "succeeded" and job["progress"] == 100 and job["attempts"] == 1
    assert job["result"]["samples"] == 6
    assert job["result"]["labels"]["idle"]["min"] == [0.0, -1.0, 2.0]
    assert job["result"]["labels"]["wave"]["max"] == [2.0, 4.0, 5.0]
    lines = _log(client, p, job_id)
    assert (
        lines[0].startswith("queued")
        and "read 6/6 samples" in lines
        and lines[-1] == "finished successfully"
    )
    listed = client.get(f"/api/{p.project.id}/jobs", headers=key(p.api_key)).json()["jobs"]
    assert [j["id"] for j in listed] == [job_id]


def test_cancel_a_running_job(client, make_project, worker):
    p = make_project()
    job_id = client.post(
        f"/api/{p.project.id}/jobs/wait", json={"seconds": 30}, headers=key(p.api_key)
    ).json()["id"]
    _wait(client, p, job_id, statuses=("running",))
    r = client.post(f"/api/{p.project.id}/jobs/{job_id}/cancel", headers=key(p.api_key))
    assert r.status_code == 200
    job = _wait(client, p, job_id, timeout=20)
    assert job["status"] == "cancelled" and job["progress"] < 100
    assert "cancellation requested" in _log(client, p, job_id)
    r = client.post(f"/api/{p.project.id}/jobs/{job_id}/cancel", headers=key(p.api_key))
    assert r.status_code == 400 and "already finished" in r.json()["error"]


def test_live_stream_sends_log_status_and_end(live_server, make_project, worker):
    import httpx

    p = make_project()
    with httpx.Client(base_url=live_server, headers=key(p.api_key), timeout=30) as http:
        job_id = http.post(f"/api/{p.project.id}/jobs/wait", json={"seconds": 1.5}).json()["id"]
        events = []
        with http.stream("GET", f"/api/{p.project.id}/jobs/{job_id}/stream") as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            event = None
            for line in resp.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    events.append((event, json.loads(line[6:])))
    kinds = [e for e, _ in events]
    assert kinds[-1] == "end" and events[-1][1]["status"] == "succeeded"
    assert "log" in kinds and "status" in kinds
    assert any(d.get("line", "").startswith("waited") for e, d in events if e == "log")
    statuses = [d["status"] for e, d in events if e == "status"]
    assert statuses[-1] == "succeeded" and "running" in statuses


def test_a_job_whose_worker_dies_is_retried_on_another_worker(
    client, make_project, start_worker, settings
):
    p = make_project()
    first = start_worker()
    job_id = client.post(
        f"/api/{p.project.id}/jobs/wait", json={"seconds": 3}, headers=key(p.api_key)
    ).json()["id"]
    _wait(client, p, job_id, statuses=("running",))
    first.kill(9)  # the whole worker, parent and child, without a chance to clean up
    time.sleep(settings.job_heartbeat_timeout_s + 0.5)
    start_worker()  # its reaper finds the stale job at start-up and re-queues it
    job = _wait(client, p, job_id, timeout=60)
    assert job["status"] == "succeeded" and job["attempts"] == 2, job
    assert any("worker lost" in line and "re-queued" in line for line in _log(client, p, job_id))


def test_a_job_whose_worker_dies_too_often_fails_with_the_reason(
    client, make_project, start_worker, settings
):
    p = make_project()
    first = start_worker(job_max_attempts=1)
    job_id = client.post(
        f"/api/{p.project.id}/jobs/wait", json={"seconds": 30}, headers=key(p.api_key)
    ).json()["id"]
    _wait(client, p, job_id, statuses=("running",))
    first.kill(9)
    time.sleep(settings.job_heartbeat_timeout_s + 0.5)
    start_worker(job_max_attempts=1)
    job = _wait(client, p, job_id, statuses=("failed",), timeout=30)
    assert "worker lost" in job["error"] and "1 attempt" in job["error"]


def test_killed_pool_child_is_redelivered_and_retried(client, make_project, worker):
    """Only the pool process running the job dies (as when the kernel OOM-kills a training process):
    the job is retried (message re-delivered, or re-queued by the reaper) and succeeds."""
    import os
    import signal

    p = make_project()
    job_id = client.post(
        f"/api/{p.project.id}/jobs/wait", json={"seconds": 3}, headers=key(p.api_key)
    ).json()["id"]
    job = _wait(client, p, job_id, statuses=("running",))
    pid = int(job["worker"].rsplit(" pid ", 1)[1])
    assert pid != worker.proc.pid, "the job runs in a pool child, not in the worker's main process"
    os.kill(pid, signal.SIGKILL)
    job = _wait(client, p, job_id, timeout=60)
    assert job["status"] == "succeeded" and job["attempts"] == 2, (job, worker.log()[-2000:])


def test_job_routes_errors(client, make_project):
    p = make_project()
    r = client.get(f"/api/{p.project.id}/jobs/12345/status", headers=key(p.api_key))
    assert r.status_code == 404 and "job 12345" in r.json()["error"]
    r = client.post(f"/api/{p.project.id}/jobs/wait", json={"seconds": -1}, headers=key(p.api_key))
    assert r.status_code == 422 and "seconds" in r.json()["error"]
