"""Editing samples: several at once, crop, split (audio: by detected events). Listed ahead of
raw_data's router so that `/raw-data/batch/...` is not taken for a sample id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ProjectDep, SessionDep, StoreDep
from app.dataset.segments import find_segments
from app.schemas.samples import BatchIds, BatchLabel, BatchMove, Range, SplitBody
from app.services import sample_edits
from app.services import samples as sample_service
from app.services.errors import BadRequest

router = APIRouter(prefix="/api/{projectId}", tags=["raw-data"])


@router.post("/raw-data/batch/edit-label", summary="Give several samples one label")
def batch_label(body: BatchLabel, project: ProjectDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "count": sample_edits.bulk_relabel(session, project.id, body.ids, body.label),
    }


@router.post("/raw-data/batch/move", summary="Move several samples to training, testing or anomaly")
def batch_move(body: BatchMove, project: ProjectDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "count": sample_edits.bulk_move(session, project.id, body.ids, body.category),
    }


@router.post("/raw-data/batch/delete", summary="Delete several samples")
def batch_delete(body: BatchIds, project: ProjectDep, session: SessionDep, store: StoreDep) -> dict:
    return {
        "success": True,
        "count": sample_edits.bulk_delete(session, store, project.id, body.ids),
    }


@router.post(
    "/raw-data/{sampleId}/crop", summary="Keep only part of a sample (a new sample replaces it)"
)
def crop(
    sampleId: int, body: Range, project: ProjectDep, session: SessionDep, store: StoreDep
) -> dict:
    sample = sample_service.get_sample(session, project.id, sampleId)
    return {
        "success": True,
        "sampleId": sample_edits.crop(session, store, project, sample, body.startMs, body.endMs),
    }


@router.post(
    "/raw-data/{sampleId}/split", summary="Cut a sample into several (the original is replaced)"
)
def split(
    sampleId: int, body: SplitBody, project: ProjectDep, session: SessionDep, store: StoreDep
) -> dict:
    sample = sample_service.get_sample(session, project.id, sampleId)
    ranges = [(r.startMs, r.endMs) for r in body.segments]
    return {
        "success": True,
        "sampleIds": sample_edits.split(session, store, project, sample, ranges),
    }


@router.get(
    "/raw-data/{sampleId}/find-segments",
    summary="Events in a recording, as segments to split it into",
)
def segments(
    sampleId: int,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
    segmentLengthMs: Annotated[float, Query(gt=0)] = 1000,
    threshold: Annotated[float, Query(gt=0, lt=1)] = 0.3,
) -> dict:
    sample = sample_service.get_sample(session, project.id, sampleId)
    if sample.kind != "timeseries":
        raise BadRequest(f"sample {sampleId} is an image: only time series hold events")
    values, _, _ = sample_service.sample_values(store, sample)
    found = find_segments(
        values,
        frequency_hz=sample.frequency_hz,
        segment_length_ms=segmentLengthMs,
        threshold=threshold,
    )
    return {"success": True, "segments": [{"startMs": a, "endMs": b} for a, b in found]}
