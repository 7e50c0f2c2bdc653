"""The project's audit log: who changed what, when.

Every change request that reaches a project through the API or the dashboard is recorded by the
request dependency (`app.api.deps.get_access`, `app.web.deps.page_project`) as "METHOD route
template" with the path's ids, in the request's own transaction: a request that fails leaves no
entry. Changes to members, roles, invitations and keys add a readable entry of their own
(`record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent
from app.services.errors import BadRequest


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user or an API key, with a label kept in the log."""

    label: str
    user_id: int | None = None
    key_id: int | None = None


def record(
    session: Session,
    project_id: int,
    actor: Actor | None,
    action: str,
    *,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        project_id=project_id,
        actor_user_id=actor.user_id if actor else None,
        actor_key_id=actor.key_id if actor else None,
        actor=(actor.label if actor else "system")[:400],
        action=action[:200],
        target=target[:400],
        detail=detail or {},
    )
    session.add(event)
    return event


MAX_LIMIT = 500


def events(
    session: Session, project_id: int, *, limit: int = 100, before: int | None = None
) -> list[AuditEvent]:
    """The newest events first; `before` (an event id) pages back."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit: got {limit}; must be 1 to {MAX_LIMIT}")
    query = select(AuditEvent).where(AuditEvent.project_id == project_id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


def event_json(event: AuditEvent) -> dict[str, Any]:
    at: datetime = event.at
    return {
        "id": event.id,
        "at": at.isoformat(),
        "actor": event.actor,
        "actorUserId": event.actor_user_id,
        "actorApiKeyId": event.actor_key_id,
        "action": event.action,
        "target": event.target,
        "detail": event.detail,
    }
