"""Invitations by link: an admin makes one (a role, an expiry), copies `/invite/<token>` and hands
it over; whoever opens it signed in (or after signing in or creating an account on that page)
joins the project with that role. The token is shown once; only its SHA-256 is stored. A link
works once, until it expires or is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Invitation, Project, User
from app.models.base import utcnow
from app.services import audit
from app.services.errors import BadRequest, Forbidden, NotFound, ServiceError
from app.services.roles import Role

DEFAULT_DAYS = 7
MAX_DAYS = 90


class Gone(ServiceError):
    """The link existed but can no longer be used (used, expired or revoked)."""

    status = 410


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite_path(token: str) -> str:
    return f"/invite/{token}"


@dataclass
class NewInvitation:
    invitation: Invitation
    token: str  # shown once


def create(
    session: Session,
    project: Project,
    role: Role,
    *,
    by: Role,
    actor: audit.Actor | None,
    created_by_id: int | None = None,
    expires_in_days: float = DEFAULT_DAYS,
) -> NewInvitation:
    if role == Role.OWNER and by < Role.OWNER:
        raise Forbidden(f"only an owner can invite an owner; you are {by.label}")
    if not 0 < expires_in_days <= MAX_DAYS:
        raise BadRequest(f"expiresInDays: got {expires_in_days}; must be above 0 and at most 90")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation = Invitation(
        project_id=project.id,
        token_hash=_hash(token),
        role=role.label,
        created_by_id=created_by_id,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
    )
    session.add(invitation)
    session.flush()
    audit.record(
        session,
        project.id,
        actor,
        "invitation.create",
        target=f"invitation {invitation.id}",
        detail={"invitationId": invitation.id, "role": role.label, "expiresAt": _iso(invitation)},
    )
    return NewInvitation(invitation=invitation, token=token)


def _iso(invitation: Invitation) -> str:
    return invitation.expires_at.isoformat()


def pending(session: Session, project_id: int) -> list[Invitation]:
    """Invitations not used, not revoked and not expired, newest first."""
    return list(
        session.scalars(
            select(Invitation)
            .where(
                Invitation.project_id == project_id,
                Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.id.desc())
        )
    )


def invitation_json(invitation: Invitation) -> dict:
    return {
        "id": invitation.id,
        "role": invitation.role,
        "created": invitation.created_at.isoformat(),
        "expires": invitation.expires_at.isoformat(),
        "createdByUserId": invitation.created_by_id,
    }


def revoke(
    session: Session, project_id: int, invitation_id: int, *, actor: audit.Actor | None
) -> None:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.project_id != project_id:
        raise NotFound(f"invitation {invitation_id} does not exist in project {project_id}")
    if invitation.revoked_at is None and invitation.used_at is None:
        invitation.revoked_at = utcnow()
        audit.record(
            session,
            project_id,
            actor,
            "invitation.revoke",
            target=f"invitation {invitation_id}",
            detail={"invitationId": invitation_id, "role": invitation.role},
        )


def find(session: Session, token: str) -> Invitation:
    """The usable invitation of `token`; 404 for an unknown link, 410 for a used, revoked or
    expired one."""
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == _hash(token or ""))
    )
    if invitation is None:
        raise NotFound("this invitation link is not valid: ask for a new one")
    if invitation.used_at is not None:
        raise Gone("this invitation link was already used: each link works once; ask for a new one")
    if invitation.revoked_at is not None:
        raise Gone("this invitation was revoked: ask for a new one")
    if invitation.expires_at <= utcnow():
        raise Gone(
            f"this invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC: ask for a "
            "new one"
        )
    return invitation


def accept(session: Session, token: str, user: User) -> Invitation:
    """`user` joins the invitation's project with its role (a member keeps a higher role)."""
    from app.services.members import member_role
    from app.services.projects import add_member, get_project

    invitation = find(session, token)
    project = get_project(session, invitation.project_id)
    role = Role.parse(invitation.role)
    held = member_role(session, project.id, user.id)
    if held is None or held < role:
        add_member(session, project, user, role=role.label)
    invitation.used_at = utcnow()
    invitation.used_by_id = user.id
    session.flush()
    audit.record(
        session,
        project.id,
        audit.Actor(label=user.email, user_id=user.id),
        "invitation.accept",
        target=user.email,
        detail={
            "invitationId": invitation.id,
            "userId": user.id,
            "role": max(role, held or role).label,
        },
    )
    return invitation
