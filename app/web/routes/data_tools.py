"""Data acquisition forms beyond one sample at a time: bulk edits, crop and split (they work without
JavaScript; the page's script sends the same requests to the JSON API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.api.deps import SessionDep, StoreDep
from app.services import sample_edits
from app.services import samples as sample_service
from app.services.errors import BadRequest, NotFound
from app.web.deps import PageProjectDep
from app.web.security import CsrfDep
from app.web.templating import HtmlRoute, data_back_target, flash, redirect

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])


@router.post("/projects/{project_id}/data/bulk")
def bulk(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    store: StoreDep,
    _csrf: CsrfDep,
    action: Annotated[str, Form()] = "",
    ids: Annotated[list[int] | None, Form()] = None,
    label: Annotated[str, Form(max_length=255)] = "",
    category: Annotated[str, Form()] = "",
    back: Annotated[str | None, Form()] = None,
) -> Response:
    target = data_back_target(project.id, back)
    try:
        if action == "label":
            n = sample_edits.bulk_relabel(session, project.id, ids or [], label)
            flash(
                request,
                f"{n} sample{'s' if n != 1 else ''} now labelled '{label.strip()}'.",
                "success",
            )
        elif action == "move":
            n = sample_edits.bulk_move(session, project.id, ids or [], category)
            flash(request, f"{n} sample{'s' if n != 1 else ''} moved to {category}.", "success")
        elif action == "delete":
            n = sample_edits.bulk_delete(session, store, project.id, ids or [])
            flash(request, f"{n} sample{'s' if n != 1 else ''} deleted.", "success")
        else:
            raise BadRequest("choose what to do with the selected samples: label, move or delete")
    except (BadRequest, NotFound) as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return redirect(target)


def _ms(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a number of milliseconds") from exc


@router.post("/projects/{project_id}/data/{sample_id}/crop")
def crop(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    store: StoreDep,
    sample_id: int,
    _csrf: CsrfDep,
    start_ms: Annotated[str, Form()] = "",
    end_ms: Annotated[str, Form()] = "",
) -> Response:
    sample = sample_service.get_sample(session, project.id, sample_id)
    try:
        new_id = sample_edits.crop(
            session, store, project, sample, _ms(start_ms, "start"), _ms(end_ms, "end")
        )
    except BadRequest as exc:
        session.rollback()
        flash(request, f"Crop: {exc.message}", "error")
        return redirect(f"/projects/{project.id}/data/{sample_id}")
    flash(request, f"Cropped to {float(start_ms):g}–{float(end_ms):g} ms.", "success")
    return redirect(f"/projects/{project.id}/data/{new_id}")


@router.post("/projects/{project_id}/data/{sample_id}/split")
def split(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    store: StoreDep,
    sample_id: int,
    _csrf: CsrfDep,
    segments: Annotated[str, Form()] = "",
) -> Response:
    """`segments`: one `start-end` range in ms per line (what "Find events" fills in)."""
    sample = sample_service.get_sample(session, project.id, sample_id)
    try:
        ranges = []
        for line in (ln.strip() for ln in segments.replace(",", "\n").splitlines()):
            if line:
                a, sep, b = line.partition("-")
                if not sep:
                    raise BadRequest(f"'{line}' is not a range like 1200-2200")
                ranges.append((_ms(a, "a range's start"), _ms(b, "a range's end")))
        ids = sample_edits.split(session, store, project, sample, ranges)
    except BadRequest as exc:
        session.rollback()
        flash(request, f"Split: {exc.message}", "error")
        return redirect(f"/projects/{project.id}/data/{sample_id}")
    flash(request, f"Split {sample.filename} into {len(ids)} samples.", "success")
    return redirect(f"/projects/{project.id}/data")
