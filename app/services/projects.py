from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.db import on_commit
from app.core.security import display_prefix, hash_api_key, new_api_key, new_hmac_key
from app.core.storage import BlobStore
from app.models import API_KEY_ROLES, ApiKey, HmacKey, Project, ProjectMember, User
from app.models.base import utcnow
from app.services.errors import BadRequest, NotFound


@dataclass
class NewProject:
    project: Project
    api_key: str  # shown once
    hmac_key: str


def create_project(
    session: Session, *, name: str, owner: User | None = None, description: str = ""
) -> NewProject:
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequest("a project name must be 1 to 200 characters long")
    project = Project(name=name, description=description, owner_id=owner.id if owner else None)
    session.add(project)
    session.flush()
    if owner is not None:
        session.add(ProjectMember(project_id=project.id, user_id=owner.id, role="owner"))
    key = create_api_key(session, project, role="admin")
    hmac = HmacKey(project_id=project.id, key=new_hmac_key())
    session.add(hmac)
    session.flush()
    return NewProject(project=project, api_key=key, hmac_key=hmac.key)


def create_api_key(
    session: Session, project: Project, *, name: str = "default", role: str = "full"
) -> str:
    """A new key (returned once). `role` "admin" acts as a project admin, "full" as a member
    (app.services.roles); "ingestion" can only send data and do what a device does to start (see
    app.api.deps.INGESTION_KEY_ROUTES)."""
    if role not in API_KEY_ROLES:
        raise BadRequest(f"unknown API key role '{role}': use one of {', '.join(API_KEY_ROLES)}")
    key = new_api_key()
    session.add(
        ApiKey(
            project_id=project.id,
            name=name,
            prefix=display_prefix(key),
            key_hash=hash_api_key(key),
            role=role,
        )
    )
    session.flush()
    return key


def rotate_api_keys(session: Session, project: Project) -> str:
    """Revoke every live key of the project and return a new (admin) one."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.project_id == project.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return create_api_key(session, project, role="admin")


def rotate_hmac_key(session: Session, project: Project) -> str:
    session.execute(
        update(HmacKey)
        .where(HmacKey.project_id == project.id, HmacKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    hmac = HmacKey(project_id=project.id, key=new_hmac_key())
    session.add(hmac)
    session.flush()
    return hmac.key


def key_and_project(session: Session, key: str) -> tuple[ApiKey, Project] | None:
    """The live key and its project, or None for an unknown or revoked key."""
    row = session.execute(
        select(ApiKey, Project)
        .join(Project, ApiKey.project_id == Project.id)
        .where(ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None))
    ).first()
    return (row[0], row[1]) if row else None


def project_for_api_key(session: Session, key: str) -> Project | None:
    found = key_and_project(session, key)
    return found[1] if found else None


def hmac_keys(session: Session, project_id: int) -> list[str]:
    return list(
        session.scalars(
            select(HmacKey.key)
            .where(HmacKey.project_id == project_id, HmacKey.revoked_at.is_(None))
            .order_by(HmacKey.id)
        )
    )


def revoke_api_key(session: Session, project_id: int, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or key.project_id != project_id:
        raise NotFound(f"API key {key_id} does not exist in project {project_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def api_keys(session: Session, project_id: int) -> list[ApiKey]:
    return list(
        session.scalars(select(ApiKey).where(ApiKey.project_id == project_id).order_by(ApiKey.id))
    )


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    return project


def projects_for_user(session: Session, user: User) -> list[Project]:
    return list(
        session.scalars(
            select(Project)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(ProjectMember.user_id == user.id)
            .order_by(Project.id)
        )
    )


def add_member(session: Session, project: Project, user: User, *, role: str = "member") -> bool:
    """Let `user` use `project` with `role` (owner, admin, member, viewer: app.services.roles);
    False when they already were a member (the role is updated). An owner also becomes the
    project's owner."""
    from app.services.roles import Role

    role = Role.parse(role).label
    row = session.get(ProjectMember, (project.id, user.id))
    if role == "owner":
        project.owner_id = user.id
    if row is not None:
        row.role = role
        session.flush()
        return False
    session.add(ProjectMember(project_id=project.id, user_id=user.id, role=role))
    session.flush()
    return True


def is_member(session: Session, project_id: int, user_id: int) -> bool:
    return (
        session.scalar(
            select(ProjectMember.user_id).where(
                ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
            )
        )
        is not None
    )


def remove_member(session: Session, project_id: int, user_id: int) -> None:
    """Take a user out of a project, and end their sessions: a page left open (or a copied cookie)
    keeps nothing of the access."""
    from app.services.sessions import revoke_user_sessions

    member = session.get(ProjectMember, (project_id, user_id))
    if member is None:
        raise NotFound(f"user {user_id} is not a member of project {project_id}")
    session.delete(member)
    session.flush()
    revoke_user_sessions(session, user_id)


def delete_project(session: Session, store: BlobStore, project: Project) -> None:
    """Delete the project's rows (cascades) and, after the caller commits, its blobs."""
    pid = project.id
    session.delete(project)
    session.flush()
    on_commit(session, lambda: store.delete_prefix(f"projects/{pid}"))
