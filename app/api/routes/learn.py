"""Training, model testing, live classification and uploaded models."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.api.deps import ProjectDep, SessionDep, SettingsDep, StoreDep, TaskSenderDep
from app.schemas.impulses import TimeSeriesInputBlock
from app.schemas.jobs import JobStarted, LearnJobRequest
from app.schemas.learning import ClassifyRequest
from app.services import artifacts, learning, readiness
from app.services import impulses as impulse_service
from app.services import jobs as job_service
from app.services import samples as sample_service
from app.services.errors import BadRequest, TooLarge

router = APIRouter(prefix="/api/{projectId}", tags=["learning"])


def _block(session, project, impulse_id: int, learn_id: int | None):
    impulse = impulse_service.get_impulse(session, project.id, impulse_id)
    return impulse, learning.learn_block(impulse, learn_id)


@router.post(
    "/jobs/train", summary="Start a training job for a learning block (float32 + int8 models)"
)
def train(
    body: LearnJobRequest, project: ProjectDep, session: SessionDep, sender: TaskSenderDep
) -> JobStarted:
    impulse, block = _block(session, project, body.impulseId, body.learnId)
    impulse_service.validate_learn_settings(block)
    readiness.refuse(readiness.training_blocker(session, impulse, block))
    learning.check_ready_to_train(session, impulse, block)
    params = {"impulse_id": impulse.id, "learn_id": block.id}
    readiness.refuse_duplicate(session, project.id, "train", params)
    return JobStarted.of(job_service.queue_job(session, sender, project.id, "train", params))


@router.post("/jobs/test", summary="Start a model testing job on the testing data")
def test(
    body: LearnJobRequest, project: ProjectDep, session: SessionDep, sender: TaskSenderDep
) -> JobStarted:
    impulse, block = _block(session, project, body.impulseId, body.learnId)
    readiness.refuse(readiness.testing_blocker(session, impulse, block))
    params = {"impulse_id": impulse.id, "learn_id": block.id}
    readiness.refuse_duplicate(session, project.id, "test", params)
    return JobStarted.of(job_service.queue_job(session, sender, project.id, "test", params))


@router.get(
    "/impulses/{impulseId}/learn/{learnId}/results", summary="Training results (float32 vs int8)"
)
def training_results(
    impulseId: int,
    learnId: int,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
) -> dict:
    impulse, block = _block(session, project, impulseId, learnId)
    out = artifacts.read_json(
        store, artifacts.learn_artifact(session, impulse, block.id, "training-results")
    )
    out["downloads"] = {a.kind: a.id for a in artifacts.learn_artifacts(session, impulse, block.id)}
    return {"success": True, **out}


@router.get(
    "/impulses/{impulseId}/learn/{learnId}/profile",
    summary="Latency, RAM and flash per board, int8 beside float32 (dsp, model, anomaly, total)",
)
def learn_profile(
    impulseId: int,
    learnId: int,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
    board: Annotated[list[str] | None, Query(description="board preset names (repeatable)")] = None,
) -> dict:
    from app.services import profiles

    impulse, block = _block(session, project, impulseId, learnId)
    return {
        "success": True,
        "targetBoard": profiles.project_board(project),
        **profiles.learn_profile(session, store, impulse, block.id, boards=board),
    }


@router.get("/impulses/{impulseId}/learn/{learnId}/test-results", summary="Model testing results")
def test_results(
    impulseId: int,
    learnId: int,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
) -> dict:
    impulse, block = _block(session, project, impulseId, learnId)
    return {
        "success": True,
        **artifacts.read_json(
            store, artifacts.learn_artifact(session, impulse, block.id, "test-results")
        ),
    }


@router.post(
    "/impulses/{impulseId}/classify/{sampleId}", summary="Live classification of a stored sample"
)
def classify_sample(
    impulseId: int,
    sampleId: int,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
) -> dict:
    impulse = impulse_service.get_impulse(session, project.id, impulseId)
    sample = sample_service.get_sample(session, project.id, sampleId)
    return {"success": True, **learning.classify_sample(session, store, impulse, sample)}


@router.post(
    "/impulses/{impulseId}/classify", summary="Live classification of values sent in the request"
)
def classify_values(
    impulseId: int,
    body: ClassifyRequest,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
) -> dict:
    from workers.dsp import DspError, ParamError, make_windows

    impulse = impulse_service.get_impulse(session, project.id, impulseId)
    if not isinstance(impulse.input, TimeSeriesInputBlock):
        raise BadRequest(
            "this impulse takes images: upload the image and classify the stored sample"
        )
    try:
        arr = np.asarray(body.values, dtype=np.float64)
        windows = make_windows(
            arr,
            interval_ms=body.interval_ms,
            spec=impulse.input.to_dsp(),
            sensor_names=body.sensors,
        )
    except (ValueError, DspError, ParamError) as exc:
        raise BadRequest(str(exc)) from exc
    return {"success": True, **learning.classify_windows(session, store, impulse, windows)}


@router.post("/models/upload", summary="Bring your own model: upload a .tflite (float32 or int8)")
async def upload_model(
    request: Request,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
) -> dict:
    form = await request.form(max_files=1, max_part_size=settings.max_file_bytes)
    part = form.get("file") or form.get("data")
    if not isinstance(part, UploadFile):
        raise BadRequest("send the model as multipart/form-data in a field named 'file'")
    if (part.size or 0) > settings.max_file_bytes:
        raise TooLarge(f"the model is {part.size} bytes; the limit is {settings.max_file_bytes}")
    data = await part.read()
    name = part.filename or "model.tflite"
    art = await run_in_threadpool(
        learning.store_uploaded_model, session, store, project.id, name, data
    )
    return {"success": True, "id": art.id, "name": art.name, **art.meta}


@router.get("/models", summary="Uploaded models")
def list_models(project: ProjectDep, session: SessionDep) -> dict[str, Any]:
    models = artifacts.project_artifacts(session, project.id, kind=artifacts.UPLOADED_MODEL)
    return {
        "success": True,
        "models": [{"id": a.id, "name": a.name, "size": a.size_bytes, **a.meta} for a in models],
    }


# --- Edge Impulse's pretrained-model API (the SDK's model.profile / list_profile_devices) -------


@router.post("/pretrained-model/upload", summary="Upload a .tflite to profile or deploy (EI SDK)")
async def upload_pretrained_model(
    request: Request,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
) -> dict:
    from app.services import ei_profile

    form = await request.form(max_files=2, max_part_size=settings.max_file_bytes)
    part = form.get("modelFile")
    if not isinstance(part, UploadFile):
        raise BadRequest("send the model as multipart/form-data in a field named 'modelFile'")
    file_type = str(form.get("modelFileType") or "tflite")
    if file_type != "tflite":
        raise BadRequest(f"model file type '{file_type}' is not supported: upload a .tflite")
    data = await part.read()
    if len(data) > settings.max_file_bytes:
        raise TooLarge(f"the model is {len(data)} bytes; the limit is {settings.max_file_bytes}")
    name = str(form.get("modelFileName") or part.filename or "model.tflite")
    device = form.get("device")
    job_id = await run_in_threadpool(
        ei_profile.upload,
        session,
        store,
        project,
        name=name,
        data=data,
        device=str(device) if device else None,
    )
    return {"success": True, "id": job_id}


@router.post("/pretrained-model/profile", summary="Profile the uploaded model (EI SDK)")
async def profile_pretrained_model(
    project: ProjectDep, session: SessionDep, store: StoreDep
) -> dict:
    from app.services import ei_profile

    job_id = await run_in_threadpool(ei_profile.profile, session, store, project)
    return {"success": True, "id": job_id}


@router.get("/pretrained-model", summary="The uploaded model, its tensors and profile (EI SDK)")
def get_pretrained_model(project: ProjectDep, session: SessionDep) -> dict:
    from app.services import ei_profile

    return ei_profile.pretrained_model(session, project)


@router.post(
    "/pretrained-model/save", summary="Input/output description of the uploaded model (EI SDK)"
)
async def save_pretrained_model(request: Request, project: ProjectDep, session: SessionDep) -> dict:
    from app.services import ei_profile

    try:
        body = await request.json()
    except ValueError:  # an empty or non-JSON body
        body = None
    if not isinstance(body, dict) or "model" not in body:
        raise BadRequest("send {'input': {...}, 'model': {...}} as JSON")
    art = ei_profile.current_model(session, project.id)
    art.meta = {**(art.meta or {}), "ei_model_info": body}
    return {"success": True}
