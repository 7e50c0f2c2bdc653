"""Devices page (which are connected now), the phone as a device (QR code), and the phone client
page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import SessionDep, SettingsDep
from app.devices import service as device_service
from app.services import dashboard
from app.services import projects as project_service
from app.web.deps import PageProjectDep, server_url
from app.web.security import CsrfDep, UserDep
from app.web.templating import HtmlRoute, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])


@router.get("/projects/{project_id}/devices")
def devices(
    request: Request, project: PageProjectDep, user: UserDep, session: SessionDep
) -> Response:
    live = {c.row.device_id: c.row for c in device_service.connected_devices(session, project.id)}
    rows = [(d, live.get(d.name)) for d in dashboard.devices(session, project.id)]
    rows.sort(key=lambda pair: pair[1] is None)  # connected first
    return render(
        request,
        "devices.html",
        {"user": user, "project": project, "nav": "devices", "rows": rows, "connected": len(live)},
    )


def _qr_svg(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_inline(scale=5, dark="#111827", light="#ffffff")


@router.get("/projects/{project_id}/devices/phone")
def phone_setup(request: Request, project: PageProjectDep, user: UserDep) -> Response:
    return render(
        request,
        "phone_setup.html",
        {"user": user, "project": project, "nav": "devices", "url": None},
    )


@router.post("/projects/{project_id}/devices/phone")
def phone_key(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
) -> Response:
    """An ingestion key of its own for the phone (it can send data and nothing else; revocable apart
    from the others); shown once, inside the QR code."""
    key = project_service.create_api_key(session, project, name="phone", role="ingestion")
    url = f"{server_url(request, settings)}/phone#apiKey={key}"
    return render(
        request,
        "phone_setup.html",
        {
            "user": user,
            "project": project,
            "nav": "devices",
            "url": url,
            "qr": _qr_svg(url),
            "secure": url.startswith("https://") or "//127.0.0.1" in url or "//localhost" in url,
        },
    )


@router.get("/phone")
def phone(request: Request) -> Response:
    """The phone client: no sign-in, the project API key comes in the URL's fragment (never sent to
    a server)."""
    return render(request, "phone.html", {})
