"""Processing blocks: their declarations, and a synchronous preview on one window."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from app.api.deps import ProjectDep, SessionDep, StoreDep
from app.schemas.dsp import DspRunRequest
from app.services import features as feature_service
from app.services import impulses as impulse_service
from app.services import samples as sample_service
from app.services.errors import BadRequest

router = APIRouter(tags=["dsp"])


@router.get(
    "/api/dsp-blocks",
    summary="Every processing block with its parameters (the JSON the forms are built from)",
)
def dsp_blocks() -> dict:
    return {"success": True, **impulse_service.block_declarations()}


@router.post(
    "/api/{projectId}/dsp/run",
    summary="Run a processing block on one window and return features and graphs",
)
async def dsp_run(
    body: DspRunRequest, project: ProjectDep, session: SessionDep, store: StoreDep
) -> dict:
    input_spec = None
    if body.impulse_id is not None:
        input_spec = impulse_service.get_impulse(session, project.id, body.impulse_id).input
    values = image = None
    interval, sensors = body.interval_ms, body.sensors
    if body.sample_id is not None:
        if body.values is not None:
            raise BadRequest("send either 'values' or 'sample_id', not both")
        sample = sample_service.get_sample(session, project.id, body.sample_id)
        if sample.kind == "image":
            image = await run_in_threadpool(sample_service.sample_image, store, sample)
        else:
            values, interval, sensor_list = await run_in_threadpool(
                sample_service.sample_values, store, sample
            )
            sensors = [s["name"] for s in sensor_list]
    elif body.values is not None:
        try:
            values = np.asarray(body.values, dtype=np.float64)
        except ValueError as exc:
            raise BadRequest(
                "values must be a list of rows of equal length (rows × axes) or a flat list"
            ) from exc
    return await run_in_threadpool(
        lambda: feature_service.run_preview(
            block_name=body.block,
            params=body.params,
            values=values,
            interval_ms=interval,
            image=image,
            input_spec=input_spec,
            window=body.window,
            sensor_names=sensors,
        )
    )
