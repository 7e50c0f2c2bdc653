"""Dashboard sessions and CSRF.

The session lives in Starlette's signed cookie `tinyforge_session` (HttpOnly, SameSite=lax;
https_only in production — set up in `app.main`). Every form carries a per-session CSRF token
(synchroniser token pattern); a POST without the right token is refused with 403 before anything
else runs.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Header, HTTPException, Request

from app.api.deps import SessionDep, require_csrf
from app.core.security import CSRF_SESSION_KEY, new_csrf_token
from app.models import User

CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not token:
        token = new_csrf_token()
        request.session[CSRF_SESSION_KEY] = token
    return token


def check_csrf(
    request: Request,
    csrf_token: Annotated[str | None, Form()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> None:
    """Dependency for every state-changing dashboard route: 403 unless the token matches the
    session's."""
    require_csrf(request, csrf_token or x_csrf_token)


CsrfDep = Annotated[None, Depends(check_csrf)]


def login_redirect(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        303, "sign in first", headers={"location": f"/login?next={quote(target, safe='')}"}
    )


def current_user(request: Request, session: SessionDep) -> User:
    """The signed-in user, or a 303 to /login (the route class turns it into a redirect)."""
    user_id = request.session.get("user_id")
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        request.session.pop("user_id", None)
        raise login_redirect(request)
    return user


UserDep = Annotated[User, Depends(current_user)]


def sign_in(request: Request, user: User) -> None:
    """Start a fresh session for `user` (drops whatever the anonymous session held: no fixation)."""
    request.session.clear()
    request.session["user_id"] = user.id
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/projects"
    return target
