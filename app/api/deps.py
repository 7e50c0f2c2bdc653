"""Request dependencies: settings, the unit-of-work session, the blob store, who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.db import session_factory
from app.core.security import CSRF_SESSION_KEY, csrf_matches
from app.core.storage import BlobStore, get_store
from app.models import Project, User
from app.services import projects as project_service
from app.services import sessions as session_service
from app.services.errors import Forbidden, NotFound, Unauthorized
from app.services.jobs import JobLimits, LimitedSender, TaskSender


def settings_dep(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dep)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back when it raises."""
    session = session_factory(settings)()
    try:
        yield session
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


def _key_may_call(request: Request, role: str) -> bool:
    if role == "full":
        return True
    route = request.scope.get("route")
    path = getattr(route, "path_format", "")
    path = path[3:] if path.startswith("/v1/") else path
    return (request.method, path) in INGESTION_KEY_ROUTES


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
        return Caller(project=project, key_role=key.role)
    token = request.session.get("sid") if "session" in request.scope else None
    user = session_service.session_user(session, token) if token else None
    if user is not None:
        if request.method not in SAFE_METHODS:
            require_csrf(request, request.headers.get("x-csrf-token"))
        return Caller(user=user)
    raise Unauthorized("missing credentials: send a project API key in the x-api-key header")


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_project(
    project_id: Annotated[int, Path(alias="projectId", ge=1)],
    caller: CallerDep,
    session: SessionDep,
) -> Project:
    """The project in the path, if the caller may use it. Others' projects are 404, as if absent."""
    if caller.project is not None:
        if caller.project.id != project_id:
            raise NotFound(
                f"project {project_id} does not exist or this API key has no access to it"
            )
        return caller.project
    assert caller.user is not None
    if not project_service.is_member(session, project_id, caller.user.id):
        raise NotFound(f"project {project_id} does not exist or you have no access to it")
    return project_service.get_project(session, project_id)


ProjectDep = Annotated[Project, Depends(get_project)]
