"""Samples of a project (paths as Edge Impulse's Studio API, so its SDK works unchanged)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import ProjectDep, SessionDep, StoreDep
from app.models import Device
from app.schemas.ei import sample_json
from app.schemas.samples import Category, LabelBody, MoveBody, RenameBody
from app.services import samples as sample_service
from app.services.errors import BadRequest
from app.services.samples import SampleFilter

router = APIRouter(prefix="/api/{projectId}", tags=["raw-data"])

# Edge Impulse's clients also ask for these; Tinyforge holds no such samples, so they list empty.
QueryCategory = Literal["training", "testing", "anomaly", "validation", "post-processing"]
MEDIA = {
    "wav": "audio/wav",
    "json": "application/json",
    "cbor": "application/cbor",
    "csv": "text/csv",
    "jpg": "image/jpeg",
    "png": "image/png",
}


def _labels(labels: str | None) -> list[str] | None:
    if labels is None or labels == "":
        return None
    try:
        parsed = json.loads(labels)
    except ValueError:
        return [labels]
    if parsed is None:
        return None
    if isinstance(parsed, str):
        return [parsed]
    if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
        raise BadRequest("labels must be a label or a JSON array of labels")
    return parsed or None


def _filter(category, labels, filename, search, enabled) -> SampleFilter:
    return SampleFilter(
        category=category, labels=_labels(labels), filename=filename, search=search, enabled=enabled
    )


def _device(session, sample):
    return session.get(Device, sample.device_id) if sample.device_id else None


@router.get(
    "/raw-data", summary="List samples (filter by category, labels, filename, search; paginated)"
)
def list_samples(
    project: ProjectDep,
    session: SessionDep,
    category: QueryCategory | None = None,
    labels: str | None = None,
    filename: str | None = None,
    search: str | None = None,
    enabled: bool | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
) -> dict:
    rows, total = sample_service.list_samples(
        session,
        project.id,
        _filter(category, labels, filename, search, enabled),
        offset=offset,
        limit=limit,
    )
    return {
        "success": True,
        "samples": [sample_json(s, _device(session, s)) for s in rows],
        "totalCount": total,
    }


@router.get("/raw-data/count", summary="Count samples")
def count_samples(
    project: ProjectDep,
    session: SessionDep,
    category: QueryCategory | None = None,
    labels: str | None = None,
    filename: str | None = None,
    search: str | None = None,
    enabled: bool | None = None,
) -> dict:
    n = sample_service.count_samples(
        session, project.id, _filter(category, labels, filename, search, enabled)
    )
    return {"success": True, "count": n}


@router.get("/raw-data/label-counts", summary="Samples per category and label")
def label_counts(project: ProjectDep, session: SessionDep) -> dict:
    return {"success": True, "counts": sample_service.label_counts(session, project.id)}


@router.get("/raw-data/{sampleId}", summary="One sample with its values")
def get_sample(
    sampleId: int,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
    limitPayloadValues: int | None = None,
) -> dict:
    sample = sample_service.get_sample(session, project.id, sampleId)
    device = _device(session, sample)
    payload: dict = {
        "device_name": device.name if device else "",
        "device_type": device.device_type if device else "",
        "sensors": sample.sensors,
        "intervalMs": sample.interval_ms,
        "frequencyHz": sample.frequency_hz,
        "values": [],
    }
    total = 0
    if sample.kind == "timeseries":
        values, _, _ = sample_service.sample_values(store, sample)
        total = int(values.shape[0])
        if limitPayloadValues is not None and limitPayloadValues >= 0:
            values = values[:limitPayloadValues]
        payload["values"] = values.tolist()
    return {
        "success": True,
        "sample": sample_json(sample, device),
        "payload": payload,
        "totalPayloadLength": total,
        "datastreamPayloads": [],
    }


@router.get("/raw-data/{sampleId}/raw", summary="Download the file as it was ingested")
def download_sample(
    sampleId: int, project: ProjectDep, session: SessionDep, store: StoreDep
) -> Response:
    sample = sample_service.get_sample(session, project.id, sampleId)
    data = sample_service.read_blob(store, sample)
    return Response(
        data,
        media_type=MEDIA.get(sample.format, "application/octet-stream"),
        headers={"content-disposition": f'attachment; filename="{sample.id}.{sample.format}"'},
    )


@router.get("/raw-data/{sampleId}/image", summary="An image sample as it was ingested")
def sample_image(
    sampleId: int, project: ProjectDep, session: SessionDep, store: StoreDep
) -> Response:
    sample = sample_service.get_sample(session, project.id, sampleId)
    if sample.kind != "image":
        raise BadRequest(f"sample {sampleId} is a time series, not an image")
    return Response(sample_service.read_blob(store, sample), media_type=MEDIA[sample.format])


@router.get(
    "/raw-data/{sampleId}/wav", summary="One axis of a time-series sample as a 16-bit WAV file"
)
def sample_wav(
    sampleId: int,
    project: ProjectDep,
    session: SessionDep,
    store: StoreDep,
    axisIx: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    sample = sample_service.get_sample(session, project.id, sampleId)
    if sample.format == "wav" and axisIx == 0 and len(sample.sensors) == 1:
        return Response(sample_service.read_blob(store, sample), media_type="audio/wav")
    return Response(sample_service.sample_wav(store, sample, axis=axisIx), media_type="audio/wav")


@router.delete("/raw-data/{sampleId}", summary="Delete a sample")
def delete_sample(sampleId: int, project: ProjectDep, session: SessionDep, store: StoreDep) -> dict:
    sample = sample_service.get_sample(session, project.id, sampleId)
    sample_service.delete_samples(session, store, [sample])
    return {"success": True}


@router.post("/raw-data/{sampleId}/edit-label", summary="Change a sample's label")
def edit_label(sampleId: int, body: LabelBody, project: ProjectDep, session: SessionDep) -> dict:
    sample_service.relabel(
        session, sample_service.get_sample(session, project.id, sampleId), body.label
    )
    return {"success": True}


@router.post("/raw-data/{sampleId}/rename", summary="Rename a sample")
def rename(sampleId: int, body: RenameBody, project: ProjectDep, session: SessionDep) -> dict:
    sample_service.rename(
        session, sample_service.get_sample(session, project.id, sampleId), body.name
    )
    return {"success": True}


@router.post("/raw-data/{sampleId}/move", summary="Move a sample to another category")
def move(sampleId: int, body: MoveBody, project: ProjectDep, session: SessionDep) -> dict:
    sample_service.move(
        session, sample_service.get_sample(session, project.id, sampleId), body.newCategory
    )
    return {"success": True}


@router.post("/raw-data/{sampleId}/enable", summary="Include a sample in training and testing")
def enable(sampleId: int, project: ProjectDep, session: SessionDep) -> dict:
    sample_service.set_enabled(
        session, sample_service.get_sample(session, project.id, sampleId), True
    )
    return {"success": True}


@router.post("/raw-data/{sampleId}/disable", summary="Exclude a sample from training and testing")
def disable(sampleId: int, project: ProjectDep, session: SessionDep) -> dict:
    sample_service.set_enabled(
        session, sample_service.get_sample(session, project.id, sampleId), False
    )
    return {"success": True}


@router.post("/raw-data/delete-all", summary="Delete every sample of the project")
def delete_all(project: ProjectDep, session: SessionDep, store: StoreDep) -> dict:
    n = sample_service.delete_all(session, store, project.id)
    return {"success": True, "deleted": n}


@router.post("/raw-data/delete-all/{category}", summary="Delete every sample of one category")
def delete_all_category(
    category: Category, project: ProjectDep, session: SessionDep, store: StoreDep
) -> dict:
    n = sample_service.delete_all(session, store, project.id, category)
    return {"success": True, "deleted": n}


@router.post("/rebalance", summary="Re-split training/testing ~80/20, deterministically")
def rebalance(project: ProjectDep, session: SessionDep) -> dict:
    out = sample_service.rebalance(session, project.id)
    total = out["training"] + out["testing"]
    ratio = {
        "training": out["training"],
        "testing": out["testing"],
        "trainingPercent": round(100 * out["training"] / total, 1) if total else 0.0,
    }
    return {"success": True, "ratio": ratio, "moved": out["moved"]}


@router.get("/devices", summary="Devices that sent data")
def devices(project: ProjectDep, session: SessionDep) -> dict:
    from sqlalchemy import select

    rows = session.scalars(
        select(Device).where(Device.project_id == project.id).order_by(Device.last_seen_at.desc())
    )
    return {
        "success": True,
        "devices": [
            {
                "id": d.id,
                "name": d.name,
                "deviceType": d.device_type,
                "samples": d.samples_count,
                "created": d.created_at.isoformat(),
                "lastSeen": d.last_seen_at.isoformat(),
            }
            for d in rows
        ],
    }
