"""The dashboard: server-rendered Jinja2 pages (templates/), forms with CSRF tokens, static files
(app/static/)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles


def install(app: FastAPI) -> None:
    """Add the dashboard's pages and `/static` to `app` (called by `app.main.create_app`)."""
    from app.web.routes import (
        auth,
        data,
        data_tools,
        deployment,
        devices,
        impulses,
        jobs,
        learning,
        members,
        projects,
        tuner,
        versions,
    )
    from app.web.templating import STATIC_DIR

    for module in (
        auth,
        projects,
        data,
        data_tools,
        devices,
        impulses,
        jobs,
        learning,
        deployment,
        tuner,
        members,
        versions,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:  # browsers ask for it before reading the page's <link>
        return RedirectResponse("/static/favicon.svg", status_code=301)
