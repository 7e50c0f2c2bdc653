"""Data acquisition: the samples table with filters, uploads, per-sample edits and the sample
page."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from app.api.deps import SessionDep, SettingsDep, StoreDep
from app.models import CATEGORIES, Device
from app.services import dashboard
from app.services import projects as project_service
from app.services import samples as sample_service
from app.services.errors import BadRequest
from app.web.deps import PageProjectDep
from app.web.security import CsrfDep, UserDep
from app.web.templating import HtmlRoute, data_back_target, flash, redirect, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])

PAGE_SIZES = (20, 50, 100)
UPLOAD_CATEGORIES = ("training", "testing", "split", "anomaly")


@router.get("/projects/{project_id}/data")
def data_page(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    category: str | None = None,
    label: str | None = None,
    search: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    category = category or None
    if category is not None and category not in CATEGORIES:
        raise BadRequest(f"unknown category '{category}': use one of {', '.join(CATEGORIES)}")
    flt = sample_service.SampleFilter(
        category=category,
        labels=[label] if label is not None and label != "*" else None,
        search=(search or "").strip() or None,
    )
    rows, total = sample_service.list_samples(
        session, project.id, flt, offset=(page - 1) * per_page, limit=per_page
    )
    pages = max(1, math.ceil(total / per_page))
    query = {
        k: v
        for k, v in {
            "category": category,
            "label": label,
            "search": search,
            "per_page": per_page,
        }.items()
        if v not in (None, "")
    }
    here = f"/projects/{project.id}/data?" + urlencode({**query, "page": page})
    label_table = dashboard.label_table(session, project.id)
    device_names = {d.id: d.name for d in dashboard.devices(session, project.id)}
    return render(
        request,
        "data.html",
        {
            "user": user,
            "project": project,
            "nav": "data",
            "samples": rows,
            "total": total,
            "page": page,
            "pages": pages,
            "per_page": per_page,
            "query": query,
            "page_url": lambda p: f"/projects/{project.id}/data?" + urlencode({**query, "page": p}),
            "here": here,
            "filters": {"category": category or "", "label": label, "search": search or ""},
            "label_table": label_table,
            "labels": [r["label"] for r in label_table],
            "categories": CATEGORIES,
            "upload_categories": UPLOAD_CATEGORIES,
            "device_names": device_names,
            "counts": dashboard.project_counts(session, project.id),
            "upload_errors": {},
            "page_sizes": PAGE_SIZES,
        },
    )


@router.post("/projects/{project_id}/data/upload")
async def upload(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    files: Annotated[list[UploadFile] | None, File()] = None,
    label: Annotated[str, Form(max_length=255)] = "",
    category: Annotated[str, Form()] = "split",
) -> Response:
    from fastapi.concurrency import run_in_threadpool

    parts = [f for f in (files or []) if f.filename]
    if category not in UPLOAD_CATEGORIES:
        flash(
            request,
            f"'{category}' is not one of {', '.join(UPLOAD_CATEGORIES)}.",
            "error",
            field="category",
        )
        return redirect(f"/projects/{project.id}/data#upload")
    if not parts:
        flash(request, "Choose at least one file to upload.", "error", field="files")
        return redirect(f"/projects/{project.id}/data#upload")
    uploads, total = [], 0
    for part in parts:
        total += part.size or 0
        if total > settings.max_upload_bytes:
            flash(
                request,
                f"The upload exceeds {settings.max_upload_bytes} bytes; send fewer files.",
                "error",
                field="files",
            )
            return redirect(f"/projects/{project.id}/data#upload")
        data = await part.read()
        uploads.append(
            sample_service.UploadedFile(
                filename=part.filename, data=data, content_type=part.content_type
            )
        )
    opts = sample_service.IngestOptions(
        category=category,
        label=label.strip() or None,
        hmac_keys=project_service.hmac_keys(session, project.id),
        require_signature=project.require_signed_data,
        max_file_bytes=settings.max_file_bytes,
    )
    results = await run_in_threadpool(sample_service.ingest, session, store, project, uploads, opts)
    ok = [r for r in results if r.success]
    bad = [r for r in results if not r.success]
    if ok:
        flash(request, f"Uploaded {len(ok)} file{'s' if len(ok) != 1 else ''}.", "success")
    for r in bad[:20]:
        flash(request, f"{r.file_name}: {r.error}", "error")
    if len(bad) > 20:
        flash(request, f"…and {len(bad) - 20} more files were refused.", "error")
    return redirect(f"/projects/{project.id}/data")


def _sample(session, project, sample_id: int):
    return sample_service.get_sample(session, project.id, sample_id)


@router.post("/projects/{project_id}/data/{sample_id}/label")
def relabel(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    sample_id: int,
    _csrf: CsrfDep,
    label: Annotated[str, Form()] = "",
    back: Annotated[str | None, Form()] = None,
) -> Response:
    sample = _sample(session, project, sample_id)
    try:
        sample_service.relabel(session, sample, label)
    except BadRequest as exc:
        flash(request, f"Label of {sample.filename}: {exc.message}", "error")
        return redirect(data_back_target(project.id, back))
    flash(request, f"{sample.filename} is now labelled '{sample.label}'.", "success")
    return redirect(data_back_target(project.id, back))


@router.post("/projects/{project_id}/data/{sample_id}/move")
def move(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    sample_id: int,
    _csrf: CsrfDep,
    category: Annotated[str, Form()] = "",
    back: Annotated[str | None, Form()] = None,
) -> Response:
    sample = _sample(session, project, sample_id)
    try:
        sample_service.move(session, sample, category)
    except BadRequest as exc:
        flash(request, f"Category of {sample.filename}: {exc.message}", "error")
        return redirect(data_back_target(project.id, back))
    flash(request, f"{sample.filename} moved to {category}.", "success")
    return redirect(data_back_target(project.id, back))


@router.post("/projects/{project_id}/data/{sample_id}/enable")
def enable(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    sample_id: int,
    _csrf: CsrfDep,
    enabled: Annotated[str, Form()] = "true",
    back: Annotated[str | None, Form()] = None,
) -> Response:
    if enabled not in ("true", "false"):
        raise BadRequest("enabled must be true or false")
    sample = _sample(session, project, sample_id)
    sample_service.set_enabled(session, sample, enabled == "true")
    flash(request, f"{sample.filename} {'enabled' if sample.enabled else 'disabled'}.", "success")
    return redirect(data_back_target(project.id, back))


@router.post("/projects/{project_id}/data/{sample_id}/delete")
def delete(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    store: StoreDep,
    sample_id: int,
    _csrf: CsrfDep,
    back: Annotated[str | None, Form()] = None,
) -> Response:
    sample = _sample(session, project, sample_id)
    name = sample.filename
    sample_service.delete_samples(session, store, [sample])
    flash(request, f"{name} deleted.", "success")
    target = data_back_target(project.id, back)
    return redirect(
        f"/projects/{project.id}/data"
        if target.startswith(f"/projects/{project.id}/data/")
        else target
    )


@router.get("/projects/{project_id}/data/{sample_id}")
def sample_page(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    sample_id: int,
    impulse: int | None = None,
) -> Response:
    from app.services import impulses as impulse_service

    sample = _sample(session, project, sample_id)
    trained = [i for i in impulse_service.list_impulses(session, project.id) if i.learn]
    device = session.get(Device, sample.device_id) if sample.device_id else None
    audio = (
        sample.kind == "timeseries"
        and len(sample.sensors) == 1
        and (sample.format == "wav" or sample.frequency_hz >= 4000)
    )
    audio_url = (
        f"/api/{project.id}/raw-data/{sample.id}/raw"
        if sample.format == "wav"
        else f"/api/{project.id}/raw-data/{sample.id}/wav"
    )
    return render(
        request,
        "sample.html",
        {
            "user": user,
            "project": project,
            "nav": "data",
            "sample": sample,
            "device": device,
            "audio": audio,
            "audio_url": audio_url,
            "categories": CATEGORIES,
            "here": f"/projects/{project.id}/data/{sample.id}",
            "classify_impulses": trained,
            "classify_selected": impulse
            if impulse is not None
            else (trained[-1].id if trained else None),
        },
    )
