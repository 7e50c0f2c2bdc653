"""Sample store use cases: ingest, list, read, edit, delete. No HTTP here; the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CursorResult,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
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

if TYPE_CHECKING:
    pass

INGEST_CATEGORIES = (*CATEGORIES, "split")
QUERY_CATEGORIES = (
    *CATEGORIES,
    "validation",
    "post-processing",
)  # Edge Impulse's names; always empty here


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


@dataclass
class PendingSample:
    """A decoded, validated file with its final name, label and category, ready to be stored."""

    project_id: int
    filename: str
    label: str
    category: str
    raw: bytes
    decoded: DecodedSample
    metadata: dict[str, str]
    disallow_duplicates: bool


def prepare(
    project_id: int, upload: UploadedFile, opts: IngestOptions
) -> PendingSample | FileResult | None:
    """Pure part of ingesting one file: name checks, decoding, signature, label and category.

    Returns a FileResult carrying the error when the file is rejected, None for a side file to skip.
    """
    if opts.category not in INGEST_CATEGORIES:
        raise NotFound(
            f"unknown category '{opts.category}': use one of {', '.join(INGEST_CATEGORIES)}"
        )
    shown = upload.filename or "(unnamed)"
    try:
        if not upload.filename:
            raise IngestionError(
                400, "a file name is required (x-file-name header or multipart file name)"
            )
        name = sanitize_filename(upload.filename)
        shown = name
        if name.endswith(".labels"):
            # Edge Impulse's clients may send a structured-labels side file; labels come from
            # headers here.
            return None
        decoded = decode_upload(
            upload.data,
            filename=name,
            content_type=upload.content_type,
            hmac_keys=list(opts.hmac_keys),
            require_signature=opts.require_signature,
            max_bytes=opts.max_file_bytes,
            interval_ms=opts.csv_interval_ms,
        )
        if opts.no_label:
            label = ""
        elif opts.label:
            label = opts.label
        else:
            label = infer_label(name)
        if len(label) > 255:
            raise IngestionError(400, "the label is longer than 255 characters")
    except IngestionError as exc:
        return FileResult(file_name=shown, success=False, error=exc.message, status=exc.status)
    category = opts.category
    if category == "split":
        category = split_category(f"{name}:{decoded.content_hash}")
    filename = name
    if opts.add_date_id:
        stem, dot, ext = name.rpartition(".")
        stamp = utcnow().strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:6]
        filename = f"{stem}.{stamp}.{ext}" if dot else f"{name}.{stamp}"
    metadata = {str(k): str(v) for k, v in {**decoded.metadata, **opts.metadata}.items()}
    return PendingSample(
        project_id=project_id,
        filename=filename,
        label=label,
        category=category,
        raw=upload.data,
        decoded=decoded,
        metadata=metadata,
        disallow_duplicates=opts.disallow_duplicates,
    )


def store_batch(
    session: Session, store: BlobStore, items: Sequence[PendingSample]
) -> list[FileResult]:
    """Store prepared samples of one or more projects in the caller's transaction, in few round
    trips.

    Duplicates (when disallowed) are checked against the database and within the batch; devices are
    upserted in one statement; rows are inserted in one statement. Blobs written here are removed
    again if the transaction rolls back. (`app.services.ingest_pg` is the same steps on an asyncio
    PostgreSQL connection, for the ingestion endpoints.)
    """
    existing: set[tuple[int, str]] = set()
    for pid, hashes in duplicate_queries(items).items():
        existing |= {
            (pid, h)
            for h in session.scalars(
                select(Sample.content_hash).where(
                    Sample.project_id == pid, Sample.content_hash.in_(hashes)
                )
            )
        }
    results, keep = reject_duplicates(items, existing)
    if not keep:
        return [r for r in results if r is not None]
    kept = [items[i] for i in keep]
    conn = (
        session.connection()
    )  # Core on the session's connection: no ORM bookkeeping on the hot path
    now = utcnow()
    params = device_params(kept, now)
    devices = {
        (pid, name): device_id
        for pid, name, device_id in (
            conn.execute(_device_upsert(conn.dialect.name), params) if params else ()
        )
    }
    places = write_blobs(store, kept)
    for key in {key for key, _ in places}:
        on_rollback(session, partial(store.delete, key))
    rows = [sample_row(it, devices, now, place) for it, place in zip(kept, places, strict=True)]
    ids = (
        conn.execute(
            insert(_table(Sample)).returning(_table(Sample).c.id, sort_by_parameter_order=True),
            rows,
        )
        .scalars()
        .all()
    )
    for i, sample_id in zip(keep, ids, strict=True):
        results[i] = FileResult(file_name=items[i].filename, success=True, sample_id=sample_id)
    return [r for r in results if r is not None]


# The steps of storing a batch that do not touch the database, shared by both writers.


def duplicate_queries(items: Sequence[PendingSample]) -> dict[int, set[str]]:
    """Content hashes to look up per project: those of items that disallow duplicates."""
    out: dict[int, set[str]] = {}
    for it in items:
        if it.disallow_duplicates:
            out.setdefault(it.project_id, set()).add(it.decoded.content_hash)
    return out


def reject_duplicates(
    items: Sequence[PendingSample],
    existing: set[tuple[int, str]],
) -> tuple[list[FileResult | None], list[int]]:
    """(results with a 409 for each refused duplicate, indexes of the items to store)."""
    results: list[FileResult | None] = [None] * len(items)
    seen: set[tuple[int, str]] = set()
    keep: list[int] = []
    for i, it in enumerate(items):
        key = (it.project_id, it.decoded.content_hash)
        if it.disallow_duplicates and (key in existing or key in seen):
            results[i] = FileResult(
                file_name=it.filename,
                success=False,
                status=409,
                error=(
                    f"'{it.filename}' is a duplicate: the project already holds a sample with "
                    "the same data"
                ),
            )
            continue
        seen.add(key)
        keep.append(i)
    return results, keep


def device_params(items: Sequence[PendingSample], now) -> list[dict[str, Any]]:
    """One upsert row per distinct (project, device name), sorted so that concurrent batches lock
    device rows in the same order (no deadlocks)."""
    counts: dict[tuple[int, str], tuple[int, str]] = {}
    for it in items:
        name = (it.decoded.device_name or "")[:255]
        if name:
            n, dtype = counts.get((it.project_id, name), (0, ""))
            counts[(it.project_id, name)] = (n + 1, (it.decoded.device_type or dtype)[:255])
    return [
        {"pid": pid, "name": name, "dtype": dtype, "now": now, "n": n}
        for (pid, name), (n, dtype) in sorted(counts.items())
    ]


def write_blobs(store: BlobStore, items: Sequence[PendingSample]) -> list[tuple[str, int]]:
    """Write the items' files; return each one's (blob key, byte offset).

    A lone item gets a file of its own; the items of a batch share one pack file per project (their
    bodies back to back), so that a busy ingestion endpoint creates one file per batch rather than
    one per sample: creating files, not writing bytes, is what costs. On failure nothing is left.
    """
    if len(items) == 1:
        it = items[0]
        key = f"projects/{it.project_id}/samples/{uuid.uuid4().hex}.{it.decoded.format}"
        store.put_new(key, it.raw)
        return [(key, 0)]
    places: list[tuple[str, int]] = [("", 0)] * len(items)
    written: list[str] = []
    try:
        for pid in dict.fromkeys(it.project_id for it in items):
            key = f"projects/{pid}/samples/{uuid.uuid4().hex}.pack"
            offset, parts = 0, []
            for i, it in enumerate(items):
                if it.project_id == pid:
                    places[i] = (key, offset)
                    offset += len(it.raw)
                    parts.append(it.raw)
            store.put_new(key, b"".join(parts))
            written.append(key)
    except BaseException:
        for key in written:
            store.delete(key)
        raise
    return places


def sample_row(
    it: PendingSample,
    devices: dict[tuple[int, str], int],
    now,
    place: tuple[str, int],
) -> dict[str, Any]:
    """The `samples` row of a prepared item whose file is at `place` (blob key, offset)."""
    d = it.decoded
    return {
        "project_id": it.project_id,
        "device_id": devices.get((it.project_id, (d.device_name or "")[:255])),
        "category": it.category,
        "label": it.label,
        "filename": it.filename,
        "kind": d.kind,
        "format": d.format,
        "sensors": d.sensors,
        "interval_ms": d.interval_ms,
        "frequency_hz": d.frequency_hz,
        "value_count": d.rows,
        "length_ms": d.length_ms,
        "image_width": d.image_size[0] if d.image_size else None,
        "image_height": d.image_size[1] if d.image_size else None,
        "content_hash": d.content_hash,
        "metadata": it.metadata,
        "enabled": True,
        "signature_alg": d.signature_alg,
        "signature_verified": d.signature_verified,
        "blob_key": place[0],
        "blob_offset": place[1],
        "blob_bytes": len(it.raw),
        "created_at": now,
        "updated_at": now,
    }


def ingest(
    session: Session,
    store: BlobStore,
    project: Project,
    files: Sequence[UploadedFile],
    opts: IngestOptions,
) -> list[FileResult]:
    """Decode and store each file. A rejected file leaves no row and no blob; the others land."""
    prepared = [prepare(project.id, f, opts) for f in files]
    pending = [p for p in prepared if isinstance(p, PendingSample)]
    stored = iter(store_batch(session, store, pending))
    return [next(stored) if isinstance(p, PendingSample) else p for p in prepared if p is not None]


_DEVICE_UPSERT: dict[str, Any] = {}


def _table(model: type[Device] | type[Sample]) -> Table:
    """The model's Table (SQLAlchemy types `__table__` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _device_upsert(dialect: str):
    """One cached statement (built once per dialect, so SQLAlchemy compiles it once)."""
    if dialect not in _DEVICE_UPSERT:
        table = _table(Device)
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(
            project_id=bindparam("pid"),
            name=bindparam("name"),
            device_type=bindparam("dtype"),
            created_at=bindparam("now"),
            last_seen_at=bindparam("now"),
            samples_count=bindparam("n"),
        )
        _DEVICE_UPSERT[dialect] = ins.on_conflict_do_update(
            index_elements=["project_id", "name"],
            set_={
                "last_seen_at": ins.excluded.last_seen_at,
                "device_type": case(
                    (ins.excluded.device_type != "", ins.excluded.device_type),
                    else_=table.c.device_type,
                ),
                "samples_count": table.c.samples_count + ins.excluded.samples_count,
            },
        ).returning(table.c.project_id, table.c.name, table.c.id)
    return _DEVICE_UPSERT[dialect]


# --- queries -------------------------------------------------------------------------------------


@dataclass
class SampleFilter:
    category: str | None = None
    labels: Sequence[str] | None = None
    filename: str | None = None
    search: str | None = None
    enabled: bool | None = None


def _filtered(project_id: int, flt: SampleFilter):
    stmt = select(Sample).where(Sample.project_id == project_id)
    if flt.category:
        if flt.category not in QUERY_CATEGORIES:
            raise BadRequest(
                f"unknown category '{flt.category}': use one of {', '.join(CATEGORIES)}"
            )
        stmt = stmt.where(Sample.category == flt.category)
    if flt.labels:
        stmt = stmt.where(Sample.label.in_(list(flt.labels)))
    if flt.filename:
        stmt = stmt.where(Sample.filename.startswith(flt.filename, autoescape=True))
    if flt.search:
        like = f"%{flt.search.lower()}%"
        stmt = stmt.where(
            func.lower(Sample.filename).like(like) | func.lower(Sample.label).like(like)
        )
    if flt.enabled is not None:
        stmt = stmt.where(Sample.enabled.is_(flt.enabled))
    return stmt


def list_samples(
    session: Session, project_id: int, flt: SampleFilter, *, offset: int = 0, limit: int = 100
) -> tuple[list[Sample], int]:
    if offset < 0 or not 1 <= limit <= 10_000:
        raise BadRequest("offset must be ≥ 0 and limit between 1 and 10000")
    stmt = _filtered(project_id, flt)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(Sample.id).offset(offset).limit(limit)))
    return rows, total


def count_samples(session: Session, project_id: int, flt: SampleFilter) -> int:
    return (
        session.scalar(select(func.count()).select_from(_filtered(project_id, flt).subquery())) or 0
    )


def all_samples(session: Session, project_id: int, flt: SampleFilter | None = None) -> list[Sample]:
    return list(session.scalars(_filtered(project_id, flt or SampleFilter()).order_by(Sample.id)))


def get_sample(session: Session, project_id: int, sample_id: int) -> Sample:
    sample = session.get(Sample, sample_id)
    if sample is None or sample.project_id != project_id:
        raise NotFound(f"sample {sample_id} does not exist in project {project_id}")
    return sample


def read_blob(store: BlobStore, sample: Sample) -> bytes:
    """The file exactly as it was ingested (its byte range of the batch's pack file)."""
    return store.get_range(sample.blob_key, sample.blob_offset, sample.blob_bytes)


def read_blobs(
    store: BlobStore, samples: Sequence[Sample], *, max_span_bytes: int = 64 * 1024 * 1024
) -> dict[int, bytes]:
    """The files of many samples, {sample id: bytes}, with one read per pack file they share.

    Samples ingested in one batch sit back to back in one pack file: reading the span that holds
    them all costs one request on object storage instead of one per sample. A pack whose span
    would exceed `max_span_bytes` is read sample by sample.
    """
    out: dict[int, bytes] = {}
    by_key: dict[str, list[Sample]] = {}
    for s in samples:
        by_key.setdefault(s.blob_key, []).append(s)
    for key, group in by_key.items():
        lo = min(s.blob_offset for s in group)
        hi = max(s.blob_offset + s.blob_bytes for s in group)
        if len(group) == 1 or hi - lo > max_span_bytes:
            for s in group:
                out[s.id] = read_blob(store, s)
            continue
        span = store.get_range(key, lo, hi - lo)
        for s in group:
            out[s.id] = span[s.blob_offset - lo : s.blob_offset - lo + s.blob_bytes]
    return out


def sample_values(store: BlobStore, sample: Sample, raw: bytes | None = None):
    """The sample's values; `raw` is its file when already read (`read_blobs`)."""
    if sample.kind == "image":
        raise BadRequest(f"sample {sample.id} is an image, not a time series")
    return read_values(read_blob(store, sample) if raw is None else raw, format=sample.format)


def sample_wav(store: BlobStore, sample: Sample, *, axis: int = 0) -> bytes:
    """One axis as 16-bit PCM WAV at the sample's frequency (values clipped to the int16 range)."""
    import numpy as np

    from app.ingestion import encode_wav

    values, _, _ = sample_values(store, sample)
    if not 0 <= axis < values.shape[1]:
        raise BadRequest(
            f"axis {axis} does not exist: sample {sample.id} has {values.shape[1]} axes"
        )
    pcm = np.clip(np.round(values[:, axis]), -32768, 32767).astype(np.int16)
    return encode_wav(pcm, rate=max(1, int(round(sample.frequency_hz))), bits=16)


def sample_image(store: BlobStore, sample: Sample, raw: bytes | None = None):
    if sample.kind != "image":
        raise BadRequest(f"sample {sample.id} is a time series, not an image")
    return read_image(read_blob(store, sample) if raw is None else raw)


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
    """Delete rows; after the commit, delete the files no remaining sample shares (pack files)."""
    keys = {s.blob_key for s in samples}
    ids = [s.id for s in samples]
    if ids:
        session.execute(delete(Sample).where(Sample.id.in_(ids)))
        shared = set()
        for chunk in _chunks(sorted(keys), 500):
            shared |= set(
                session.scalars(
                    select(Sample.blob_key).where(Sample.blob_key.in_(chunk)).distinct()
                )
            )
        unused = keys - shared

        def delete_unused() -> None:
            for key in unused:
                store.delete(key)

        on_commit(session, delete_unused)
    return len(ids)


def _chunks(seq: Sequence, size: int):
    return (seq[i : i + size] for i in range(0, len(seq), size))


def delete_all(
    session: Session, store: BlobStore, project_id: int, category: str | None = None
) -> int:
    if category is not None and category not in CATEGORIES:
        raise BadRequest(f"unknown category '{category}': use one of {', '.join(CATEGORIES)}")
    return delete_samples(
        session, store, all_samples(session, project_id, SampleFilter(category=category))
    )


def rebalance(session: Session, project_id: int) -> dict[str, int]:
    """Move training/testing samples so that each label is split ~80/20, deterministically.

    The moves are set-based UPDATEs (not a flush of loaded rows), so a sample that another request
    deletes meanwhile is simply not moved, rather than failing the whole rebalance."""
    moves: dict[str, list[int]] = {"training": [], "testing": []}
    rows = session.execute(
        select(Sample.id, Sample.category, Sample.filename, Sample.content_hash).where(
            Sample.project_id == project_id, Sample.category.in_(("training", "testing"))
        )
    )
    for sample_id, category, filename, content_hash in rows:
        target = split_category(f"{filename}:{content_hash}")
        if target != category:
            moves[target].append(sample_id)
    moved = 0
    for destination, ids in moves.items():
        for chunk in _chunks(ids, 500):
            result = session.execute(
                update(Sample)
                .where(Sample.project_id == project_id, Sample.id.in_(chunk))
                .values(category=destination)
                .execution_options(synchronize_session=False)
            )
            assert isinstance(result, CursorResult)  # an UPDATE's result carries its row count
            moved += result.rowcount
    session.expire_all()
    counts = dict(
        session.execute(
            select(Sample.category, func.count())
            .where(Sample.project_id == project_id)
            .group_by(Sample.category)
        ).all()
    )
    return {
        "moved": moved,
        "training": counts.get("training", 0),
        "testing": counts.get("testing", 0),
    }
