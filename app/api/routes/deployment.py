"""Deployment: build a verified C library (as Edge Impulse's clients call it) and download it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import ProjectDep, SessionDep, SettingsDep, StoreDep, TaskSenderDep
from app.api.downloads import artifact_download
from app.schemas.jobs import BuildRequest, JobStarted
from app.services import artifacts, deployment, readiness
from app.services import jobs as job_service

router = APIRouter(prefix="/api", tags=["deployment"])


@router.get("/deployment/targets", summary="Deployment targets and the boards that use them")
def targets() -> dict:
    from workers.deploy.targets import BOARDS, TARGETS

    return {
        "success": True,
        "targets": [
            {
                "name": t.name,
                "kind": t.kind,
                "core": t.core,
                "fpu": t.fpu,
                "dsp": t.dsp,
                "helium": t.helium,
                "clockHz": t.clock_hz,
                "ramBytes": t.ram_bytes,
                "flashBytes": t.flash_bytes,
                "description": t.description,
                "qemu": t.qemu.name if t.qemu else None,
            }
            for t in TARGETS.values()
        ],
        "boards": [
            {
                "name": b.name,
                "target": b.target,
                "mcu": b.mcu,
                "clockHz": b.clock_hz,
                "flashBytes": b.flash_bytes,
                "ramBytes": b.ram_bytes,
            }
            for b in BOARDS
        ],
        "engines": ["compiled", "tflite-micro"],
        "modelTypes": ["int8", "float32"],
        "optimize": ["speed", "ram"],
    }


@router.get(
    "/{projectId}/deployment/targets/data-sources",
    summary="Deployment targets in Edge Impulse's format (its SDK's list_deployment_targets)",
)
def targets_data_sources(project: ProjectDep) -> dict:
    from workers.deploy.targets import TARGETS

    def target(fmt: str, name: str, description: str) -> dict:
        return {
            "name": name,
            "description": description,
            "image": "",
            "imageClasses": "",
            "format": fmt,
            "hasEonCompiler": True,
            "hasTensorRT": False,
            "hasTensaiFlow": False,
            "hasDRPAI": False,
            "hasTIDL": False,
            "hasAkida": False,
            "hasMemryx": False,
            "hasStAton": False,
            "hasCevaNpn": False,
            "hasNordicAxon": False,
            "hasQaic": False,
            "hideOptimizations": False,
            "uiSection": "library",
            "supportedEngines": ["tflite", "tflite-eon"],
            "preferredEngine": "tflite-eon",
            "docsUrl": "",
            "modelVariants": [
                {"variant": "int8", "supported": True},
                {"variant": "float32", "supported": True},
            ],
            "parameters": [],
        }

    targets = [target("zip", "C library (zip)", "the host build (linux-x86_64), verified")]
    targets += [target(t.name, t.name, t.description) for t in TARGETS.values()]
    return {"success": True, "targets": targets}


@router.post(
    "/{projectId}/jobs/build-ondevice-model",
    summary="Start a job that builds and verifies a C library",
)
def build(
    project: ProjectDep,
    session: SessionDep,
    sender: TaskSenderDep,
    body: BuildRequest | None = None,
    type: str | None = None,
) -> JobStarted:
    body = body or BuildRequest()
    if body.impulseId is None and body.modelId is None:
        # Edge Impulse's SDK (model.deploy) builds the uploaded "pretrained model"
        from app.services import ei_profile
        from app.services.errors import NotFound

        try:
            model_id = ei_profile.current_model(session, project.id).id
        except NotFound:
            model_id = None  # validate_request says what to send
        if model_id is not None:
            body = body.model_copy(update={"modelId": model_id})
    if body.target is None and type is not None:
        from workers.deploy.targets import TARGETS

        if type in TARGETS:  # the SDK names the target in ?type= (deploy_target)
            body = body.model_copy(update={"target": type})
    params = deployment.validate_request(body)
    deployment.check_ready_to_build(session, project.id, params)
    readiness.refuse_duplicate(session, project.id, "build", params)
    job = job_service.queue_job(
        session, sender, project.id, "build", {**params, "type": type or "zip"}
    )
    return JobStarted.of(job)


@router.get(
    "/{projectId}/deployment/download", summary="Download the latest (or a given) library zip"
)
def download(
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    type: str | None = None,
    artifactId: Annotated[int | None, Query()] = None,
) -> Response:
    art = artifacts.latest_deployment(session, project.id, artifactId)
    return artifact_download(store, settings, art, media_type="application/zip")


@router.get(
    "/{projectId}/deployment", summary="Deployments built for the project, with their manifests"
)
def deployments(project: ProjectDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "deployments": [
            {
                "id": a.id,
                "name": a.name,
                "size": a.size_bytes,
                "jobId": a.job_id,
                "created": a.created_at.isoformat(),
                "manifest": a.meta,
            }
            for a in artifacts.deployments(session, project.id)
        ],
    }
