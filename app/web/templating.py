"""Jinja2 pages: the template environment, flash messages, and a route class that answers errors in
HTML."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app.schemas.errors import describe
from app.services.errors import ServiceError
from app.web.security import CSRF_FIELD, csrf_token

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = REPO_ROOT / "templates"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _csrf_input(request: Request) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, csrf_token(request)
    )


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _tojson_attr(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


templates.env.globals["csrf_input"] = _csrf_input
templates.env.globals["csrf_token"] = csrf_token
templates.env.filters["when"] = _when
templates.env.filters["json_attr"] = _tojson_attr


def data_back_target(project_id: int, back: str | None) -> str:
    """Where a data edit returns (the table with its filters, or the sample page); never off this
    project's data."""
    prefix = f"/projects/{project_id}/data"
    return back if back and back.startswith(prefix) and "//" not in back else prefix


def flash(request: Request, message: str, kind: str = "info", *, field: str | None = None) -> None:
    """Queue a message for the next page this browser renders; with `field`, the page shows it at
    that field."""
    entry = {"kind": kind, "message": message, **({"field": field} if field else {})}
    request.session["flash"] = [*request.session.get("flash", []), entry]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    queued = request.session.pop("flash", []) if "session" in request.scope else []
    ctx = {
        "request": request,
        "flashes": [f for f in queued if not f.get("field")],
        "field_errors": {f["field"]: f["message"] for f in queued if f.get("field")},
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _fold_tracebacks(lines: Any) -> list[dict[str, Any]]:
    """Job log lines as shown: `{"id", "line"}` each, except that a traceback (from its
    "Traceback (most recent call last)" line up to the line before "failed: ...") becomes one
    `{"id", "traceback": [lines]}` entry, rendered behind "details"."""
    out: list[dict[str, Any]] = []
    folding: dict[str, Any] | None = None
    for ln in lines:
        text = ln.line
        if text.startswith("Traceback (most recent call last)"):
            folding = {"id": ln.id, "ids": [ln.id], "traceback": [text]}
            out.append(folding)
        elif folding is not None and not text.startswith("failed: "):
            folding["traceback"].append(text)
            folding["ids"].append(ln.id)
        else:
            folding = None
            out.append({"id": ln.id, "line": text})
    return out


templates.env.filters["fold_tracebacks"] = _fold_tracebacks


class HtmlRoute(APIRoute):
    """Dashboard routes: a domain error or an HTTP error becomes an HTML page, a 303 becomes a
    redirect."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            # the request's transaction (app.api.deps.get_session) ends after this returns: an
            # error caught here rolls it back, a page answering 4xx drops its audit entry
            try:
                response = await handler(request)
            except HTTPException as exc:
                request.state.failed = True
                if (
                    exc.status_code in (301, 302, 303, 307, 308)
                    and exc.headers
                    and "location" in exc.headers
                ):
                    return RedirectResponse(exc.headers["location"], status_code=exc.status_code)
                return _error_page(request, exc.status_code, str(exc.detail))
            except ServiceError as exc:
                request.state.failed = True
                return _error_page(request, exc.status, exc.message)
            except RequestValidationError as exc:
                request.state.failed = True
                return _error_page(request, 422, describe(exc.errors()))
            if response.status_code >= 400:
                from app.api.deps import drop_change

                drop_change(request)
            return response

        return route


TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported",
    410: "Gone",
    422: "Invalid input",
}


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "Error"), "message": message},
        status_code=status,
    )
