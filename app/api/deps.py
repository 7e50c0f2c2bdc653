"""Request dependencies: settings, the unit-of-work session, the blob store, who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from sqlalchemy.orm import Session, object_session

from app.core.config import Settings, get_settings
from app.core.db import session_factory
from app.core.security import CSRF_SESSION_KEY, csrf_matches
from app.core.storage import BlobStore, get_store
from app.models import ApiKey, Project, User
from app.services import audit
from app.services import members as member_service
from app.services import projects as project_service
from app.services import sessions as session_service
from app.services.errors import Forbidden, NotFound, Unauthorized
from app.services.jobs import JobLimits, LimitedSender, TaskSender
from app.services.roles import KEY_ROLES, Role, check


def settings_dep(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dep)]


def get_session(request: Request, settings: SettingsDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back when it raises
    (also when a dashboard route turns the error into a page: `app.web.templating.HtmlRoute` sets
    `request.state.failed`)."""
    session = session_factory(settings)()
    try:
        yield session
        if getattr(request.state, "failed", False):
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_blob_store(settings: SettingsDep) -> BlobStore:
    return get_store(settings)


StoreDep = Annotated[BlobStore, Depends(get_blob_store)]


def get_task_sender(settings: SettingsDep) -> TaskSender:
    """The Celery client that sends job messages, with the per-project job limits of the settings
    (see `app.services.jobs.queue_job`)."""
    from workers.celery_app import celery_for  # builds the Celery app for the environment on import

    return LimitedSender(celery_for(settings), JobLimits.of(settings))


TaskSenderDep = Annotated[TaskSender, Depends(get_task_sender)]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_csrf(request: Request, sent: str | None) -> None:
    """A signed-in browser may change things (a form, or the JSON API) only with its session's CSRF
    token."""
    if not csrf_matches(request.session.get(CSRF_SESSION_KEY), sent):
        raise Forbidden(
            "the CSRF token (form field csrf_token or header x-csrf-token) is missing or wrong: "
            "reload the page and retry"
        )


@dataclass
class Caller:
    """Either a project API key (bound to one project) or a signed-in dashboard user."""

    project: Project | None = None
    user: User | None = None
    key_role: str | None = None
    key: ApiKey | None = None

    @property
    def actor(self) -> audit.Actor:
        if self.key is not None:
            return audit.Actor(
                label=f"API key {self.key.name} ({self.key.prefix}…, {self.key.role})",
                key_id=self.key.id,
            )
        assert self.user is not None
        return audit.Actor(label=self.user.email, user_id=self.user.id)


# What an ingestion key may call besides the ingestion endpoints and the devices' WebSocket: what a
# device (Edge Impulse's daemon, data forwarder, phone client) asks before it sends data.
INGESTION_KEY_ROUTES = frozenset(
    {
        ("GET", "/api/projects"),
        ("GET", "/api/{projectId}/devkeys"),
        ("GET", "/api/{projectId}/devkeys/hmac"),
        ("POST", "/api/{projectId}/devices/create"),
        ("GET", "/api/{projectId}/device/{deviceId}"),
    }
)


def route_template(request: Request) -> str:
    """The matched route's path template (`/api/{projectId}/raw-data/{sampleId}`), without the
    SDK's /v1 prefix."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", "") or getattr(route, "path", "")
    return path[3:] if path.startswith("/v1/") else path


def _key_may_call(request: Request, role: str) -> bool:
    if KEY_ROLES.get(role) is not None:
        return True
    return (request.method, route_template(request)) in INGESTION_KEY_ROUTES


def get_caller(
    request: Request, session: SessionDep, x_api_key: Annotated[str | None, Header()] = None
) -> Caller:
    if x_api_key:
        found = project_service.key_and_project(session, x_api_key.strip())
        if found is None:
            raise Unauthorized("the API key in x-api-key is not valid (unknown or revoked)")
        key, project = found
        if not _key_may_call(request, key.role):
            raise Forbidden(
                f"this API key is an {key.role} key: it can send data and register devices, "
                "nothing else; use a full API key of the project"
            )
        return Caller(project=project, key_role=key.role, key=key)
    token = request.session.get("sid") if "session" in request.scope else None
    user = session_service.session_user(session, token) if token else None
    if user is not None:
        if request.method not in SAFE_METHODS:
            require_csrf(request, request.headers.get("x-csrf-token"))
        return Caller(user=user)
    raise Unauthorized("missing credentials: send a project API key in the x-api-key header")


CallerDep = Annotated[Caller, Depends(get_caller)]


@dataclass
class Access:
    """The project in the path, the caller's role in it and who to name in its audit log."""

    project: Project
    role: Role
    actor: audit.Actor


def record_change(request: Request, session: Session, access: Access) -> None:
    """Audit a change request (any method but GET/HEAD/OPTIONS) in its own transaction: it is
    kept only if the request succeeds (a dashboard page answering 4xx drops it: `drop_change`)."""
    if request.method in SAFE_METHODS:
        return
    ids = dict(request.path_params)
    request.state.audit_event = audit.record(
        session,
        access.project.id,
        access.actor,
        f"{request.method} {route_template(request)}",
        target=request.url.path,
        detail={"path": ids},
    )


def drop_change(request: Request) -> None:
    """Forget the audit entry of a request that answered an error without raising."""
    event = getattr(request.state, "audit_event", None)
    if event is not None:
        session = object_session(event)
        if session is not None:
            if event in session.new:
                session.expunge(event)
            else:  # flushed already (a query of the route autoflushed it)
                session.delete(event)


def get_access(
    request: Request,
    project_id: Annotated[int, Path(alias="projectId", ge=1)],
    caller: CallerDep,
    session: SessionDep,
) -> Access:
    """The project in the path, if the caller may use it: others' projects are 404, as if absent;
    an action the caller's role does not allow is 403 (`app.services.roles.required_role`)."""
    if caller.project is not None:
        if caller.project.id != project_id:
            raise NotFound(
                f"project {project_id} does not exist or this API key has no access to it"
            )
        project = caller.project
        role = KEY_ROLES.get(caller.key_role or "")
        if role is not None:  # an ingestion key was already limited to its routes by get_caller
            check(role, request.method, route_template(request), who=f"this {caller.key_role} key")
        access = Access(project=project, role=role or Role.VIEWER, actor=caller.actor)
    else:
        assert caller.user is not None
        held = member_service.member_role(session, project_id, caller.user.id)
        if held is None:
            raise NotFound(f"project {project_id} does not exist or you have no access to it")
        check(held, request.method, route_template(request))
        project = project_service.get_project(session, project_id)
        access = Access(project=project, role=held, actor=caller.actor)
    record_change(request, session, access)
    return access


AccessDep = Annotated[Access, Depends(get_access)]


def get_project(access: AccessDep) -> Project:
    return access.project


ProjectDep = Annotated[Project, Depends(get_project)]
