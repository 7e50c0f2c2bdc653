"""create_app(): the API, the ingestion endpoints and (later) the dashboard on one port."""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from app import web
from app.api.routes import (
    deployment,
    devices,
    dsp,
    impulses,
    ingestion,
    jobs,
    learn,
    projects,
    raw_data,
    remote_management,
    sample_edits,
    tuner,
)
from app.core.config import Settings, get_settings
from app.devices.hub import DeviceHub
from app.schemas.errors import describe
from app.services.errors import ServiceError
from app.services.ingest_batcher import ApiKeyCache, IngestBatcher
from app.services.throttle import LoginThrottle

# sample_edits before raw_data: its /raw-data/batch/... paths must not be read as /raw-data/{sampleId}/...
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
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Ingestion writes run in worker threads while the event loop decodes requests; with the default 5 ms
    # GIL switch interval every database round trip of a writer waits up to 5 ms to get the GIL back.
    sys.setswitchinterval(0.0005)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
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
    app.add_middleware(
        ingestion.IngestionFastPath
    )  # added last: runs first, ahead of the session middleware

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"success": False, "error": exc.message}, status_code=exc.status)

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
    return app
