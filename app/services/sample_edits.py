"""Data acquisition edits: several samples at once (relabel, move, delete), crop, split. The caller
commits.

A stored file is what a device sent (its hash, maybe its signature), so cropping or splitting never
rewrites it: the cut parts become new samples (WAV for WAV recordings, the data acquisition format
otherwise, `alg: none` since the server cannot sign for the device), the original is deleted, and
all of it happens in the caller's transaction: blobs written for rows that never land are removed on
rollback, the original's file only after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.storage import BlobStore
from app.ingestion import encode_wav, sign_acquisition
from app.models import Device, Project, Sample
from app.schemas.samples import MAX_BULK
from app.services import samples as sample_service
from app.services.errors import BadRequest, NotFound

SIGNATURE_METADATA = (
    "hmac_key_index",
    "signature_error",
)  # about the original's signature, not the parts'


def samples_by_id(session: Session, project_id: int, ids: Sequence[int]) -> list[Sample]:
    wanted = sorted(set(ids))
    if not wanted:
        raise BadRequest("select at least one sample")
    if len(wanted) > MAX_BULK:
        raise BadRequest(f"at most {MAX_BULK} samples at a time")
    rows = list(
        session.scalars(
            select(Sample).where(Sample.project_id == project_id, Sample.id.in_(wanted))
        )
    )
    missing = sorted(set(wanted) - {s.id for s in rows})
    if missing:
        raise NotFound(
            f"sample{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing[:10]))} "
            f"do{'' if len(missing) > 1 else 'es'} not exist in project {project_id}"
        )
    return rows


def bulk_relabel(session: Session, project_id: int, ids: Sequence[int], label: str) -> int:
    rows = samples_by_id(session, project_id, ids)
    for s in rows:
        sample_service.relabel(session, s, label)
    return len(rows)


def bulk_move(session: Session, project_id: int, ids: Sequence[int], category: str) -> int:
    rows = samples_by_id(session, project_id, ids)
    for s in rows:
        sample_service.move(session, s, category)
    return len(rows)


def bulk_delete(session: Session, store: BlobStore, project_id: int, ids: Sequence[int]) -> int:
    return sample_service.delete_samples(session, store, samples_by_id(session, project_id, ids))


def _rows(sample: Sample, values: np.ndarray, start_ms: float, end_ms: float) -> np.ndarray:
    if not (np.isfinite(start_ms) and np.isfinite(end_ms)) or start_ms < 0 or end_ms <= start_ms:
        raise BadRequest("a range needs 0 ≤ start < end (milliseconds)")
    a = int(round(start_ms / sample.interval_ms))
    b = min(len(values), int(round(end_ms / sample.interval_ms)))
    if a >= len(values) or b <= a:
        raise BadRequest(
            f"{start_ms:g}–{end_ms:g} ms is outside the sample (0–{sample.length_ms:g} ms)"
        )
    return values[a:b]


def _file(
    session: Session, sample: Sample, part: np.ndarray, name: str
) -> sample_service.UploadedFile:
    if sample.format == "wav":
        pcm = np.clip(np.round(part), -32768, 32767).astype(np.int16)
        data = encode_wav(
            pcm if pcm.shape[1] > 1 else pcm[:, 0], rate=int(round(sample.frequency_hz)), bits=16
        )
        return sample_service.UploadedFile(
            filename=f"{name}.wav", data=data, content_type="audio/wav"
        )
    device = session.get(Device, sample.device_id) if sample.device_id else None
    payload = {
        "device_name": device.name if device else None,
        "device_type": device.device_type if device else None,
        "interval_ms": sample.interval_ms,
        "sensors": sample.sensors,
        "values": part.tolist(),
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return sample_service.UploadedFile(
        filename=f"{name}.json",
        data=sign_acquisition(payload, hmac_key=None),
        content_type="application/json",
    )


def _stem(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    return stem if dot and ext.lower() in ("json", "cbor", "wav", "csv") else filename


def split(
    session: Session,
    store: BlobStore,
    project: Project,
    sample: Sample,
    ranges: Sequence[tuple[float, float]],
    *,
    suffix: bool = True,
) -> list[int]:
    """Replace `sample` by one new sample per (start_ms, end_ms) range; the new ids."""
    if sample.kind != "timeseries":
        raise BadRequest(f"sample {sample.id} is an image: only time series can be cut")
    if not ranges:
        raise BadRequest("give at least one range to keep")
    if len(ranges) > 1000:
        raise BadRequest("at most 1000 parts")
    values, _, _ = sample_service.sample_values(store, sample)
    parts = [_rows(sample, values, a, b) for a, b in ranges]
    stem = _stem(sample.filename)
    files = [
        _file(session, sample, part, f"{stem}.{i + 1}" if suffix else stem)
        for i, part in enumerate(parts)
    ]
    kept = {k: v for k, v in (sample.metadata_ or {}).items() if k not in SIGNATURE_METADATA}
    opts = sample_service.IngestOptions(
        category=sample.category,
        label=sample.label,
        no_label=not sample.label,
        metadata={**kept, "derived_from": sample.content_hash},
    )
    results = sample_service.ingest(session, store, project, files, opts)
    failed = [r for r in results if not r.success]
    if failed:  # the caller's transaction rolls back: the new files go too
        raise BadRequest(f"could not store a part: {failed[0].error}")
    new_ids = [r.sample_id for r in results if r.sample_id is not None]
    new_rows = list(session.scalars(select(Sample).where(Sample.id.in_(new_ids))))
    for row in new_rows:
        row.enabled = sample.enabled
    sample_service.delete_samples(session, store, [sample])
    return new_ids


def crop(
    session: Session,
    store: BlobStore,
    project: Project,
    sample: Sample,
    start_ms: float,
    end_ms: float,
) -> int:
    """Keep only start_ms–end_ms of `sample` (a new sample replaces it); the new id."""
    return split(session, store, project, sample, [(start_ms, end_ms)], suffix=False)[0]
