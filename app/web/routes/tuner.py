"""The tuner page: start a search, its live trial table and accuracy/latency scatter, apply a
trial."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from app.api.deps import SessionDep, TaskSenderDep
from app.schemas.jobs import TuneRequest
from app.services import jobs as job_service
from app.services import tuner
from app.services.errors import ServiceError
from app.web.deps import PageProjectDep
from app.web.security import CsrfDep, UserDep
from app.web.templating import HtmlRoute, flash, redirect, render
from workers.tune import cost

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])
FIELDS = ("maxLatencyMs", "maxRamBytes", "maxFlashBytes", "maxTrials", "maxEpochs", "timeBudgetS")


def _context(request, project, user, session, job=None, values=None, error=None):
    jobs = job_service.list_jobs(session, project.id, kind="tune", limit=20)
    return {
        "user": user,
        "project": project,
        "nav": "tuner",
        "boards": cost.board_names(),
        "jobs": jobs,
        "job": job,
        "result": tuner.result(session, job) if job else None,
        "values": values or {"board": "Arduino Nano 33 BLE Sense", "maxTrials": 9, "maxEpochs": 30},
        "error": error,
    }


@router.get("/projects/{project_id}/tuner")
def tuner_page(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    job: int | None = None,
) -> Response:
    j = job_service.get_job(session, project.id, job) if job else None
    if j is not None and j.kind != "tune":
        j = None
    return render(request, "tuner.html", _context(request, project, user, session, j))


@router.post("/projects/{project_id}/tuner")
async def start(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    sender: TaskSenderDep,
    _csrf: CsrfDep,
) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("board", "space", *FIELDS)}
    try:
        body = {k: v for k, v in values.items() if v and k != "space"}
        if values["space"]:
            try:
                body["space"] = json.loads(values["space"])
            except ValueError as exc:
                raise ServiceError(f"space: not JSON ({exc})", status=422) from exc
        job = tuner.start(session, sender, project.id, TuneRequest.model_validate(body))
    except ValidationError as exc:
        err = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ctx = _context(request, project, user, session, values=values, error=err)
        return render(request, "tuner.html", ctx, status_code=422)
    except ServiceError as exc:
        ctx = _context(request, project, user, session, values=values, error=exc.message)
        return render(request, "tuner.html", ctx, status_code=exc.status)
    flash(request, f"Tuner job {job.id} started.", "info")
    return redirect(f"/projects/{project.id}/tuner?job={job.id}")


@router.get("/projects/{project_id}/tuner/{job_id}/result.json")
def result_json(
    project: PageProjectDep, user: UserDep, session: SessionDep, job_id: int
) -> Response:
    job = job_service.get_job(session, project.id, job_id)
    return JSONResponse(
        {
            "job": {"status": job.status, "progress": job.progress, "error": job.error},
            **tuner.result(session, job),
        }
    )


@router.post("/projects/{project_id}/tuner/{job_id}/trials/{trial_id}/apply")
def apply(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    job_id: int,
    trial_id: int,
    _csrf: CsrfDep,
) -> Response:
    impulse_id = tuner.apply(session, project.id, job_id, trial_id)
    flash(
        request,
        f"Impulse {impulse_id} created from trial {trial_id}: generate its features and train it.",
        "info",
    )
    return redirect(f"/projects/{project.id}/impulse/{impulse_id}")
