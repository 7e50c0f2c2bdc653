"""create_app(): the API, the ingestion endpoints and (later) the dashboard on one port."""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from app import web
from app.api.body_limit import BodyLimit
from app.api.openapi import MethodNotAllowed, install_openapi
from app.api.routes import (
    deployment,
    devices,
    dsp,
    impulses,
    ingestion,
    jobs,
    learn,
    members,
    projects,
    raw_data,
    remote_management,
    sample_edits,
    tuner,
    versions,
)
from app.core.config import Settings, get_settings
from app.core.db import is_out_of_range
from app.devices.hub import DeviceHub
from app.schemas.errors import describe
from app.services.errors import ServiceError
from app.services.ingest_batcher import ApiKeyCache, IngestBatcher
from app.services.throttle import LoginThrottle

# sample_edits before raw_data: its /raw-data/batch/... paths must not be read as
# /raw-data/{sampleId}/...
API_ROUTERS = [
    dsp.router,
    deployment.router,
    ingestion.router,
    projects.router,
    sample_edits.router,
    raw_data.router,
    jobs.router,
    tuner.router,
    impulses.router,
    learn.router,
    devices.router,
    versions.router,
    members.router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Ingestion writes run in worker threads while the event loop decodes requests; with the default
    # 5 ms GIL switch interval every database round trip of a writer waits up to 5 ms to get the GIL
    # back.
    sys.setswitchinterval(0.0005)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await app.state.device_hub.stop()
        await app.state.batcher.close()

    app = FastAPI(
        title="Tinyforge",
        version="0.1.0",
        lifespan=lifespan,
        description="Self-hostable TinyML platform: ingestion, impulses, training, deployment.",
    )
    app.state.settings = settings
    app.state.key_cache = ApiKeyCache(settings)
    app.state.batcher = IngestBatcher(settings)
    app.state.login_throttle = LoginThrottle()
    app.state.device_hub = DeviceHub(settings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="tinyforge_session",
        same_site="lax",
        https_only=settings.environment == "production",
    )
    app.add_middleware(MethodNotAllowed, api=app)  # 405 before a parameterised route takes it
    app.add_middleware(ingestion.IngestionFastPath)  # ahead of the session middleware
    # added last, runs first: no body past the limit reaches anything, the fast path included
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        body: dict = {"success": False, "error": exc.message}
        errors = getattr(exc, "errors", ())
        if len(errors) > 1:
            body["errors"] = errors  # every broken rule, each naming its field
        job_id = getattr(exc, "job_id", None)
        if job_id is not None:
            body["jobId"] = job_id  # the job already running (409)
        retry_after = getattr(exc, "retry_after_s", None)
        return JSONResponse(
            body,
            status_code=exc.status,
            headers={"retry-after": str(retry_after)} if retry_after is not None else None,
        )

    @app.exception_handler(StaleDataError)
    async def _stale(_request: Request, _exc: StaleDataError) -> JSONResponse:
        message = (
            "another request changed or deleted the same records meanwhile: nothing was saved; "
            "retry"
        )
        return JSONResponse({"success": False, "error": message}, status_code=409)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_request: Request, exc: Exception) -> JSONResponse:
        # SQLite cannot bind an int beyond 64 bits; PostgreSQL refuses one beyond the column's type
        if not is_out_of_range(exc):
            raise exc
        message = "a number in the request is beyond the database's integer range: no such record"
        return JSONResponse({"success": False, "error": message}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"success": False, "error": describe(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"success": False, "error": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.get(
        "/api/health", tags=["system"], summary="Liveness: answers without touching the database"
    )
    async def health() -> dict:
        return {"success": True, "status": "ok"}

    for router in API_ROUTERS:
        app.include_router(router)
    for router in API_ROUTERS:  # the edgeimpulse SDK's API endpoint ends in /v1
        app.include_router(router, prefix="/v1", include_in_schema=False)
    app.include_router(
        remote_management.router
    )  # the devices' WebSocket, also at "/" as Edge Impulse's
    web.install(app)  # dashboard pages and /static
    install_openapi(app)  # every operation's error statuses declared
    return app
