"""Who may do what in a project: the one place that decides it.

A project member has one role, ordered owner > admin > member > viewer. An action is an HTTP
method on a route template; `required_role` answers the least role that may do it:

- a read (GET/HEAD/OPTIONS) needs a viewer, a change (any other method) a member (data,
  impulse, training, tuning, builds, devices: the everyday work);
- `ROUTE_ROLES` raises that for what only admins may do (members, invitations, API/HMAC keys,
  project settings, restoring versions, the audit log) or only owners (deleting the project),
  and for the reads that reveal a secret (the HMAC key: a member's, as a device needs it).

The API (`app.api.deps.get_project`) and the dashboard (`app.web.deps.page_project`) both ask
`required_role` with the route the request matched, so route modules do not check roles
themselves. An API key has a role too (`KEY_ROLES`): "full" acts as a member, "admin" as an
admin; "ingestion" keys only reach `app.api.deps.INGESTION_KEY_ROUTES`.
"""

from __future__ import annotations

from enum import IntEnum

from app.services.errors import BadRequest, Forbidden


class Role(IntEnum):
    VIEWER = 1
    MEMBER = 2
    ADMIN = 3
    OWNER = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str, *, field: str = "role") -> Role:
        try:
            return cls[value.strip().upper()]
        except (KeyError, AttributeError):
            names = ", ".join(r.label for r in sorted(cls, reverse=True))
            raise BadRequest(f"{field}: unknown role '{value}'; use one of {names}") from None


MEMBER_ROLES = tuple(r.label for r in sorted(Role, reverse=True))  # owner, admin, member, viewer

# the role an API key acts with ("ingestion" keys are limited by route, not by role)
KEY_ROLES: dict[str, Role | None] = {"ingestion": None, "full": Role.MEMBER, "admin": Role.ADMIN}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_API = "/api/{projectId}"
_WEB = "/projects/{project_id}"

# Every action that needs more than the default (reads: viewer, changes: member).
ROUTE_ROLES: dict[tuple[str, str], Role] = {
    # project settings (name, description, signed data, board) through the API
    ("POST", _API): Role.ADMIN,
    # secrets: the HMAC key devices sign with
    ("GET", f"{_API}/devkeys"): Role.MEMBER,
    ("GET", f"{_API}/devkeys/hmac"): Role.MEMBER,
    # API keys
    ("GET", f"{_API}/apikeys"): Role.ADMIN,
    ("POST", f"{_API}/apikeys"): Role.ADMIN,
    ("DELETE", f"{_API}/apikeys/{{apiKeyId}}"): Role.ADMIN,
    # members and invitations (listing members is a read: viewer)
    ("PUT", f"{_API}/members/{{userId}}"): Role.ADMIN,
    ("PATCH", f"{_API}/members/{{userId}}"): Role.ADMIN,
    ("DELETE", f"{_API}/members/{{userId}}"): Role.ADMIN,
    ("GET", f"{_API}/invitations"): Role.ADMIN,
    ("POST", f"{_API}/invitations"): Role.ADMIN,
    ("DELETE", f"{_API}/invitations/{{invitationId}}"): Role.ADMIN,
    ("GET", f"{_API}/audit"): Role.ADMIN,
    # versions: restoring makes a new project from one; deleting one
    ("POST", f"{_API}/versions/{{number}}/restore"): Role.ADMIN,
    ("DELETE", f"{_API}/versions/{{number}}"): Role.ADMIN,
    # the dashboard
    ("POST", f"{_WEB}/versions/{{number}}/restore"): Role.ADMIN,
    ("POST", f"{_WEB}/versions/{{number}}/delete"): Role.ADMIN,
    ("POST", f"{_WEB}/delete"): Role.OWNER,
    ("POST", f"{_WEB}/rotate-api-key"): Role.ADMIN,
    ("POST", f"{_WEB}/rotate-hmac-key"): Role.ADMIN,
    ("POST", f"{_WEB}/api-keys"): Role.ADMIN,
    ("POST", f"{_WEB}/members/{{user_id}}/role"): Role.ADMIN,
    ("POST", f"{_WEB}/members/{{user_id}}/remove"): Role.ADMIN,
    ("POST", f"{_WEB}/invitations"): Role.ADMIN,
    ("POST", f"{_WEB}/invitations/{{invitation_id}}/revoke"): Role.ADMIN,
    ("GET", f"{_WEB}/audit"): Role.ADMIN,
}


def required_role(method: str, template: str) -> Role:
    """The least role that may call `method` on the route `template` (as FastAPI spells it, with
    or without the SDK's /v1 prefix)."""
    if template.startswith("/v1/"):
        template = template[3:]
    method = method.upper()
    found = ROUTE_ROLES.get((method, template))
    if found is not None:
        return found
    return Role.VIEWER if method in SAFE_METHODS else Role.MEMBER


def check(held: Role, method: str, template: str, *, who: str = "you") -> None:
    """Raise 403 naming the role needed and the role held, unless `held` suffices."""
    need = required_role(method, template)
    if held < need:
        raise Forbidden(
            f"this needs the {need.label} role in the project; {who} {_verb(who)} {held.label}"
        )


def _verb(who: str) -> str:
    return "are" if who == "you" else "is"
