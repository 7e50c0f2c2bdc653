"""Training and model testing pages (the JSON routes: /api/{projectId}/jobs/train, /jobs/test)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.api.deps import SessionDep, StoreDep, TaskSenderDep
from app.models import Impulse, Job
from app.schemas.impulses import LearnBlock
from app.services import artifacts, learning, readiness
from app.services import impulses as impulse_service
from app.services import jobs as job_service
from app.services.errors import Conflict, Invalid, NotFound
from app.web.deps import PageProjectDep
from app.web.security import CsrfDep, UserDep
from app.web.templating import HtmlRoute, flash, redirect, render
from workers.learn import TrainSettings

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])

# The training settings the form shows (workers.learn.TrainSettings validates them, with its own
# messages).
TRAIN_FIELDS = (
    ("epochs", "int", "Training cycles (epochs)", "Passes over the training data."),
    (
        "learning_rate",
        "float",
        "Learning rate",
        "Step size of the optimiser at the start (cosine decay).",
    ),
    ("batch_size", "int", "Batch size", "Windows per gradient step."),
    (
        "validation_split",
        "float",
        "Validation set size",
        "Fraction of the training data held out (0 … 0.9).",
    ),
    ("seed", "int", "Random seed", "Same seed and data ⇒ same model."),
)


def _defaults() -> dict[str, Any]:
    defaults = TrainSettings()
    return {name: getattr(defaults, name) for name, *_ in TRAIN_FIELDS}


def _pick(session, project, impulse_id: int | None, learn_id: int | None):
    impulses = impulse_service.list_impulses(session, project.id)
    impulse = None
    if impulse_id is not None:
        impulse = impulse_service.get_impulse(session, project.id, impulse_id)
    elif impulses:
        impulse = impulses[-1]
    block = (
        learning.learn_block(impulse, learn_id) if impulse is not None and impulse.learn else None
    )
    return impulses, impulse, block


def _artifact_json(session, store, impulse: Impulse, block: LearnBlock, kind: str) -> dict | None:
    try:
        art = artifacts.learn_artifact(session, impulse, block.id, kind)
    except NotFound:
        return None
    return artifacts.read_json(store, art)


def _jobs(session, project_id: int, kind: str, impulse: Impulse | None) -> list[Job]:
    if impulse is None:
        return []
    rows = session.scalars(
        select(Job)
        .where(Job.project_id == project_id, Job.kind == kind)
        .order_by(Job.id.desc())
        .limit(30)
    )
    return [j for j in rows if j.params.get("impulse_id") == impulse.id][:5]


def _context(
    request: Request,
    session,
    store,
    project,
    user,
    nav: str,
    impulse_id: int | None,
    learn_id: int | None,
    job_id: int | None,
) -> dict[str, Any]:
    impulses, impulse, block = _pick(session, project, impulse_id, learn_id)
    kind = "train" if nav == "training" else "test"
    jobs = _jobs(session, project.id, kind, impulse)
    if job_id is None and jobs and jobs[0].status in ("queued", "running"):
        job_id = jobs[0].id
    live = next((j for j in jobs if j.id == job_id), None)
    ctx: dict[str, Any] = {
        "user": user,
        "project": project,
        "nav": nav,
        "impulses": impulses,
        "impulse": impulse,
        "block": block,
        "jobs": jobs,
        "live_job": live,
        "results": None,
        "test_results": None,
        "blocker": None,
        "downloads": [],
    }
    if impulse is not None and block is not None:
        running = live if live is not None and live.status in ("queued", "running") else None
        blocker = (
            readiness.training_blocker(session, impulse, block)
            if kind == "train"
            else readiness.testing_blocker(session, impulse, block)
        )
        if running is not None:
            blocker = f"job {running.id} is {running.status}; wait for it or cancel it"
        ctx["blocker"] = blocker
        ctx["results"] = _artifact_json(session, store, impulse, block, "training-results")
        ctx["test_results"] = _artifact_json(session, store, impulse, block, "test-results")
        ctx["downloads"] = artifacts.learn_artifacts(session, impulse, block.id)
    return ctx


@router.get("/projects/{project_id}/training")
def training_page(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    store: StoreDep,
    impulse: int | None = None,
    learn: int | None = None,
    job: int | None = None,
) -> Response:
    ctx = _context(request, session, store, project, user, "training", impulse, learn, job)
    settings = ctx["block"].training if ctx["block"] is not None else {}
    ctx.update({"fields": TRAIN_FIELDS, "values": {**_defaults(), **settings}, "errors": {}})
    ctx.update(profile_context(session, store, project, ctx["impulse"], ctx["block"]))
    return render(request, "training.html", ctx)


def profile_context(session, store, project, impulse, block) -> dict[str, Any]:
    """What templates/_profile_table.html needs: the stored profile of the block (the profile
    job's), the project's board and a running profile job."""
    from app.services import profiles

    out: dict[str, Any] = {
        "profile": None,
        "project_board": profiles.project_board(project),
        "profile_job": None,
        "profile_boards": profiles.board_names(),
    }
    if impulse is None or block is None or getattr(block, "is_anomaly", False):
        return out
    out["profile"] = profiles.stored_profile(session, store, impulse, block.id)
    running = [
        j
        for j in _jobs(session, project.id, "profile", impulse)
        if j.params.get("learn_id") == block.id and j.status in ("queued", "running")
    ]
    out["profile_job"] = running[0] if running else None
    return out


def _number(kind: str, raw: str) -> Any:
    try:
        value = float(raw.strip())
    except ValueError:
        return raw
    return int(value) if kind == "int" and value.is_integer() else value


@router.post("/projects/{project_id}/training/{impulse_id}/{learn_id}")
async def start_training(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    store: StoreDep,
    sender: TaskSenderDep,
    impulse_id: int,
    learn_id: int,
    _csrf: CsrfDep,
) -> Response:
    form = await request.form()
    impulse = impulse_service.get_impulse(session, project.id, impulse_id)
    block = learning.learn_block(impulse, learn_id)
    values = {name: str(form.get(name) or "") for name, *_ in TRAIN_FIELDS}
    training = {
        name: _number(kind, values[name]) for name, kind, *_ in TRAIN_FIELDS if values[name].strip()
    }
    new_block = block.model_copy(update={"settings": {**block.settings, "training": training}})
    try:
        impulse_service.validate_learn_settings(new_block)
        if new_block != block:
            impulse_service.replace_learn_block(session, impulse, new_block)
    except Invalid as exc:
        ctx = _context(
            request, session, store, project, user, "training", impulse_id, learn_id, None
        )
        field = next((name for name, *_ in TRAIN_FIELDS if name in exc.message), "")
        ctx.update({"fields": TRAIN_FIELDS, "values": values, "errors": {field: exc.message}})
        return render(request, "training.html", ctx, status_code=422)
    params = {"impulse_id": impulse.id, "learn_id": learn_id}
    try:
        readiness.refuse(readiness.training_blocker(session, impulse, new_block))
        readiness.refuse_duplicate(session, project.id, "train", params)
    except Conflict as exc:
        flash(request, exc.message, "error")
        return redirect(f"/projects/{project.id}/training?impulse={impulse.id}&learn={learn_id}")
    job = job_service.queue_job(session, sender, project.id, "train", params)
    flash(request, f"Training job {job.id} started.", "info")
    return redirect(
        f"/projects/{project.id}/training?impulse={impulse.id}&learn={learn_id}&job={job.id}"
    )


@router.get("/projects/{project_id}/testing")
def testing_page(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    store: StoreDep,
    impulse: int | None = None,
    learn: int | None = None,
    job: int | None = None,
) -> Response:
    return render(
        request,
        "testing.html",
        _context(request, session, store, project, user, "testing", impulse, learn, job),
    )


@router.post("/projects/{project_id}/testing/{impulse_id}/{learn_id}")
def start_testing(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    sender: TaskSenderDep,
    impulse_id: int,
    learn_id: int,
    _csrf: CsrfDep,
) -> Response:
    impulse = impulse_service.get_impulse(session, project.id, impulse_id)
    block = learning.learn_block(impulse, learn_id)
    params = {"impulse_id": impulse.id, "learn_id": learn_id}
    try:
        readiness.refuse(readiness.testing_blocker(session, impulse, block))
        readiness.refuse_duplicate(session, project.id, "test", params)
    except Conflict as exc:
        flash(request, exc.message, "error")
        return redirect(f"/projects/{project.id}/testing?impulse={impulse.id}&learn={learn_id}")
    job = job_service.queue_job(session, sender, project.id, "test", params)
    flash(request, f"Model testing job {job.id} started.", "info")
    return redirect(
        f"/projects/{project.id}/testing?impulse={impulse.id}&learn={learn_id}&job={job.id}"
    )
