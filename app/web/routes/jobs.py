"""Jobs: the list with status and progress, one job with its live log (SSE from the JSON API),
cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.api.deps import SessionDep
from app.services import jobs as job_service
from app.services.errors import BadRequest
from app.web.deps import PageProjectDep
from app.web.security import CsrfDep, UserDep
from app.web.templating import HtmlRoute, flash, redirect, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])


@router.get("/projects/{project_id}/jobs")
def job_list(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    jobs = job_service.list_jobs(session, project.id, limit=limit, kind=kind or None)
    return render(
        request,
        "jobs.html",
        {"user": user, "project": project, "nav": "jobs", "jobs": jobs, "kind": kind or ""},
    )


@router.get("/projects/{project_id}/jobs/{job_id}")
def job_page(
    request: Request, project: PageProjectDep, user: UserDep, session: SessionDep, job_id: int
) -> Response:
    job = job_service.get_job(session, project.id, job_id)
    lines = job_service.log_lines(session, job.id)
    return render(
        request,
        "job.html",
        {"user": user, "project": project, "nav": "jobs", "job": job, "lines": lines},
    )


@router.post("/projects/{project_id}/jobs/{job_id}/cancel")
def cancel(
    request: Request, project: PageProjectDep, session: SessionDep, job_id: int, _csrf: CsrfDep
) -> Response:
    job = job_service.get_job(session, project.id, job_id)
    try:
        job_service.request_cancel(session, job)
        flash(request, f"Cancellation of job {job.id} requested.", "info")
    except BadRequest as exc:
        flash(request, f"Job {job.id}: {exc.message}", "error")
    return redirect(f"/projects/{project.id}/jobs/{job.id}")
