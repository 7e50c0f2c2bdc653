"""The Members page (members, roles, invitations), the audit log page and the invitation link
`/invite/<token>` (docs/teams.md). Who may do what: `app.services.roles`, checked by
`page_access`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.api.deps import SessionDep, SettingsDep
from app.services import audit, invitations, members
from app.services import projects as project_service
from app.services import users as user_service
from app.services.errors import ServiceError
from app.services.roles import MEMBER_ROLES, Role
from app.web.deps import PageAccessDep, server_url
from app.web.security import CsrfDep, UserDep, csrf_token, sign_in, signed_in_user
from app.web.templating import HtmlRoute, flash, redirect, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])


def _page(request, session, settings, user, access, *, link: str | None = None, status=200):
    project = access.project
    admin = access.role >= Role.ADMIN
    response = render(
        request,
        "members.html",
        {
            "user": user,
            "project": project,
            "nav": "members",
            "role": access.role,
            "is_admin": admin,
            "roles": MEMBER_ROLES,
            "grantable": [r for r in MEMBER_ROLES if Role.parse(r) <= access.role],
            "members": members.members(session, project.id),
            "invitations": invitations.pending(session, project.id) if admin else [],
            "link": link,
        },
        status_code=status,
    )
    if link:
        response.headers["cache-control"] = "no-store"
    return response


@router.get("/projects/{project_id}/members")
def members_page(
    request: Request,
    access: PageAccessDep,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    return _page(request, session, settings, user, access)


@router.post("/projects/{project_id}/members/{user_id}/role")
def change_role(
    request: Request,
    access: PageAccessDep,
    user_id: int,
    session: SessionDep,
    _csrf: CsrfDep,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    members.set_role(
        session, access.project, user_id, Role.parse(role), by=access.role, actor=access.actor
    )
    flash(request, f"Role changed to {Role.parse(role).label}.", "success")
    return redirect(f"/projects/{access.project.id}/members")


@router.post("/projects/{project_id}/members/{user_id}/remove")
def remove_member(
    request: Request, access: PageAccessDep, user_id: int, session: SessionDep, _csrf: CsrfDep
) -> Response:
    members.remove(session, access.project, user_id, by=access.role, actor=access.actor)
    flash(request, "Member removed; their sessions are ended.", "success")
    return redirect(f"/projects/{access.project.id}/members")


@router.post("/projects/{project_id}/invitations")
def create_invitation(
    request: Request,
    access: PageAccessDep,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    role: Annotated[str, Form(max_length=20)] = "member",
    days: Annotated[float, Form(gt=0, le=90)] = invitations.DEFAULT_DAYS,
) -> Response:
    new = invitations.create(
        session,
        access.project,
        Role.parse(role),
        by=access.role,
        actor=access.actor,
        created_by_id=user.id,
        expires_in_days=days,
    )
    link = server_url(request, settings) + invitations.invite_path(new.token)
    return _page(request, session, settings, user, access, link=link)


@router.post("/projects/{project_id}/invitations/{invitation_id}/revoke")
def revoke_invitation(
    request: Request,
    access: PageAccessDep,
    invitation_id: int,
    session: SessionDep,
    _csrf: CsrfDep,
) -> Response:
    invitations.revoke(session, access.project.id, invitation_id, actor=access.actor)
    flash(request, "Invitation revoked.", "success")
    return redirect(f"/projects/{access.project.id}/members")


@router.get("/projects/{project_id}/audit")
def audit_page(
    request: Request,
    access: PageAccessDep,
    user: UserDep,
    session: SessionDep,
    before: int | None = None,
) -> Response:
    events = audit.events(session, access.project.id, limit=100, before=before)
    return render(
        request,
        "audit.html",
        {"user": user, "project": access.project, "nav": "members", "events": events},
    )


# --- the invitation link -------------------------------------------------------------------------


def _invite_page(request, session, token, *, error=None, form=None, status=200) -> Response:
    invitation = invitations.find(session, token)
    project = project_service.get_project(session, invitation.project_id)
    csrf_token(request)
    response = render(
        request,
        "invite.html",
        {
            "user": signed_in_user(request, session),
            "invited_to": project,
            "invitation": invitation,
            "token": token,
            "error": error,
            "form": form or {},
        },
        status_code=status,
    )
    response.headers["cache-control"] = "no-store"
    response.headers["referrer-policy"] = "no-referrer"  # the token is in the URL
    return response


@router.get("/invite/{token}")
def invite_page(request: Request, token: str, session: SessionDep) -> Response:
    return _invite_page(request, session, token)


@router.post("/invite/{token}")
def accept_invite(request: Request, token: str, session: SessionDep, _csrf: CsrfDep) -> Response:
    """A signed-in user joins."""
    user = signed_in_user(request, session)
    if user is None:
        return redirect(f"/invite/{token}")
    invitation = invitations.accept(session, token, user)
    flash(request, f"You joined the project as {invitation.role}.", "success")
    return redirect(f"/projects/{invitation.project_id}")


@router.post("/invite/{token}/signup")
def signup_and_accept(
    request: Request,
    token: str,
    session: SessionDep,
    _csrf: CsrfDep,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Create an account from the invitation's page, sign in and join."""
    invitations.find(session, token)  # a dead link is refused before an account is made
    try:
        user = user_service.create_user(session, email=email, password=password, name=name.strip())
    except ServiceError as exc:
        return _invite_page(
            request,
            session,
            token,
            error=exc.message,
            form={"name": name, "email": email},
            status=exc.status,
        )
    invitation = invitations.accept(session, token, user)
    sign_in(request, session, user)
    flash(request, f"Welcome! You joined the project as {invitation.role}.", "success")
    return redirect(f"/projects/{invitation.project_id}")
