"""The Versions page: freeze the project with a description, list and compare versions, restore one
into a new project (docs/versions.md; the services are `app.services.versions`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.api.deps import SessionDep, StoreDep
from app.services import versions
from app.services.roles import Role
from app.web.deps import PageAccessDep
from app.web.security import CsrfDep, UserDep
from app.web.templating import HtmlRoute, flash, redirect, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])


@router.get("/projects/{project_id}/versions")
def versions_page(
    request: Request,
    access: PageAccessDep,
    user: UserDep,
    session: SessionDep,
    store: StoreDep,
    a: int | None = None,
    b: int | None = None,
) -> Response:
    project = access.project
    listed = versions.list_versions(session, project.id)
    diff = None
    if a is not None and b is not None:
        diff = versions.compare(
            store,
            versions.get_version(session, project.id, a),
            versions.get_version(session, project.id, b),
        )
    return render(
        request,
        "versions.html",
        {
            "user": user,
            "project": project,
            "nav": "versions",
            "versions": listed,
            "diff": diff,
            "a": a,
            "b": b,
            "can_create": access.role >= Role.MEMBER,
            "can_restore": access.role >= Role.ADMIN,
        },
    )


@router.post("/projects/{project_id}/versions")
def create_version(
    request: Request,
    access: PageAccessDep,
    user: UserDep,
    session: SessionDep,
    store: StoreDep,
    _csrf: CsrfDep,
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    version = versions.create_version(
        session, store, access.project, description=description.strip(), user=user
    )
    flash(request, f"Version {version.number} saved.", "success")
    return redirect(f"/projects/{access.project.id}/versions")


@router.post("/projects/{project_id}/versions/{number}/restore")
def restore_version(
    request: Request,
    access: PageAccessDep,
    number: int,
    user: UserDep,
    session: SessionDep,
    store: StoreDep,
    _csrf: CsrfDep,
) -> Response:
    version = versions.get_version(session, access.project.id, number)
    done = versions.restore(session, store, version, owner=user)
    new_id = done.new.project.id
    # shown once on the new project's page, like a new project's key
    request.session["new_api_key"] = {"project_id": new_id, "key": done.new.api_key}
    flash(request, f"Version {number} restored into this new project.", "success")
    return redirect(f"/projects/{new_id}?created=1")


@router.post("/projects/{project_id}/versions/{number}/delete")
def delete_version(
    request: Request,
    access: PageAccessDep,
    number: int,
    session: SessionDep,
    store: StoreDep,
    _csrf: CsrfDep,
) -> Response:
    versions.delete_version(
        session, store, versions.get_version(session, access.project.id, number)
    )
    flash(request, f"Version {number} deleted.", "success")
    return redirect(f"/projects/{access.project.id}/versions")
