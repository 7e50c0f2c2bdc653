"""Sign in and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.api.deps import SessionDep
from app.services import users as user_service
from app.web.security import CsrfDep, csrf_token, safe_next, sign_in, sign_out, signed_in_user
from app.web.templating import HtmlRoute, redirect, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    if signed_in_user(request, session) is not None:
        return redirect("/projects")
    return redirect("/login")


@router.get("/login")
def login_page(request: Request, session: SessionDep, next: str | None = None) -> Response:
    if signed_in_user(request, session) is not None:
        return redirect(safe_next(next))
    csrf_token(request)
    return render(request, "login.html", {"next": safe_next(next), "email": "", "error": None})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    _csrf: CsrfDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    throttle = request.app.state.login_throttle
    address = request.client.host if request.client else "-"
    wait = throttle.retry_after(session, address, email) if email else 0.0
    if wait > 0:
        error = f"Too many failed sign-ins: try again in {max(1, round(wait))} seconds."
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "email": email, "error": error},
            status_code=429,
            headers={"retry-after": str(max(1, round(wait)))},
        )
    user = (
        user_service.authenticate(session, email=email, password=password)
        if email and password
        else None
    )
    if user is None:
        if email and password:
            throttle.failed(session, address, email)
        error = (
            "Enter your email and password."
            if not (email and password)
            else "Wrong email or password."
        )
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "email": email, "error": error},
            status_code=400 if not (email and password) else 401,
        )
    throttle.succeeded(session, address, email)
    sign_in(request, session, user)
    return redirect(safe_next(next))


@router.post("/logout")
def logout(request: Request, session: SessionDep, _csrf: CsrfDep) -> Response:
    sign_out(request, session)
    return redirect("/login")
