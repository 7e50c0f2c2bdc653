from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.security import hash_password, verify_password
from app.models import User
from app.services.errors import BadRequest, Conflict, NotFound

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


FIRST_ADMIN_EMAIL = "admin@tinyforge.local"


def create_user(
    session: Session, *, email: str, password: str, name: str = "", is_admin: bool = False
) -> User:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise BadRequest(f"'{email}' is not a valid email address")
    _check_password(password)
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

    _check_password(password)
    user.password_hash = hash_password(password)
    session.flush()
    return revoke_user_sessions(session, user.id)


def get_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise BadRequest("the password must be at least 8 characters long")


def first_admin(session: Session) -> User | None:
    """The admin created first (the one `tinyforge up` makes on a new data directory)."""
    return session.scalar(select(User).where(User.is_admin.is_(True)).order_by(User.id).limit(1))


def ensure_first_admin(session: Session) -> tuple[User, str | None]:
    """The first admin, created as `admin@tinyforge.local` with a random password when the
    database has no user at all. Returns the user and the new password (None when it existed)."""
    admin = first_admin(session)
    if admin is not None:
        return admin, None
    if count_users(session):
        raise NotFound("there is no admin user: create one with `tinyforge user create --admin`")
    password = secrets.token_urlsafe(12)
    return create_user(session, email=FIRST_ADMIN_EMAIL, password=password, is_admin=True), password


def set_password_by_email(session: Session, *, email: str, password: str) -> tuple[User, int]:
    """`set_password` for the user with `email` (NotFound names it): the user and how many of
    their sessions ended."""
    user = get_by_email(session, email)
    if user is None:
        raise NotFound(f"no user with email {email.strip().lower()}")
    return user, set_password(session, user, password)
