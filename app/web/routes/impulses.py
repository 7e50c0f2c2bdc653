"""Impulse design: the form from the blocks' declarations, DSP preview, feature generation, feature
explorer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.api.deps import SessionDep, StoreDep, TaskSenderDep
from app.models import Impulse, Job
from app.schemas.impulses import ANOMALY_TYPES, ImpulseCreate, ImpulseUpdate, LearnBlockSpec
from app.services import artifacts, readiness
from app.services import features as feature_service
from app.services import impulses as impulse_service
from app.services import jobs as job_service
from app.services import samples as sample_service
from app.services.errors import Invalid, NotFound
from app.web.deps import PageProjectDep
from app.web.impulse_form import (
    declarations,
    design_from_form,
    form_errors,
    parse,
    values_from_impulse,
)
from app.web.security import CsrfDep, UserDep
from app.web.templating import HtmlRoute, flash, redirect, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])

PREVIEW_SAMPLES = 500


def _page(
    request: Request,
    session,
    project,
    user,
    impulse: Impulse | None,
    *,
    values=None,
    errors=None,
    status_code: int = 200,
    job_id: int | None = None,
) -> Response:
    decl = declarations()
    features: dict[int, dict | None] = {}
    jobs: list[Job] = []
    if impulse is not None:
        for b in impulse.dsp:
            try:
                art = artifacts.feature_artifact(session, impulse, b.id)
                current = impulse_service.feature_config_hash(impulse.input, b)
                features[b.id] = {
                    **art.meta,
                    "stale": art.meta.get("config_hash", current) != current,
                }
            except NotFound:
                features[b.id] = None
        jobs = [
            j
            for j in session.scalars(
                select(Job)
                .where(Job.project_id == project.id, Job.kind == "generate-features")
                .order_by(Job.id.desc())
                .limit(20)
            )
            if j.params.get("impulse_id") == impulse.id
        ][:5]
        if job_id is None and jobs and jobs[0].status in ("queued", "running"):
            job_id = jobs[0].id
    resampled = (
        _resampling_note(feature_service.resampling(session, project.id, impulse.input))
        if impulse is not None
        else None
    )
    dsp_costs = _dsp_costs(request, session, project, impulse)
    samples, _ = sample_service.list_samples(
        session, project.id, sample_service.SampleFilter(), limit=PREVIEW_SAMPLES
    )
    return render(
        request,
        "impulse.html",
        {
            "user": user,
            "project": project,
            "nav": "impulse",
            "impulse": impulse,
            "impulses": impulse_service.list_impulses(session, project.id),
            "decl": decl,
            "values": values
            if values is not None
            else values_from_impulse(
                impulse, decl, impulse_service.data_defaults(session, project.id)
            ),
            "errors": errors or {},
            "features": features,
            "cards": impulse_service.design_cards(session, impulse) if impulse else [],
            "feature_jobs": jobs,
            "job_id": job_id,
            "samples": samples,
            "dsp_costs": dsp_costs,
            "resampled": resampled,
            "project_board": dsp_costs.pop("_board", None),
        },
        status_code=status_code,
    )


def _resampling_note(r: dict | None) -> str | None:
    """`features.resampling` in words: "2 samples at 10 Hz up-sampled 10×" (each rate)."""
    if not r:
        return None
    to = float(r["to_hz"])
    parts = []
    for hz, n in sorted(r["from_hz"].items(), key=lambda kv: float(kv[0])):
        f = float(hz)
        ratio = max(f, to) / min(f, to)
        parts.append(
            f"{n} sample{'s' if n != 1 else ''} at {hz} Hz "
            f"{'up' if f < to else 'down'}-sampled {ratio:.3g}×"
        )
    return "; ".join(parts)


def _dsp_costs(request, session, project, impulse) -> dict:
    """Per processing block: its cost on the project's board (the `dsp` part of the board's
    entry), from the profile job of a learning block it feeds alone (issue 11); `_board`: the
    board's name."""
    from app.api.deps import get_blob_store, settings_dep
    from app.services import profiles

    board = profiles.project_board(project)
    out: dict = {"_board": board}
    if impulse is None:
        return out
    store = get_blob_store(settings_dep(request))
    for learn in impulse.learn:
        if len(learn.dsp) != 1 or learn.dsp[0] in out:
            continue
        try:
            art = artifacts.learn_artifact(session, impulse, learn.id, "profile")
        except NotFound:
            continue
        prof = artifacts.read_json(store, art)
        kind = prof.get("int8") or prof.get("float32") or {}
        entry = next((b for b in kind.get("boards", []) if b["board"] == board), None)
        if entry and entry["dsp"]["cycles"] is not None:
            out[learn.dsp[0]] = {**entry["dsp"], "method": "measured"}
    return out


@router.get("/projects/{project_id}/impulse")
def impulse_index(
    request: Request, project: PageProjectDep, user: UserDep, session: SessionDep, new: bool = False
) -> Response:
    impulses = impulse_service.list_impulses(session, project.id)
    if impulses and not new:
        return redirect(f"/projects/{project.id}/impulse/{impulses[-1].id}")
    return _page(request, session, project, user, None)


@router.get("/projects/{project_id}/impulse/{impulse_id}")
def impulse_page(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    impulse_id: int,
    job: int | None = None,
) -> Response:
    impulse = impulse_service.get_impulse(session, project.id, impulse_id)
    return _page(request, session, project, user, impulse, job_id=job)


async def _form_lists(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}


@router.post("/projects/{project_id}/impulse")
async def create_impulse(
    request: Request, project: PageProjectDep, user: UserDep, session: SessionDep, _csrf: CsrfDep
) -> Response:
    body, values = design_from_form(await _form_lists(request), declarations())
    try:
        impulse = impulse_service.create_impulse(session, project.id, parse(ImpulseCreate, body))
    except Invalid as exc:
        return _page(
            request,
            session,
            project,
            user,
            None,
            values=values,
            errors=form_errors(exc, body),
            status_code=422,
        )
    flash(request, f"Impulse '{impulse.name}' saved. Generate its features next.", "success")
    return redirect(f"/projects/{project.id}/impulse/{impulse.id}")


def _keep_ids(impulse: Impulse, update: ImpulseUpdate) -> None:
    """Give the form's blocks the ids of the blocks they replace, so that features and trained
    models of unchanged blocks stay attached. Processing blocks match by position; the form's
    learning blocks (one classifier/regressor, one anomaly block) match the impulse's first of each
    kind and read every processing block; learning blocks the API added beside them are kept."""
    next_id = max([b.id for b in impulse.dsp] + [b.id for b in impulse.learn], default=0) + 1
    dsp_ids = []
    for i, block in enumerate(update.dsp or []):
        if i < len(impulse.dsp):
            block.id = impulse.dsp[i].id
        else:
            block.id, next_id = next_id, next_id + 1
        dsp_ids.append(block.id)
    olds = {
        kind: next((b for b in impulse.learn if b.is_anomaly == kind), None)
        for kind in (False, True)
    }
    learn = []
    for new in update.learn or []:
        old = olds[new.type in ANOMALY_TYPES]
        if old is not None and old.type == new.type:
            learn.append(LearnBlockSpec(**{**old.model_dump(), "dsp": dsp_ids}))
        elif old is not None:  # another type in its place: its settings do not apply
            learn.append(LearnBlockSpec(id=old.id, type=new.type, dsp=dsp_ids))
        else:
            learn.append(LearnBlockSpec(id=next_id, type=new.type, dsp=dsp_ids))
            next_id += 1
    shown = [b for b in olds.values() if b is not None]
    for other in impulse.learn:
        if other not in shown:
            refs = [d for d in other.dsp if d in dsp_ids] or dsp_ids
            learn.append(LearnBlockSpec(**{**other.model_dump(), "dsp": refs}))
    update.learn = learn


@router.post("/projects/{project_id}/impulse/{impulse_id}")
async def update_impulse(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    impulse_id: int,
    _csrf: CsrfDep,
) -> Response:
    impulse = impulse_service.get_impulse(session, project.id, impulse_id)
    body, values = design_from_form(await _form_lists(request), declarations())
    before = impulse.revision
    try:
        update = parse(ImpulseUpdate, body)
        _keep_ids(impulse, update)
        impulse_service.update_impulse(session, impulse, update)
    except Invalid as exc:
        return _page(
            request,
            session,
            project,
            user,
            impulse,
            values=values,
            errors=form_errors(exc, body),
            status_code=422,
        )
    changed = impulse.revision != before
    flash(
        request,
        "Impulse saved" + (": the design changed, generate features again." if changed else "."),
        "success" if not changed else "warning",
    )
    return redirect(f"/projects/{project.id}/impulse/{impulse.id}")


@router.post("/projects/{project_id}/impulse/{impulse_id}/generate")
def generate_features(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    sender: TaskSenderDep,
    impulse_id: int,
    _csrf: CsrfDep,
) -> Response:
    impulse = impulse_service.get_impulse(session, project.id, impulse_id)
    params = {"impulse_id": impulse.id, "dsp_id": None}
    running = readiness.running_job(session, project.id, "generate-features", params)
    if running is not None:
        flash(request, f"Generating features already: job {running.id}.", "warning")
        return redirect(f"/projects/{project.id}/impulse/{impulse.id}?job={running.id}#features")
    job = job_service.queue_job(session, sender, project.id, "generate-features", params)
    return redirect(f"/projects/{project.id}/impulse/{impulse.id}?job={job.id}#features")


@router.post("/projects/{project_id}/impulse/{impulse_id}/delete")
def delete_impulse(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    store: StoreDep,
    impulse_id: int,
    _csrf: CsrfDep,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    impulse = impulse_service.get_impulse(session, project.id, impulse_id)
    if confirm != "delete":
        flash(request, "Tick the box to confirm deleting the impulse.", "error")
        return redirect(f"/projects/{project.id}/impulse/{impulse.id}")
    name = impulse.name
    impulse_service.delete_impulse(session, store, impulse)
    flash(request, f"Impulse '{name}' deleted.", "info")
    return redirect(f"/projects/{project.id}/impulse?new=1")
