"""Queueing a job: the row lands in the caller's transaction, the message after it commits (real
broker)."""

from __future__ import annotations

import json
import time

import pytest
from fastapi import APIRouter
from sqlalchemy import select

from app.api.deps import SessionDep, TaskSenderDep
from app.core.db import session_factory
from app.models import Job
from app.services import jobs as job_service
from app.services.errors import BadRequest
from tests.app.api.helpers import key


def broker_messages(settings, queue: str = "default") -> list[dict]:
    """The messages waiting in `queue` of the test backend's real broker (files, or a Redis
    list)."""
    if settings.broker_url.startswith("filesystem"):
        folder = settings.broker_dir / "queue"
        names = sorted(
            f.name
            for f in folder.iterdir()
            if f.name.endswith(f".{queue}.msg") and not f.name.startswith(".")
        )
        return [json.loads((folder / n).read_text()) for n in names]
    import redis

    return [json.loads(m) for m in redis.Redis.from_url(settings.broker_url).lrange(queue, 0, -1)]


def jobs_in_db(settings) -> list[Job]:
    with session_factory(settings)() as s:
        return list(s.scalars(select(Job)))


def test_a_request_that_fails_after_queueing_leaves_no_job_and_no_message(
    app, client, make_project, settings
):
    router = APIRouter()

    @router.post("/test-only/{project_id}/queue-then-fail")
    def queue_then_fail(project_id: int, session: SessionDep, sender: TaskSenderDep) -> dict:
        job_service.queue_job(session, sender, project_id, "wait", {"seconds": 0})
        raise BadRequest("something after the job was queued went wrong")

    app.include_router(router)
    p = make_project()
    r = client.post(f"/test-only/{p.project.id}/queue-then-fail")
    assert r.status_code == 400 and "went wrong" in r.json()["error"]
    assert jobs_in_db(settings) == []
    assert broker_messages(settings) == []


def test_a_queued_message_names_a_committed_row(client, make_project, settings):
    p = make_project()
    r = client.post(f"/api/{p.project.id}/jobs/wait", json={"seconds": 0}, headers=key(p.api_key))
    assert r.status_code == 200, r.text
    job_id = r.json()["id"]
    [job] = jobs_in_db(settings)
    [message] = broker_messages(settings)
    assert job.id == job_id and job.status == "queued"
    assert (
        message["headers"]["id"] == job.celery_task_id
        and message["headers"]["task"] == "system.wait"
    )
    assert message["headers"]["argsrepr"] == f"[{job_id}]"


@pytest.mark.worker
def test_the_worker_finds_the_row_of_every_job_queued_by_a_request(
    client, make_project, worker, settings
):
    p = make_project()
    url = f"/api/{p.project.id}/jobs/wait"
    ids = [
        client.post(url, json={"seconds": 0}, headers=key(p.api_key)).json()["id"] for _ in range(3)
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = {j.id: j.status for j in jobs_in_db(settings)}
        if all(status[i] == "succeeded" for i in ids):
            break
        time.sleep(0.2)
    assert [status[i] for i in ids] == ["succeeded"] * 3


def test_a_broker_that_refuses_the_message_fails_the_committed_job_with_the_reason(
    settings, make_project
):
    from fastapi.testclient import TestClient

    from app.main import create_app

    unreachable = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    p = make_project()
    with TestClient(create_app(unreachable)) as client:
        r = client.post(
            f"/api/{p.project.id}/jobs/wait", json={"seconds": 0}, headers=key(p.api_key)
        )
        assert r.status_code == 200, r.text
        status = client.get(
            f"/api/{p.project.id}/jobs/{r.json()['id']}/status", headers=key(p.api_key)
        )
        job = status.json()["job"]
    assert job["status"] == "failed" and job["error"].startswith("could not queue the job: ")
    assert job["finished"] is not None
    with session_factory(settings)() as s:
        assert job_service.log_lines(s, job["id"])[-1].line == job["error"]
