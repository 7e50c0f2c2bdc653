"""Impulses of a project, their feature sets and the feature explorer."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import ProjectDep, SessionDep, SettingsDep, StoreDep, TaskSenderDep
from app.api.downloads import artifact_download
from app.schemas.impulses import ImpulseCreate, ImpulseUpdate
from app.schemas.jobs import GenerateFeaturesRequest, JobStarted
from app.services import artifacts, readiness
from app.services import features as feature_service
from app.services import impulses as impulse_service
from app.services import jobs as job_service

router = APIRouter(prefix="/api/{projectId}", tags=["impulses"])


@router.get("/impulses", summary="The project's impulses")
def list_impulses(project: ProjectDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "impulses": [
            impulse_service.impulse_json(i)
            for i in impulse_service.list_impulses(session, project.id)
        ],
    }


@router.get(
    "/impulse-defaults",
    summary="The time-series input defaults this project's samples give (rate, window, step)",
)
def impulse_defaults(project: ProjectDep, session: SessionDep) -> dict:
    return {"success": True, "input": impulse_service.data_defaults(session, project.id)}


@router.post(
    "/impulses", summary="Create an impulse (input block, processing blocks, learning blocks)"
)
def create_impulse(project: ProjectDep, session: SessionDep, body: ImpulseCreate) -> dict:
    impulse = impulse_service.create_impulse(session, project.id, body)
    return {"success": True, "id": impulse.id, "impulse": impulse_service.impulse_json(impulse)}


@router.get("/impulses/{impulseId}", summary="One impulse")
def get_impulse(impulseId: int, project: ProjectDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "impulse": impulse_service.impulse_json(
            impulse_service.get_impulse(session, project.id, impulseId)
        ),
    }


@router.put(
    "/impulses/{impulseId}",
    summary="Change an impulse (its revision goes up when the design changes)",
)
def update_impulse(
    impulseId: int,
    project: ProjectDep,
    session: SessionDep,
    body: ImpulseUpdate,
) -> dict:
    impulse = impulse_service.update_impulse(
        session, impulse_service.get_impulse(session, project.id, impulseId), body
    )
    return {"success": True, "impulse": impulse_service.impulse_json(impulse)}


@router.delete("/impulses/{impulseId}", summary="Delete an impulse and its artifacts")
def delete_impulse(
    impulseId: int, project: ProjectDep, session: SessionDep, store: StoreDep
) -> dict:
    impulse_service.delete_impulse(
        session, store, impulse_service.get_impulse(session, project.id, impulseId)
    )
    return {"success": True}


@router.post(
    "/jobs/generate-features", summary="Start a job that generates the features of an impulse"
)
def generate_features(
    body: GenerateFeaturesRequest, project: ProjectDep, session: SessionDep, sender: TaskSenderDep
) -> JobStarted:
    impulse = impulse_service.get_impulse(session, project.id, body.impulseId)
    if body.dspId is not None:
        impulse_service.dsp_block(impulse, body.dspId)
    params = {"impulse_id": impulse.id, "dsp_id": body.dspId}
    readiness.refuse_duplicate(session, project.id, "generate-features", params)
    return JobStarted.of(
        job_service.queue_job(session, sender, project.id, "generate-features", params)
    )


@router.get(
    "/impulses/{impulseId}/features/{dspId}", summary="What the last feature generation produced"
)
def feature_summary(impulseId: int, dspId: int, project: ProjectDep, session: SessionDep) -> dict:
    impulse = impulse_service.get_impulse(session, project.id, impulseId)
    art = artifacts.feature_artifact(session, impulse, impulse_service.dsp_block(impulse, dspId).id)
    return {
        "success": True,
        "artifactId": art.id,
        "stale": art.meta.get("revision") != impulse.revision,
        **art.meta,
    }


@router.get(
    "/impulses/{impulseId}/features/{dspId}/explorer",
    summary="2-D projection of the features with labels (feature explorer) and feature importance",
)
def feature_explorer(
    impulseId: int,
    dspId: int,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
) -> dict:
    impulse = impulse_service.get_impulse(session, project.id, impulseId)
    dsp_id = impulse_service.dsp_block(impulse, dspId).id
    return {"success": True, **feature_service.explorer_view(session, store, impulse, dsp_id)}


@router.get("/artifacts", summary="Files jobs produced")
def list_artifacts(project: ProjectDep, session: SessionDep, impulseId: int | None = None) -> dict:
    return {
        "success": True,
        "artifacts": [
            {
                "id": a.id,
                "kind": a.kind,
                "name": a.name,
                "size": a.size_bytes,
                "sha256": a.sha256,
                "jobId": a.job_id,
                "impulseId": a.impulse_id,
                "meta": a.meta,
                "created": a.created_at.isoformat(),
            }
            for a in artifacts.project_artifacts(session, project.id, impulse_id=impulseId)
        ],
    }


@router.get("/artifacts/{artifactId}/download", summary="Download a file a job produced")
def download_artifact(
    artifactId: int,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    art = artifacts.project_artifact(session, project.id, artifactId)
    return artifact_download(store, settings, art)
