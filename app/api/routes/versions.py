"""Project versions: freeze, list, compare, restore into a new project."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CallerDep, ProjectDep, SessionDep, StoreDep
from app.models import User
from app.schemas.versions import VersionCreate
from app.services import versions

router = APIRouter(prefix="/api/{projectId}/versions", tags=["versions"])


@router.post("", summary="Freeze the project's samples, impulses and artifacts as a new version")
def create(
    body: VersionCreate,
    project: ProjectDep,
    caller: CallerDep,
    session: SessionDep,
    store: StoreDep,
) -> dict:
    version = versions.create_version(
        session, store, project, description=body.description, user=caller.user
    )
    return {"success": True, "version": versions.version_json(version)}


@router.get("", summary="The project's versions, oldest first")
def list_all(project: ProjectDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "versions": [versions.version_json(v) for v in versions.list_versions(session, project.id)],
    }


@router.get("/compare", summary="What changed between two versions (samples, impulses)")
def compare(
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
    a: Annotated[int, Query(ge=1, description="the older version's number")],
    b: Annotated[int, Query(ge=1, description="the newer version's number")],
) -> dict:
    va = versions.get_version(session, project.id, a)
    vb = versions.get_version(session, project.id, b)
    return {"success": True, **versions.compare(store, va, vb)}


@router.post("/{number}/restore", summary="A new project holding this version")
def restore(
    number: int,
    project: ProjectDep,
    caller: CallerDep,
    session: SessionDep,
    store: StoreDep,
) -> dict:
    version = versions.get_version(session, project.id, number)
    owner = caller.user
    if owner is None and project.owner_id is not None:
        owner = session.get(User, project.owner_id)
    done = versions.restore(session, store, version, owner=owner)
    return {
        "success": True,
        "projectId": done.new.project.id,
        "apiKey": done.new.api_key,
        "counts": done.counts,
    }


@router.delete("/{number}", summary="Delete a version (admin)")
def delete(number: int, project: ProjectDep, session: SessionDep, store: StoreDep) -> dict:
    versions.delete_version(session, store, versions.get_version(session, project.id, number))
    return {"success": True}
