from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.deps import CallerDep, ProjectDep, SessionDep
from app.core.db import on_commit
from app.models import User
from app.schemas.ei import project_json
from app.schemas.projects import ProjectSettings
from app.services import projects as project_service
from app.services import samples as sample_service

router = APIRouter(prefix="/api", tags=["projects"])


def _owner_email(session, project) -> str:
    owner = session.get(User, project.owner_id) if project.owner_id else None
    return owner.email if owner else ""


@router.get("/projects", summary="Projects the caller can use (for an API key: its one project)")
def list_projects(caller: CallerDep, session: SessionDep) -> dict:
    if caller.project is not None:
        projects = [caller.project]
    else:
        assert caller.user is not None  # get_caller sets one of the two
        projects = project_service.projects_for_user(session, caller.user)
    return {
        "success": True,
        "projects": [project_json(p, _owner_email(session, p)) for p in projects],
    }


@router.get("/{projectId}", summary="Project info, with sample counts per category and label")
def project_info(project: ProjectDep, session: SessionDep) -> dict:
    from app.services.ei_profile import project_info_extras

    counts = sample_service.label_counts(session, project.id)
    owner = _owner_email(session, project)
    return {
        # the fields Edge Impulse's ProjectInfoResponse requires (its SDK reads latencyDevices)
        **project_info_extras(project, owner, counts),
        "success": True,
        "project": project_json(project, owner),
        "sampleCounts": {c: sum(v.values()) for c, v in counts.items()},
        "labelCounts": counts,
    }


@router.post("/{projectId}", summary="Update project settings")
def update_project(
    body: ProjectSettings, project: ProjectDep, session: SessionDep, request: Request
) -> dict:
    if body.name is not None:
        project.name = body.name.strip()
    if body.description is not None:
        project.description = body.description
    if body.requireSignedData is not None:
        project.require_signed_data = body.requireSignedData
        on_commit(session, request.app.state.key_cache.clear)
    if body.targetBoard is not None:
        from app.services.profiles import check_board

        project.target_board = check_board(body.targetBoard)
    return {"success": True}
