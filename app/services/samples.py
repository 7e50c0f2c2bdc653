"""Sample store use cases: ingest, list, read, edit, delete. No HTTP here; the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.core.db import on_commit, on_rollback
from app.core.storage import BlobStore
from app.ingestion import (
    DecodedSample,
    IngestionError,
    decode_upload,
    infer_label,
    read_image,
    read_values,
    sanitize_filename,
    split_category,
)
from app.models import CATEGORIES, Device, Project, Sample
from app.models.base import utcnow
from app.services.errors import BadRequest, NotFound

INGEST_CATEGORIES = (*CATEGORIES, "split")


@dataclass
class IngestOptions:
    category: str
    label: str | None = None
    no_label: bool = False
    disallow_duplicates: bool = False
    add_date_id: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    hmac_keys: Sequence[str] = ()
    require_signature: bool = False
    max_file_bytes: int | None = None
    csv_interval_ms: float | None = None


@dataclass
class UploadedFile:
    filename: str | None
    data: bytes
    content_type: str | None = None


@dataclass
class FileResult:
    file_name: str
    success: bool
    sample_id: int | None = None
    error: str | None = None
    status: int = 200

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"success": self.success, "fileName": self.file_name}
        if self.sample_id is not None:
            out["sampleId"] = self.sample_id
        if self.error:
            out["error"] = self.error
        return out


def ingest(session: Session, store: BlobStore, project: Project, files: Sequence[UploadedFile],
           opts: IngestOptions) -> list[FileResult]:
    """Decode and store each file. A rejected file leaves no row and no blob; the others land."""
    if opts.category not in INGEST_CATEGORIES:
        raise NotFound(f"unknown category '{opts.category}': use one of {', '.join(INGEST_CATEGORIES)}")
    results: list[FileResult] = []
    seen_hashes: set[str] = set()
    for upload in files:
        shown = upload.filename or "(unnamed)"
        try:
            name = sanitize_filename(upload.filename) if upload.filename else None
            if name is None:
                raise IngestionError(400, "a file name is required (x-file-name header or multipart file name)")
            shown = name
            if name.endswith(".labels"):
                # Edge Impulse's clients may send a structured-labels side file; labels come from headers here.
                continue
            decoded = decode_upload(
                upload.data, filename=name, content_type=upload.content_type, hmac_keys=list(opts.hmac_keys),
                require_signature=opts.require_signature, max_bytes=opts.max_file_bytes,
                interval_ms=opts.csv_interval_ms,
            )
            if opts.disallow_duplicates and (
                decoded.content_hash in seen_hashes or _hash_exists(session, project.id, decoded.content_hash)
            ):
                raise IngestionError(409, f"'{name}' is a duplicate: the project already holds a sample with the same data")
            sample = _store_sample(session, store, project, name, upload.data, decoded, opts)
            seen_hashes.add(decoded.content_hash)
            results.append(FileResult(file_name=sample.filename, success=True, sample_id=sample.id))
        except IngestionError as exc:
            results.append(FileResult(file_name=shown, success=False, error=exc.message, status=exc.status))
    return results


def _hash_exists(session: Session, project_id: int, content_hash: str) -> bool:
    return session.scalar(
        select(Sample.id).where(Sample.project_id == project_id, Sample.content_hash == content_hash).limit(1)
    ) is not None


def _store_sample(session: Session, store: BlobStore, project: Project, name: str, raw: bytes,
                  decoded: DecodedSample, opts: IngestOptions) -> Sample:
    if opts.no_label:
        label = ""
    elif opts.label is not None and opts.label != "":
        label = opts.label
    else:
        label = infer_label(name)
    if len(label) > 255:
        raise IngestionError(400, "the label is longer than 255 characters")
    category = opts.category
    if category == "split":
        category = split_category(f"{name}:{decoded.content_hash}")
    filename = name
    if opts.add_date_id:
        stem, dot, ext = name.rpartition(".")
        stamp = utcnow().strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:6]
        filename = f"{stem}.{stamp}.{ext}" if dot else f"{name}.{stamp}"

    device_id = _touch_device(session, project.id, decoded.device_name, decoded.device_type)
    blob_key = f"projects/{project.id}/samples/{uuid.uuid4().hex}.{decoded.format}"
    store.put(blob_key, raw)
    on_rollback(session, lambda: store.delete(blob_key))

    metadata = {str(k): str(v) for k, v in {**decoded.metadata, **opts.metadata}.items()}
    sample = Sample(
        project_id=project.id, device_id=device_id, category=category, label=label, filename=filename,
        kind=decoded.kind, format=decoded.format, sensors=decoded.sensors, interval_ms=decoded.interval_ms,
        frequency_hz=decoded.frequency_hz, value_count=decoded.rows, length_ms=decoded.length_ms,
        image_width=decoded.image_size[0] if decoded.image_size else None,
        image_height=decoded.image_size[1] if decoded.image_size else None,
        content_hash=decoded.content_hash, metadata_=metadata, signature_alg=decoded.signature_alg,
        signature_verified=decoded.signature_verified, blob_key=blob_key, blob_bytes=len(raw),
    )
    session.add(sample)
    session.flush()
    return sample


def _touch_device(session: Session, project_id: int, name: str | None, device_type: str | None) -> int | None:
    if not name:
        return None
    now = utcnow()
    values = {"project_id": project_id, "name": name[:255], "device_type": (device_type or "")[:255],
              "created_at": now, "last_seen_at": now, "samples_count": 1}
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Device).values(**values)
    stmt = ins.on_conflict_do_update(
        index_elements=["project_id", "name"],
        set_={"last_seen_at": now, "device_type": values["device_type"] or Device.device_type,
              "samples_count": Device.samples_count + 1},
    ).returning(Device.id)
    return session.execute(stmt).scalar_one()


# --- queries -------------------------------------------------------------------------------------

@dataclass
class SampleFilter:
    category: str | None = None
    labels: Sequence[str] | None = None
    filename: str | None = None
    search: str | None = None
    enabled: bool | None = None


def _filtered(project_id: int, flt: SampleFilter):  # noqa: ANN202
    stmt = select(Sample).where(Sample.project_id == project_id)
    if flt.category:
        if flt.category not in CATEGORIES:
            raise BadRequest(f"unknown category '{flt.category}': use one of {', '.join(CATEGORIES)}")
        stmt = stmt.where(Sample.category == flt.category)
    if flt.labels:
        stmt = stmt.where(Sample.label.in_(list(flt.labels)))
    if flt.filename:
        stmt = stmt.where(Sample.filename.startswith(flt.filename, autoescape=True))
    if flt.search:
        like = f"%{flt.search.lower()}%"
        stmt = stmt.where(func.lower(Sample.filename).like(like) | func.lower(Sample.label).like(like))
    if flt.enabled is not None:
        stmt = stmt.where(Sample.enabled.is_(flt.enabled))
    return stmt


def list_samples(session: Session, project_id: int, flt: SampleFilter, *, offset: int = 0,
                 limit: int = 100) -> tuple[list[Sample], int]:
    if offset < 0 or not 1 <= limit <= 10_000:
        raise BadRequest("offset must be ≥ 0 and limit between 1 and 10000")
    stmt = _filtered(project_id, flt)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(Sample.id).offset(offset).limit(limit)))
    return rows, total


def count_samples(session: Session, project_id: int, flt: SampleFilter) -> int:
    return session.scalar(select(func.count()).select_from(_filtered(project_id, flt).subquery())) or 0


def all_samples(session: Session, project_id: int, flt: SampleFilter | None = None) -> list[Sample]:
    return list(session.scalars(_filtered(project_id, flt or SampleFilter()).order_by(Sample.id)))


def get_sample(session: Session, project_id: int, sample_id: int) -> Sample:
    sample = session.get(Sample, sample_id)
    if sample is None or sample.project_id != project_id:
        raise NotFound(f"sample {sample_id} does not exist in project {project_id}")
    return sample


def sample_values(store: BlobStore, sample: Sample):  # noqa: ANN201 -> (np.ndarray, interval_ms, sensors)
    if sample.kind == "image":
        raise BadRequest(f"sample {sample.id} is an image, not a time series")
    return read_values(store.get(sample.blob_key), format=sample.format)


def sample_image(store: BlobStore, sample: Sample):  # noqa: ANN201 -> np.ndarray [h, w, c]
    if sample.kind != "image":
        raise BadRequest(f"sample {sample.id} is a time series, not an image")
    return read_image(store.get(sample.blob_key))


def label_counts(session: Session, project_id: int) -> dict[str, dict[str, int]]:
    """{category: {label: count}} over all samples (enabled or not)."""
    rows = session.execute(
        select(Sample.category, Sample.label, func.count())
        .where(Sample.project_id == project_id)
        .group_by(Sample.category, Sample.label)
    ).all()
    out: dict[str, dict[str, int]] = {c: {} for c in CATEGORIES}
    for category, label, n in rows:
        out.setdefault(category, {})[label] = n
    return out


# --- edits ---------------------------------------------------------------------------------------

def relabel(session: Session, sample: Sample, label: str) -> Sample:
    label = label.strip()
    if len(label) > 255:
        raise BadRequest("the label is longer than 255 characters")
    sample.label = label
    return sample


def set_enabled(session: Session, sample: Sample, enabled: bool) -> Sample:
    sample.enabled = enabled
    return sample


def move(session: Session, sample: Sample, category: str) -> Sample:
    if category not in CATEGORIES:
        raise BadRequest(f"unknown category '{category}': use one of {', '.join(CATEGORIES)}")
    sample.category = category
    return sample


def rename(session: Session, sample: Sample, filename: str) -> Sample:
    try:
        sample.filename = sanitize_filename(filename)
    except IngestionError as exc:
        raise BadRequest(exc.message) from exc
    return sample


def delete_samples(session: Session, store: BlobStore, samples: Sequence[Sample]) -> int:
    keys = [s.blob_key for s in samples]
    ids = [s.id for s in samples]
    if ids:
        session.execute(delete(Sample).where(Sample.id.in_(ids)))
        on_commit(session, lambda: [store.delete(k) for k in keys])
    return len(ids)


def delete_all(session: Session, store: BlobStore, project_id: int, category: str | None = None) -> int:
    if category is not None and category not in CATEGORIES:
        raise BadRequest(f"unknown category '{category}': use one of {', '.join(CATEGORIES)}")
    return delete_samples(session, store, all_samples(session, project_id, SampleFilter(category=category)))


def rebalance(session: Session, project_id: int) -> dict[str, int]:
    """Move training/testing samples so that each label is split ~80/20, deterministically."""
    moved = 0
    for sample in session.scalars(
        select(Sample).where(Sample.project_id == project_id, Sample.category.in_(("training", "testing")))
    ):
        target = split_category(f"{sample.filename}:{sample.content_hash}")
        if target != sample.category:
            sample.category = target
            moved += 1
    session.flush()
    counts = dict(session.execute(
        select(Sample.category, func.count()).where(Sample.project_id == project_id).group_by(Sample.category)
    ).all())
    return {"moved": moved, "training": counts.get("training", 0), "testing": counts.get("testing", 0)}

