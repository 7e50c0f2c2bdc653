"""Deployment: build a verified C library (as Edge Impulse's clients call it) and download it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import ProjectDep, SessionDep, StoreDep, TaskSenderDep
from app.schemas.jobs import BuildRequest, JobStarted
from app.services import deployment
from app.services import jobs as job_service

router = APIRouter(prefix="/api", tags=["deployment"])


@router.get("/deployment/targets", summary="Deployment targets and the boards that use them")
def targets() -> dict:
    from workers.deploy.targets import BOARDS, TARGETS

    return {"success": True,
            "targets": [{"name": t.name, "kind": t.kind, "core": t.core, "fpu": t.fpu, "dsp": t.dsp, "helium": t.helium,
                         "clockHz": t.clock_hz, "ramBytes": t.ram_bytes, "flashBytes": t.flash_bytes,
                         "description": t.description, "qemu": t.qemu.name if t.qemu else None}
                        for t in TARGETS.values()],
            "boards": [{"name": b.name, "target": b.target, "mcu": b.mcu, "clockHz": b.clock_hz,
                        "flashBytes": b.flash_bytes, "ramBytes": b.ram_bytes} for b in BOARDS],
            "engines": ["compiled", "tflite-micro"], "modelTypes": ["int8", "float32"]}


@router.post("/{projectId}/jobs/build-ondevice-model", summary="Start a job that builds and verifies a C library")
def build(project: ProjectDep, session: SessionDep, sender: TaskSenderDep, body: BuildRequest | None = None,
          type: str | None = None) -> JobStarted:  # noqa: A002 - Edge Impulse's query parameter
    params = deployment.validate_request(body or BuildRequest())
    if params.get("impulseId") is not None:
        from app.services import impulses, learning

        impulse = impulses.get_impulse(session, project.id, params["impulseId"])
        block = learning.learn_block(impulse, params.get("learnId"))
        learning.model_artifact(session, impulse, block.id, "tflite-int8")
    job = job_service.queue_job(session, sender, project.id, "build", {**params, "type": type or "zip"})
    return JobStarted.of(job)


@router.get("/{projectId}/deployment/download", summary="Download the latest (or a given) library zip")
def download(project: ProjectDep, session: SessionDep, store: StoreDep,
             type: str | None = None,  # noqa: A002
             artifactId: Annotated[int | None, Query()] = None) -> Response:  # noqa: N803
    art = deployment.latest_deployment(session, project.id, artifactId)
    return Response(store.get(art.blob_key), media_type="application/zip",
                    headers={"content-disposition": f'attachment; filename="{art.name}"'})


@router.get("/{projectId}/deployment", summary="Deployments built for the project, with their manifests")
def deployments(project: ProjectDep, session: SessionDep) -> dict:
    from sqlalchemy import select

    from app.models import Artifact

    rows = session.scalars(select(Artifact).where(Artifact.project_id == project.id, Artifact.kind == "deployment")
                           .order_by(Artifact.id.desc()))
    return {"success": True, "deployments": [{"id": a.id, "name": a.name, "size": a.size_bytes, "jobId": a.job_id,
                                              "created": a.created_at.isoformat(), "manifest": a.meta} for a in rows]}
