"""The tuner: start a search, read its trials, apply a trial as a new impulse."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ProjectDep, SessionDep, TaskSenderDep
from app.schemas.jobs import JobStarted, TuneRequest
from app.services import jobs as job_service
from app.services import tuner

router = APIRouter(prefix="/api/{projectId}", tags=["tuner"])


@router.post(
    "/jobs/tune",
    summary="Start a tuner: search windows, processing blocks and networks under a board's limits",
)
def start_tuner(
    body: TuneRequest, project: ProjectDep, session: SessionDep, sender: TaskSenderDep
) -> JobStarted:
    return JobStarted.of(tuner.start(session, sender, project.id, body))


@router.get("/jobs/{jobId}/result", summary="A job's result (a tuner's trials as they end)")
def job_result(jobId: int, project: ProjectDep, session: SessionDep) -> dict:
    job = job_service.get_job(session, project.id, jobId)
    if job.kind == "tune":
        return {"success": True, **tuner.result(session, job)}
    return {"success": True, "status": job.status, "result": job.result}


@router.post(
    "/tuner/{jobId}/trials/{trialId}/apply",
    summary="Create an impulse from a tuner trial (input, processing and learning block)",
)
def apply_trial(
    jobId: int,
    trialId: int,
    project: ProjectDep,
    session: SessionDep,
) -> dict:
    impulse_id = tuner.apply(session, project.id, jobId, trialId)
    return {"success": True, "id": impulse_id, "impulseId": impulse_id}
