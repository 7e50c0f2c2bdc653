"""Dependencies of the dashboard pages: the project in the path, if the signed-in user is a
member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.api.deps import SessionDep
from app.core.config import Settings
from app.models import Project
from app.services import projects as project_service
from app.services.errors import NotFound
from app.web.security import UserDep


def page_project(
    project_id: Annotated[int, Path(ge=1)], user: UserDep, session: SessionDep
) -> Project:
    """Others' projects are 404, exactly like projects that do not exist."""
    if not project_service.is_member(session, project_id, user.id):
        raise NotFound(f"project {project_id} does not exist or you have no access to it")
    return project_service.get_project(session, project_id)


PageProjectDep = Annotated[Project, Depends(page_project)]


def server_url(request: Request, settings: Settings) -> str:
    """The URL devices should use: TINYFORGE_BASE_URL when set, else the URL this page was served
    from."""
    return (settings.base_url or str(request.base_url)).rstrip("/")
