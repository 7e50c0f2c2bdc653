"""Project list, creation, the project dashboard (keys, ingestion snippet, danger zone). Devices:
devices.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.api.deps import SessionDep, SettingsDep, StoreDep
from app.core.db import on_commit
from app.services import audit, dashboard
from app.services import jobs as job_service
from app.services import projects as project_service
from app.services.errors import BadRequest
from app.web.deps import PageAccessDep, PageProjectDep, server_url
from app.web.security import CsrfDep, UserDep
from app.web.templating import HtmlRoute, flash, redirect, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])


@router.get("/projects")
def project_list(request: Request, user: UserDep, session: SessionDep) -> Response:
    projects = project_service.projects_for_user(session, user)
    counts = {p.id: dashboard.project_counts(session, p.id) for p in projects}
    return render(
        request,
        "projects.html",
        {"user": user, "projects": projects, "counts": counts, "errors": {}, "form": {}},
    )


@router.post("/projects")
def create_project(
    request: Request,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        new = project_service.create_project(
            session, name=name, owner=user, description=description
        )
    except BadRequest as exc:
        projects = project_service.projects_for_user(session, user)
        counts = {p.id: dashboard.project_counts(session, p.id) for p in projects}
        return render(
            request,
            "projects.html",
            {
                "user": user,
                "projects": projects,
                "counts": counts,
                "errors": {"name": exc.message},
                "form": {"name": name, "description": description},
            },
            status_code=400,
        )
    # post/redirect/get: a reload of the page shows the project, it does not create another one.
    # The key rides in the session for this one redirect and is dropped when shown.
    request.session["new_api_key"] = {"project_id": new.project.id, "key": new.api_key}
    return redirect(f"/projects/{new.project.id}?created=1")


def _actor(user) -> audit.Actor:
    return audit.Actor(label=user.email, user_id=user.id)


def _dashboard(
    request: Request,
    session,
    settings,
    user,
    project,
    *,
    new_api_key: str | None = None,
    new_device_key: str | None = None,
    created: bool = False,
    status_code: int = 200,
) -> Response:
    base = server_url(request, settings)
    response = render(
        request,
        "project.html",
        {
            "user": user,
            "project": project,
            "counts": dashboard.project_counts(session, project.id),
            "labels": dashboard.label_table(session, project.id),
            "recent_jobs": job_service.list_jobs(session, project.id, limit=5),
            "api_keys": dashboard.live_api_keys(session, project.id),
            "hmac_keys": project_service.hmac_keys(session, project.id),
            "new_api_key": new_api_key,
            "new_device_key": new_device_key,
            "created": created,
            "base_url": base,
            "nav": "dashboard",
            "role": int(request.state.project_role),
            "role_name": request.state.project_role.label,
        },
        status_code=status_code,
    )
    if new_api_key or new_device_key:  # a page showing a key must not be kept by caches or history
        response.headers["cache-control"] = "no-store"
    return response


@router.get("/projects/{project_id}")
def project_dashboard(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    created: bool = False,
) -> Response:
    pending = request.session.pop("new_api_key", None)
    key = pending["key"] if pending and pending.get("project_id") == project.id else None
    return _dashboard(
        request, session, settings, user, project, new_api_key=key, created=created and bool(key)
    )


@router.post("/projects/{project_id}/rotate-api-key")
def rotate_api_key(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
) -> Response:
    key = project_service.rotate_api_keys(session, project)
    audit.record(session, project.id, _actor(user), "apikey.rotate", detail={"role": "admin"})
    on_commit(session, request.app.state.key_cache.clear)
    flash(
        request,
        "Every previous API key is revoked. Copy the new key now: it is shown only once.",
        "warning",
    )
    return _dashboard(request, session, settings, user, project, new_api_key=key)


@router.post("/projects/{project_id}/api-keys")
def create_api_key(
    request: Request,
    access: PageAccessDep,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    name: Annotated[str, Form(max_length=200)] = "api",
    role: Annotated[str, Form(max_length=20)] = "full",
) -> Response:
    """A new API key with a role (admin): shown once."""
    project = access.project
    key = project_service.create_api_key(session, project, name=name.strip() or "api", role=role)
    audit.record(
        session, project.id, access.actor, "apikey.create", target=name, detail={"role": role}
    )
    flash(request, f"New {role} API key: copy it now, it is shown only once.", "warning")
    return _dashboard(request, session, settings, user, project, new_api_key=key)


@router.post("/projects/{project_id}/device-key")
def create_device_key(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
) -> Response:
    """An ingestion key for devices: it can send data and nothing else (shown once, in the
    snippets)."""
    key = project_service.create_api_key(session, project, name="device", role="ingestion")
    flash(request, "Copy the device key now: it is shown only once.", "warning")
    return _dashboard(request, session, settings, user, project, new_device_key=key)


@router.post("/projects/{project_id}/rotate-hmac-key")
def rotate_hmac_key(
    request: Request, project: PageProjectDep, user: UserDep, session: SessionDep, _csrf: CsrfDep
) -> Response:
    project_service.rotate_hmac_key(session, project)
    audit.record(session, project.id, _actor(user), "hmackey.rotate")
    on_commit(session, request.app.state.key_cache.clear)
    flash(request, "New HMAC key created; data signed with the old key is now refused.", "warning")
    return redirect(f"/projects/{project.id}#keys")


@router.post("/projects/{project_id}/delete")
def delete_project(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    _csrf: CsrfDep,
    confirm: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    if confirm.strip() != project.name:
        flash(
            request, f"Type the project's name ({project.name}) to confirm the deletion.", "error"
        )
        return _dashboard(request, session, settings, user, project, status_code=400)
    name = project.name
    project_service.delete_project(session, store, project)
    on_commit(session, request.app.state.key_cache.clear)
    flash(request, f"Project {name} deleted.", "info")
    return redirect("/projects")


@router.post("/projects/{project_id}/target-board")
def set_target_board(
    request: Request,
    project: PageProjectDep,
    session: SessionDep,
    _csrf: CsrfDep,
    board: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """The project's board (issue 11): profiled under QEMU after training, preselected for
    builds."""
    from app.services.errors import ServiceError
    from app.services.profiles import check_board

    try:
        project.target_board = check_board(board)
        flash(
            request, f"Project board: {board}. The next training profiles it under QEMU.", "success"
        )
    except ServiceError as exc:
        flash(request, exc.message, "error")
    target = back if back.startswith(f"/projects/{project.id}/") else f"/projects/{project.id}"
    return redirect(target)
