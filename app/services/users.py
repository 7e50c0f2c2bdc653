from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.security import hash_password, verify_password
from app.models import User
from app.services.errors import BadRequest, Conflict

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_user(
    session: Session, *, email: str, password: str, name: str = "", is_admin: bool = False
) -> User:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise BadRequest(f"'{email}' is not a valid email address")
    if len(password) < 8:
        raise BadRequest("the password must be at least 8 characters long")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(email=email, password_hash=hash_password(password), name=name, is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


_dummy_hash: list[str] = []


def _hash_of_nobody() -> str:
    """A real Argon2 hash (made once) to verify against when the email is unknown."""
    if not _dummy_hash:
        _dummy_hash.append(hash_password(secrets.token_urlsafe(16)))
    return _dummy_hash[0]


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The user, if the password is theirs. An unknown email costs one password verification too,
    so the answer's timing does not tell which emails have accounts."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(_hash_of_nobody(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    return user


def set_password(session: Session, user: User, password: str) -> int:
    """Change a user's password and end every session they have (returns how many ended)."""
    from app.services.sessions import revoke_user_sessions

    if len(password) < 8:
        raise BadRequest("the password must be at least 8 characters long")
    user.password_hash = hash_password(password)
    session.flush()
    return revoke_user_sessions(session, user.id)


def get_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0
