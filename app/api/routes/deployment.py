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
    }


@router.post(
    "/{projectId}/jobs/build-ondevice-model",
    summary="Start a job that builds and verifies a C library",
)
def build(
    project: ProjectDep,
    session: SessionDep,
    sender: TaskSenderDep,
    body: BuildRequest | None = None,
    type: str | None = None,  # Edge Impulse's query parameter
) -> JobStarted:
    params = deployment.validate_request(body or BuildRequest())
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
