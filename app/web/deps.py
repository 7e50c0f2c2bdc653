"""Dependencies of the dashboard pages: the project in the path, if the signed-in user is a
member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.api.deps import Access, SessionDep, record_change, route_template
from app.core.config import Settings
from app.models import Project
from app.services import audit
from app.services import members as member_service
from app.services import projects as project_service
from app.services.errors import NotFound
from app.services.roles import check
from app.web.security import UserDep


def page_access(
    request: Request, project_id: Annotated[int, Path(ge=1)], user: UserDep, session: SessionDep
) -> Access:
    """Others' projects are 404, exactly like projects that do not exist; what the user's role
    does not allow is 403 (`app.services.roles`). Changes are audited (`record_change`)."""
    held = member_service.member_role(session, project_id, user.id)
    if held is None:
        raise NotFound(f"project {project_id} does not exist or you have no access to it")
    check(held, request.method, route_template(request))
    project = project_service.get_project(session, project_id)
    access = Access(
        project=project, role=held, actor=audit.Actor(label=user.email, user_id=user.id)
    )
    request.state.project_role = held  # the pages show only the actions the role allows
    record_change(request, session, access)
    return access


PageAccessDep = Annotated[Access, Depends(page_access)]


def page_project(access: PageAccessDep) -> Project:
    return access.project


PageProjectDep = Annotated[Project, Depends(page_project)]


def server_url(request: Request, settings: Settings) -> str:
    """The URL devices should use: TINYFORGE_BASE_URL when set, else the URL this page was served
    from."""
    return (settings.base_url or str(request.base_url)).rstrip("/")
