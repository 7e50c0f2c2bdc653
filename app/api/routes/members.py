"""A project's members, invitations, API keys and audit log (docs/teams.md). Who may call what is
decided in `app.services.roles`, checked by the `AccessDep` dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from app.api.deps import AccessDep, CallerDep, SessionDep, SettingsDep
from app.core.db import on_commit
from app.schemas.teams import ApiKeyCreate, InvitationCreate, MemberUpdate
from app.services import audit, invitations, members
from app.services import projects as project_service
from app.services.roles import Role

router = APIRouter(prefix="/api/{projectId}", tags=["members"])

UserId = Annotated[int, Path(alias="userId", ge=1)]


@router.get("/members", summary="The project's members and their roles")
def list_members(access: AccessDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "members": [members.member_json(m) for m in members.members(session, access.project.id)],
    }


def _set_role(access, session, user_id: int, body: MemberUpdate) -> dict:
    role = Role.parse(body.role)
    old = members.set_role(
        session, access.project, user_id, role, by=access.role, actor=access.actor
    )
    return {"success": True, "userId": user_id, "role": role.label, "previousRole": old.label}


@router.put("/members/{userId}", summary="Change a member's role (admin; owner for owners)")
def put_member(body: MemberUpdate, user_id: UserId, access: AccessDep, session: SessionDep) -> dict:
    return _set_role(access, session, user_id, body)


@router.patch("/members/{userId}", summary="Change a member's role (as PUT)")
def patch_member(
    body: MemberUpdate, user_id: UserId, access: AccessDep, session: SessionDep
) -> dict:
    return _set_role(access, session, user_id, body)


@router.delete(
    "/members/{userId}", summary="Remove a member (their dashboard sessions end at once)"
)
def delete_member(user_id: UserId, access: AccessDep, session: SessionDep) -> dict:
    members.remove(session, access.project, user_id, by=access.role, actor=access.actor)
    return {"success": True}


@router.post("/invitations", summary="Create an invitation link (shown once)")
def create_invitation(
    body: InvitationCreate,
    access: AccessDep,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> dict:
    new = invitations.create(
        session,
        access.project,
        Role.parse(body.role),
        by=access.role,
        actor=access.actor,
        created_by_id=caller.user.id if caller.user else None,
        expires_in_days=body.expiresInDays,
    )
    base = (settings.base_url or str(request.base_url)).rstrip("/")
    return {
        "success": True,
        "invitation": invitations.invitation_json(new.invitation),
        "url": base + invitations.invite_path(new.token),
    }


@router.get("/invitations", summary="Pending invitations (not used, revoked or expired)")
def list_invitations(access: AccessDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "invitations": [
            invitations.invitation_json(i) for i in invitations.pending(session, access.project.id)
        ],
    }


@router.delete("/invitations/{invitationId}", summary="Revoke an invitation")
def delete_invitation(
    invitation_id: Annotated[int, Path(alias="invitationId", ge=1)],
    access: AccessDep,
    session: SessionDep,
) -> dict:
    invitations.revoke(session, access.project.id, invitation_id, actor=access.actor)
    return {"success": True}


@router.get("/apikeys", summary="The project's API keys (prefix, name, role; never the key)")
def list_api_keys(access: AccessDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "apiKeys": [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.prefix,
                "role": k.role,
                "created": k.created_at.isoformat(),
                "lastUsed": k.last_used_at.isoformat() if k.last_used_at else None,
                "revoked": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in project_service.api_keys(session, access.project.id)
        ],
    }


@router.post("/apikeys", summary="Create an API key with a role (the key is shown once)")
def create_api_key(
    body: ApiKeyCreate, access: AccessDep, session: SessionDep, request: Request
) -> dict:
    key = project_service.create_api_key(session, access.project, name=body.name, role=body.role)
    audit.record(
        session,
        access.project.id,
        access.actor,
        "apikey.create",
        target=body.name,
        detail={"role": body.role},
    )
    return {"success": True, "apiKey": key, "role": body.role}


@router.delete("/apikeys/{apiKeyId}", summary="Revoke an API key")
def revoke_api_key(
    key_id: Annotated[int, Path(alias="apiKeyId", ge=1)],
    access: AccessDep,
    session: SessionDep,
    request: Request,
) -> dict:
    key = project_service.revoke_api_key(session, access.project.id, key_id)
    on_commit(session, request.app.state.key_cache.clear)
    audit.record(
        session,
        access.project.id,
        access.actor,
        "apikey.revoke",
        target=f"{key.name} ({key.prefix}…)",
        detail={"apiKeyId": key.id, "role": key.role},
    )
    return {"success": True}


@router.get("/audit", summary="The project's audit log, newest first (admin)")
def audit_log(
    access: AccessDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = 100,
    before: Annotated[int | None, Query(ge=1, description="an event id: older ones")] = None,
) -> dict:
    events = audit.events(session, access.project.id, limit=limit, before=before)
    return {"success": True, "events": [audit.event_json(e) for e in events]}
