from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from app.api.deps import ProjectDep, SessionDep, SettingsDep, TaskSenderDep
from app.core.db import session_factory
from app.schemas.ei import iso, job_json
from app.schemas.jobs import JobStarted, WaitRequest
from app.services import jobs as job_service

router = APIRouter(prefix="/api/{projectId}/jobs", tags=["jobs"])


@router.get("", summary="Jobs of the project, newest first")
def list_jobs(
    project: ProjectDep,
    session: SessionDep,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    jobs = job_service.list_jobs(session, project.id, limit=limit, offset=offset, kind=kind)
    return {"success": True, "jobs": [job_json(j) for j in jobs], "totalJobCount": len(jobs)}


@router.post(
    "/summarize-data",
    summary="Start a job that reads every sample back and summarises the data set",
)
def summarize_data(project: ProjectDep, session: SessionDep, sender: TaskSenderDep) -> JobStarted:
    return JobStarted.of(job_service.queue_job(session, sender, project.id, "summarize-data"))


@router.post(
    "/wait",
    summary="Diagnostic job: waits `seconds`, reporting progress (checks the worker pipeline)",
)
def wait_job(
    project: ProjectDep, session: SessionDep, sender: TaskSenderDep, body: WaitRequest | None = None
) -> JobStarted:
    params = {"seconds": (body or WaitRequest()).seconds}
    return JobStarted.of(job_service.queue_job(session, sender, project.id, "wait", params))


@router.get("/{jobId}/status", summary="A job's status and progress")
def job_status(jobId: int, project: ProjectDep, session: SessionDep, settings: SettingsDep) -> dict:
    job = job_service.get_job(session, project.id, jobId)
    waiting = job_service.waiting_note(
        session, job, heartbeat_timeout_s=settings.job_heartbeat_timeout_s
    )
    return {"success": True, "job": {**job_json(job), "waiting": waiting}}


@router.get("/{jobId}/stdout", summary="A job's log lines")
def job_stdout(
    jobId: int,
    project: ProjectDep,
    session: SessionDep,
    after: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    job_service.get_job(session, project.id, jobId)
    lines = job_service.log_lines(session, jobId, after_id=after)
    return {
        "success": True,
        "stdout": [
            {"id": ln.id, "created": iso(ln.created_at), "data": ln.line, "logLevel": "info"}
            for ln in lines
        ],
        "totalCount": len(lines),
    }


@router.post("/{jobId}/cancel", summary="Cancel a queued or running job")
def cancel(jobId: int, project: ProjectDep, session: SessionDep) -> dict:
    job = job_service.request_cancel(session, job_service.get_job(session, project.id, jobId))
    return {"success": True, "job": job_json(job)}


@router.get("/{jobId}/stream", summary="Live log and status as server-sent events")
async def stream(
    jobId: int,
    request: Request,
    project: ProjectDep,
    session: SessionDep,
    settings: SettingsDep,
) -> StreamingResponse:
    job_service.get_job(session, project.id, jobId)
    factory = session_factory(settings)

    def poll(after: int) -> tuple[list, dict]:
        with factory() as s:
            lines = job_service.log_lines(s, jobId, after_id=after, limit=500)
            job = job_service.get_job(s, project.id, jobId)
            waiting = job_service.waiting_note(
                s, job, heartbeat_timeout_s=settings.job_heartbeat_timeout_s
            )
            return [(ln.id, ln.line) for ln in lines], {**job_json(job), "waiting": waiting}

    async def events():
        after, last_state = 0, None
        while True:
            lines, job = await run_in_threadpool(poll, after)
            for line_id, text in lines:
                after = line_id
                yield f"id: {line_id}\nevent: log\ndata: {json.dumps({'line': text})}\n\n"
            state = (job["status"], job["progress"], job["waiting"])
            if state != last_state:
                last_state = state
                data = {k: job[k] for k in ("status", "progress", "waiting")}
                yield f"event: status\ndata: {json.dumps(data)}\n\n"
            if job["status"] in ("succeeded", "failed", "cancelled") and not lines:
                yield (
                    "event: end\ndata: "
                    f"{json.dumps({'status': job['status'], 'error': job['error']})}\n\n"
                )
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )
