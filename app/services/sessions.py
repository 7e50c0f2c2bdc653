"""Dashboard sessions kept on the server, so that they can be ended.

The signed cookie holds only a random token (and the CSRF token); the `user_sessions` row holds the
token's SHA-256, the user and the expiry. A copied cookie stops working the moment its row is
revoked: on sign-out, on a password change (every session of the user) and when the user is
removed from a project (every session of the user, so no open page keeps the old access).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import User, UserSession
from app.models.base import utcnow

SESSION_LIFETIME = timedelta(days=14)  # the cookie's own max-age (Starlette's default) matches


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, user: User) -> str:
    """A new session for `user`: returns the token the cookie carries."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            id=_hash(token), user_id=user.id, created_at=now, expires_at=now + SESSION_LIFETIME
        )
    )
    session.flush()
    return token


def session_user(session: Session, token: object) -> User | None:
    """The user of a live (not revoked, not expired) session token; None otherwise."""
    if not isinstance(token, str) or not token:
        return None
    row = session.get(UserSession, _hash(token))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return session.get(User, row.user_id)


def end_session(session: Session, token: object) -> None:
    if isinstance(token, str) and token:
        session.execute(
            update(UserSession)
            .where(UserSession.id == _hash(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def revoke_user_sessions(session: Session, user_id: int) -> int:
    """End every live session of a user; returns how many were ended."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount  # type: ignore[attr-defined]
