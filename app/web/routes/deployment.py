"""Deployment page: choose a board preset (or a target), engine and precision; build; see the
verification result and the flash/RAM/instruction figures; download the zip."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.api.deps import SessionDep, TaskSenderDep
from app.models import Job
from app.schemas.jobs import BuildRequest
from app.services import artifacts, deployment, learning, readiness
from app.services import impulses as impulse_service
from app.services import jobs as job_service
from app.services.errors import BadRequest, Conflict, NotFound
from app.web.deps import PageProjectDep
from app.web.security import CsrfDep, UserDep
from app.web.templating import HtmlRoute, flash, redirect, render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False, tags=["dashboard"])

DEFAULT_PRESET = "target:linux-x86_64"


def _project_preset(project) -> str:
    """The project's target board (issue 11) preselected; the host build when it has none."""
    from workers.deploy.targets import BOARDS

    for i, b in enumerate(BOARDS):
        if b.name == project.target_board:
            return f"board:{i}"
    return DEFAULT_PRESET


def _last_preset(jobs: list[Job], choices: list[dict[str, Any]]) -> str | None:
    """The preset of the newest build (its board, else its bare target), to preselect it again."""
    for job in jobs:
        board, target = job.params.get("board"), job.params.get("target")
        for c in choices:
            if (board and c["group"] == "Boards" and c["name"] == board) or (
                not board and c["group"] == "Targets" and c["target"] == target
            ):
                return str(c["value"])
    return None


def presets() -> list[dict[str, Any]]:
    """Board presets first (each names its target), then the bare targets."""
    from workers.deploy.targets import BOARDS, TARGETS

    out = [
        {
            "value": f"board:{i}",
            "label": f"{b.name} ({b.mcu}, {b.target})",
            "target": b.target,
            "group": "Boards",
            "flash_bytes": b.flash_bytes,
            "ram_bytes": b.ram_bytes,
            "name": b.name,
        }
        for i, b in enumerate(BOARDS)
    ]
    out += [
        {
            "value": f"target:{t.name}",
            "label": f"{t.name}: {t.description}",
            "target": t.name,
            "group": "Targets",
            "flash_bytes": None,
            "ram_bytes": None,
            "name": t.name,
        }
        for t in TARGETS.values()
    ]
    return out


def library_usage(name: str, data: bytes) -> dict[str, Any] | None:
    """How to use one built library, with the names it really holds: its folder, the Arduino
    example sketch, the CMake target (from its CMakeLists.txt), the Makefile's sources and include
    paths, the header to include. None when the zip is not one of our libraries."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            root = names[0].split("/", 1)[0]
            files = {n[len(root) + 1 :]: n for n in names if n.startswith(root + "/")}
            cmake = zf.read(files["CMakeLists.txt"]).decode()
            make = zf.read(files["Makefile"]).decode()
    except (zipfile.BadZipFile, KeyError, IndexError, UnicodeDecodeError):
        return None
    target = re.search(r"^add_library\((\w+)", cmake, re.M)
    make_vars = dict(re.findall(r"^(\w+) = (.*)$", make, re.M))
    sources = (make_vars.get("MODEL_SRCS", "") + " " + make_vars.get("IMPULSE_SRCS", "")).split()
    headers = sorted(f.rsplit("/", 1)[1] for f in files if re.fullmatch(r"src/[^/]+\.h", f))
    header = next((h for h in headers if h.endswith("classifier.h")), None) or next(
        (h for h in headers if h.endswith("model.h")), None
    )
    return {
        "zip": name,
        "root": root,
        "sketches": sorted(f for f in files if f.endswith(".ino")),
        "cmake_target": target.group(1) if target else None,
        "make_sources": sources,
        "make_includes": make_vars.get("INCLUDES", "").split(),
        "header": header,
        "prefix": header[: -len("classifier.h")] if header and "classifier" in header else None,
    }


def _field_for(message: str) -> str:
    for key, field in (
        ("optimize", "optimize"),
        ("engine", "engine"),
        ("modelType", "model_type"),
        ("target", "preset"),
    ):
        if key in message:
            return field
    return ""


def _page(
    request: Request,
    session,
    project,
    user,
    *,
    impulse_id: int | None,
    learn_id: int | None,
    job_id: int | None,
    values: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    ctx: dict[str, Any] = {
        "user": user,
        "project": project,
        "nav": "deployment",
        "errors": errors or {},
    }
    impulses = impulse_service.list_impulses(session, project.id)
    impulse = (
        impulse_service.get_impulse(session, project.id, impulse_id)
        if impulse_id is not None
        else (impulses[-1] if impulses else None)
    )
    block = None
    if impulse is not None and impulse.learn:
        block = learning.learn_block(impulse, learn_id)
    trained = False
    build_blocker = None
    if impulse is not None and block is not None:
        try:
            artifacts.learn_artifact(session, impulse, block.id, "tflite-int8")
            trained = True
        except NotFound:
            trained = False
        build_blocker = readiness.build_blocker(session, impulse, block)
    jobs = list(
        session.scalars(
            select(Job)
            .where(Job.project_id == project.id, Job.kind == "build")
            .order_by(Job.id.desc())
            .limit(5)
        )
    )
    if job_id is None and jobs and jobs[0].status in ("queued", "running"):
        job_id = jobs[0].id
    builds = artifacts.deployments(session, project.id)
    from app.api.deps import get_blob_store, settings_dep

    store = get_blob_store(settings_dep(request))
    usage = None
    if builds:
        try:
            usage = library_usage(builds[0].name, artifacts.read(store, builds[0]))
        except FileNotFoundError:  # the blob is gone; the card still shows the figures
            usage = None
    choices = presets()
    last = next((j for j in jobs if j.params.get("impulseId") is not None), None)
    ctx.update(
        {
            "values": values
            or {
                "preset": _last_preset(jobs, choices) or _project_preset(project),
                "engine": last.params.get("engine", "compiled") if last else "compiled",
                "model_type": last.params.get("modelType", "int8") if last else "int8",
                "optimize": (last.params.get("optimize") or "speed") if last else "speed",
            },
            "impulses": impulses,
            "impulse": impulse,
            "block": block,
            "trained": trained and build_blocker is None,
            "build_blocker": build_blocker,
            "presets": choices,
            "engines": ["compiled", "tflite-micro"],
            "model_types": ["int8", "float32"],
            "optimize_choices": ["speed", "ram"],
            "jobs": jobs,
            "live_job": next((j for j in jobs if j.id == job_id), None),
            "builds": builds,
            "usage": usage,
            "boards": {p["target"]: p for p in choices},
        }
    )
    from app.web.learn_views import profile_context

    ctx.update(profile_context(session, store, project, impulse, block))
    return render(request, "deployment.html", ctx, status_code=status_code)


@router.get("/projects/{project_id}/deployment")
def deployment_page(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    impulse: int | None = None,
    learn: int | None = None,
    job: int | None = None,
) -> Response:
    return _page(request, session, project, user, impulse_id=impulse, learn_id=learn, job_id=job)


@router.post("/projects/{project_id}/deployment/{impulse_id}/{learn_id}")
async def build(
    request: Request,
    project: PageProjectDep,
    user: UserDep,
    session: SessionDep,
    sender: TaskSenderDep,
    impulse_id: int,
    learn_id: int,
    _csrf: CsrfDep,
) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("preset", "engine", "model_type", "optimize")}
    chosen = next((p for p in presets() if p["value"] == values["preset"]), None)
    impulse = impulse_service.get_impulse(session, project.id, impulse_id)
    block = learning.learn_block(impulse, learn_id)
    errors: dict[str, str] = {}
    try:
        if chosen is None:
            errors["preset"] = f"choose a board or a target (got '{values['preset']}')"
            raise BadRequest(errors["preset"])
        params = deployment.validate_request(
            BuildRequest(
                engine=values["engine"],
                modelType=values["model_type"],
                optimize=values["optimize"] or None,
                target=chosen["target"],
                impulseId=impulse.id,
                learnId=block.id,
            )
        )
        deployment.check_ready_to_build(session, project.id, params)
        readiness.refuse_duplicate(session, project.id, "build", params)
    except (BadRequest, NotFound, Conflict) as exc:
        errors = errors or {_field_for(exc.message): exc.message}
        return _page(
            request,
            session,
            project,
            user,
            impulse_id=impulse.id,
            learn_id=block.id,
            job_id=None,
            values=values,
            errors=errors,
            status_code=exc.status,
        )
    if chosen["group"] == "Boards":
        params["board"] = chosen["name"]
    job = job_service.queue_job(session, sender, project.id, "build", {**params, "type": "zip"})
    flash(
        request,
        f"Build job {job.id} started ({chosen['label']}, {params['engine']}, "
        f"{params['modelType']}).",
        "info",
    )
    return redirect(
        f"/projects/{project.id}/deployment?impulse={impulse.id}&learn={block.id}&job={job.id}"
    )
