"""A project's members and their roles: listing, changing a role, removing someone.

Rules: only an owner may make an owner or change or remove an owner; the last owner can be
neither demoted nor removed (409); removal ends every session of the person removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Project, ProjectMember, User
from app.services import audit
from app.services.errors import Conflict, Forbidden, NotFound
from app.services.roles import Role


@dataclass
class Member:
    user: User
    role: Role
    joined_at: datetime


def member_role(session: Session, project_id: int, user_id: int) -> Role | None:
    """The user's role in the project, None for a non-member."""
    value = session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )
    return Role.parse(value) if value is not None else None


def members(session: Session, project_id: int) -> list[Member]:
    rows = session.execute(
        select(ProjectMember, User)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id)
        .order_by(ProjectMember.created_at, User.id)
    ).all()
    return [Member(user=u, role=Role.parse(m.role), joined_at=m.created_at) for m, u in rows]


def member_json(m: Member) -> dict:
    return {
        "userId": m.user.id,
        "email": m.user.email,
        "name": m.user.name,
        "role": m.role.label,
        "joined": m.joined_at.isoformat(),
    }


def _owners(session: Session, project_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ProjectMember)
            .where(ProjectMember.project_id == project_id, ProjectMember.role == Role.OWNER.label)
        )
        or 0
    )


def _row(session: Session, project_id: int, user_id: int) -> ProjectMember:
    row = session.get(ProjectMember, (project_id, user_id))
    if row is None:
        raise NotFound(f"user {user_id} is not a member of project {project_id}")
    return row


def _email(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.email if user else f"user {user_id}"


def _fix_owner_id(session: Session, project: Project) -> None:
    """Keep `Project.owner_id` on one of the owners (it is shown as the project's owner)."""
    owner = session.scalar(
        select(ProjectMember.user_id)
        .where(ProjectMember.project_id == project.id, ProjectMember.role == Role.OWNER.label)
        .order_by(ProjectMember.created_at)
    )
    project.owner_id = owner


def set_role(
    session: Session,
    project: Project,
    user_id: int,
    role: Role,
    *,
    by: Role,
    actor: audit.Actor | None,
) -> Role:
    """Give member `user_id` the role `role` (acting with role `by`); returns the old role."""
    row = _row(session, project.id, user_id)
    old = Role.parse(row.role)
    if Role.OWNER in (role, old) and by < Role.OWNER:
        raise Forbidden(
            f"only an owner can make an owner or change an owner's role; you are {by.label}"
        )
    if old == Role.OWNER and role < Role.OWNER and _owners(session, project.id) <= 1:
        raise Conflict(
            f"{_email(session, user_id)} is the project's last owner: make someone else owner first"
        )
    if old != role:
        row.role = role.label
        session.flush()
        _fix_owner_id(session, project)
        audit.record(
            session,
            project.id,
            actor,
            "member.role",
            target=_email(session, user_id),
            detail={"userId": user_id, "from": old.label, "to": role.label},
        )
    return old


def remove(
    session: Session, project: Project, user_id: int, *, by: Role, actor: audit.Actor | None
) -> None:
    """Take `user_id` out of the project and end all their sessions."""
    from app.services.sessions import revoke_user_sessions

    row = _row(session, project.id, user_id)
    old = Role.parse(row.role)
    if old == Role.OWNER and by < Role.OWNER:
        raise Forbidden(f"only an owner can remove an owner; you are {by.label}")
    if old == Role.OWNER and _owners(session, project.id) <= 1:
        raise Conflict(
            f"{_email(session, user_id)} is the project's last owner and cannot be removed"
        )
    email = _email(session, user_id)
    session.delete(row)
    session.flush()
    ended = revoke_user_sessions(session, user_id)
    _fix_owner_id(session, project)
    audit.record(
        session,
        project.id,
        actor,
        "member.remove",
        target=email,
        detail={"userId": user_id, "role": old.label, "sessionsEnded": ended},
    )
