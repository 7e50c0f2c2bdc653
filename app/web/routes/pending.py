"""The deployment page: it appears as its JSON routes land (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web.deps import PageProjectDep
from app.web.security import UserDep
from app.web.templating import HtmlRoute, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])

FEATURES = {
    "deployment": ("Deployment", "/api/{projectId}/jobs/build-ondevice-model", "Target, engine and precision; "
                   "verification result, flash/RAM figures and the zip"),
}


def api_route_exists(request: Request, path: str) -> bool:
    """Whether the JSON API serves `path` (as listed in the OpenAPI schema, which the app caches)."""
    return path in request.app.openapi().get("paths", {})


def _page(request: Request, project, user, key: str) -> Response:  # noqa: ANN001
    title, path, what = FEATURES[key]
    return render(request, "pending.html", {"user": user, "project": project, "nav": key, "title": title,
                                            "api_path": path, "available": api_route_exists(request, path),
                                            "what": what}, status_code=200)


@router.get("/projects/{project_id}/deployment")
def deployment(request: Request, project: PageProjectDep, user: UserDep) -> Response:
    return _page(request, project, user, "deployment")
