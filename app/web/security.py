"""Dashboard sessions and CSRF.

The signed cookie `tinyforge_session` (HttpOnly, SameSite=lax; https_only in production — set up
in `app.main`) carries a server-side session's token (`app.services.sessions`), so a session ends
when its row is revoked, whoever holds a copy of the cookie. Every form carries a per-session CSRF
token (synchroniser token pattern); a POST without the right token is refused with 403 before
anything else runs.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Header, HTTPException, Request

from app.api.deps import SessionDep, require_csrf
from app.core.security import CSRF_SESSION_KEY, new_csrf_token
from app.models import User
from app.services import sessions as session_service

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


SESSION_KEY = "sid"  # where the signed cookie keeps the server-side session's token


def signed_in_user(request: Request, session) -> User | None:
    """The user of the request's server-side session, if it is live."""
    if "session" not in request.scope:
        return None
    return session_service.session_user(session, request.session.get(SESSION_KEY))


def current_user(request: Request, session: SessionDep) -> User:
    """The signed-in user, or a 303 to /login (the route class turns it into a redirect)."""
    user = signed_in_user(request, session)
    if user is None:
        request.session.pop(SESSION_KEY, None)
        raise login_redirect(request)
    return user


UserDep = Annotated[User, Depends(current_user)]


def sign_in(request: Request, session, user: User) -> None:
    """Start a fresh session for `user` (drops whatever the anonymous session held: no fixation)."""
    request.session.clear()
    request.session[SESSION_KEY] = session_service.start_session(session, user)
    csrf_token(request)


def sign_out(request: Request, session) -> None:
    """End the session on the server too: a copy of the cookie no longer signs anyone in."""
    session_service.end_session(session, request.session.get(SESSION_KEY))
    request.session.clear()


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/projects"
    return target
