"""A project as one zip file: export it from one installation, import it into another.

The zip holds `manifest.json` (format, version, counts, the sha256 and size of every other file)
and, all JSON written with sorted keys:

- `project.json`: name, description, target board, whether signed data is required;
- `samples.json`: every sample (label, category, file name, metadata, content hash, sensors, ...),
  in id order, each naming its file `samples/<sha256 of the bytes>` (one file per distinct content);
- `impulses.json`: every impulse's name, revision and design, in id order, with a `ref` (its
  position) that artifacts point to instead of a database id;
- `artifacts.json` and `artifacts/<sha256>`: features, trained models, model cards and results,
  built libraries and uploaded models, with their kind, name, meta and the impulse `ref`.

No database id, job, device, API key, HMAC key or member is in the zip, and entries carry a fixed
date, so exporting an imported project gives the same bytes as the original export (see
docs/storage.md, "Moving a project"). Import checks everything before it writes anything, and
writes in the caller's transaction: a failure leaves no row and (once rolled back) no blob.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import on_rollback
from app.core.storage import BlobStore
from app.models import Artifact, Impulse, Project, Sample, User
from app.models.base import utcnow
from app.models.sample import CATEGORIES
from app.schemas.impulses import ImpulseDesign
from app.services import artifacts as artifact_service
from app.services import projects as project_service
from app.services.errors import BadRequest
from app.services.samples import read_blob

FORMAT = "tinyforge-project"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # every entry's date: the same project gives the same bytes

# the sample columns carried as they are (ids, device, blob place and timestamps are not)
_SAMPLE_FIELDS = (
    "category",
    "label",
    "filename",
    "kind",
    "format",
    "sensors",
    "interval_ms",
    "frequency_hz",
    "value_count",
    "length_ms",
    "image_width",
    "image_height",
    "content_hash",
    "enabled",
    "signature_alg",
    "signature_verified",
)


class ImportFailed(BadRequest):
    """The zip is not a project export this version can read, or it is damaged."""


@dataclass
class ExportSummary:
    samples: int
    sample_files: int
    impulses: int
    artifacts: int
    bytes: int


@dataclass
class ImportResult:
    new: project_service.NewProject
    counts: dict[str, int]


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False).encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- export --------------------------------------------------------------------------------------


def project_snapshot(session: Session, store: BlobStore, project: Project) -> dict[str, bytes]:
    """Every file of the project's export, by name in the zip (the manifest included)."""
    return snapshot_with_ids(session, store, project)[0]


def snapshot_with_ids(
    session: Session, store: BlobStore, project: Project
) -> tuple[dict[str, bytes], list[int]]:
    """The export's files, and the sample ids in the order of samples.json (for versions)."""
    files: dict[str, bytes] = {}
    sample_ids: list[int] = []
    samples_out = []
    rows = session.scalars(
        select(Sample).where(Sample.project_id == project.id).order_by(Sample.id)
    )
    for s in rows:
        data = read_blob(store, s)
        sample_ids.append(s.id)
        path = f"samples/{_sha(data)}"
        files[path] = data
        out = {f: getattr(s, f) for f in _SAMPLE_FIELDS}
        out |= {"metadata": s.metadata_, "file": path, "created_at": _time(s.created_at)}
        samples_out.append(out)
    impulses = list(
        session.scalars(
            select(Impulse).where(Impulse.project_id == project.id).order_by(Impulse.id)
        )
    )
    ref_of = {imp.id: ref for ref, imp in enumerate(impulses)}
    impulses_out = [
        {
            "ref": ref_of[imp.id],
            "name": imp.name,
            "revision": imp.revision,
            "design": imp.design.model_dump(mode="json"),
            "created_at": _time(imp.created_at),
        }
        for imp in impulses
    ]
    artifacts_out = []
    arts = session.scalars(
        select(Artifact).where(Artifact.project_id == project.id).order_by(Artifact.id)
    )
    for art in arts:
        data = store.get(art.blob_key)
        path = f"artifacts/{_sha(data)}"
        files[path] = data
        artifacts_out.append(
            {
                "kind": art.kind,
                "name": art.name,
                "meta": art.meta,
                "impulse_ref": ref_of.get(art.impulse_id) if art.impulse_id else None,
                "file": path,
                "created_at": _time(art.created_at),
            }
        )
    files["project.json"] = _json(
        {
            "name": project.name,
            "description": project.description,
            "target_board": project.target_board,
            "require_signed_data": project.require_signed_data,
        }
    )
    files["samples.json"] = _json(samples_out)
    files["impulses.json"] = _json(impulses_out)
    files["artifacts.json"] = _json(artifacts_out)
    files[MANIFEST] = _json(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "counts": {
                "samples": len(samples_out),
                "impulses": len(impulses_out),
                "artifacts": len(artifacts_out),
            },
            "files": {
                name: {"sha256": _sha(data), "bytes": len(data)}
                for name, data in sorted(files.items())
            },
        }
    )
    return files, sample_ids


def write_zip(files: dict[str, bytes], out: IO[bytes]) -> None:
    """The files as a zip, manifest first, the others by name, each with the same fixed date."""
    names = [MANIFEST, *sorted(n for n in files if n != MANIFEST)]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])


def export_project(
    session: Session, store: BlobStore, project: Project, out_path: Path
) -> ExportSummary:
    """Write the project's export to `out_path` (through a temporary file: never half a zip)."""
    files = project_snapshot(session, store, project)
    counts = json.loads(files[MANIFEST])["counts"]
    tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("wb") as f:
            write_zip(files, f)
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportSummary(
        samples=counts["samples"],
        sample_files=sum(1 for n in files if n.startswith("samples/")),
        impulses=counts["impulses"],
        artifacts=counts["artifacts"],
        bytes=out_path.stat().st_size,
    )


# --- import --------------------------------------------------------------------------------------


def read_export(source: Path | IO[bytes]) -> dict[str, bytes]:
    """The files of an export, every one checked against the manifest; ImportFailed otherwise."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed(f"not a readable zip file: {exc}") from exc
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names:
            raise ImportFailed("no manifest.json: not a Tinyforge project export")
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except (ValueError, zipfile.BadZipFile) as exc:
            raise ImportFailed(f"manifest.json is not valid JSON: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ImportFailed(f"manifest.json does not describe a '{FORMAT}' export")
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise ImportFailed(
                f"export format version {version!r} is not supported (this Tinyforge reads "
                f"version {FORMAT_VERSION})"
            )
        listed = manifest.get("files")
        if not isinstance(listed, dict):
            raise ImportFailed("manifest.json has no 'files' table")
        extra = sorted(names - set(listed) - {MANIFEST})
        if extra:
            raise ImportFailed(f"file not listed in the manifest: {extra[0]}")
        files: dict[str, bytes] = {MANIFEST: zf.read(MANIFEST)}
        for name in sorted(listed):
            if name == MANIFEST:
                continue
            if name not in names:
                raise ImportFailed(f"missing file: {name} is in the manifest but not in the zip")
            try:
                data = zf.read(name)
            except (zipfile.BadZipFile, OSError) as exc:  # a damaged entry (its CRC fails)
                raise ImportFailed(f"damaged file {name}: {exc}") from exc
            expected = listed[name].get("sha256") if isinstance(listed[name], dict) else None
            if _sha(data) != expected:
                raise ImportFailed(
                    f"hash mismatch: {name} has sha256 {_sha(data)}, the manifest says {expected}"
                )
            files[name] = data
    for required in ("project.json", "samples.json", "impulses.json", "artifacts.json"):
        if required not in files:
            raise ImportFailed(f"missing file: {required}")
    return files


def _load(files: dict[str, bytes], name: str) -> Any:
    try:
        return json.loads(files[name])
    except ValueError as exc:
        raise ImportFailed(f"{name} is not valid JSON: {exc}") from exc


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _file(files: dict[str, bytes], where: str, entry: dict[str, Any], folder: str) -> str:
    path = entry.get("file")
    if not isinstance(path, str) or not path.startswith(folder) or path not in files:
        raise ImportFailed(f"{where}: its file {path!r} is not in the export")
    return path


def import_project(
    session: Session,
    store: BlobStore,
    files: dict[str, bytes],
    *,
    owner: User | None,
    name: str | None = None,
) -> ImportResult:
    """A new project from checked export files (`read_export`), in the caller's transaction;
    `name` replaces the exported project's name.

    Blobs written here are deleted again if that transaction rolls back.
    """
    manifest = _load(files, MANIFEST)
    info = _load(files, "project.json")
    samples = _load(files, "samples.json")
    impulses = _load(files, "impulses.json")
    arts = _load(files, "artifacts.json")
    counts = {"samples": len(samples), "impulses": len(impulses), "artifacts": len(arts)}
    if manifest.get("counts") != counts:
        raise ImportFailed(f"the manifest counts {manifest.get('counts')}, the files hold {counts}")

    new = project_service.create_project(
        session,
        name=name or str(info.get("name", "")),
        owner=owner,
        description=info.get("description", ""),
    )
    project = new.project
    project.target_board = info.get("target_board")
    project.require_signed_data = bool(info.get("require_signed_data", False))
    prefix = artifact_service.project_prefix(project.id)

    blob_of: dict[str, str] = {}  # zip path -> blob key: one blob per distinct file
    rows = []
    for i, s in enumerate(samples):
        where = f"samples.json entry {i}"
        path = _file(files, where, s, "samples/")
        if s.get("category") not in CATEGORIES:
            raise ImportFailed(f"{where}: unknown category {s.get('category')!r}")
        if path not in blob_of:
            key = f"{prefix}/samples/{uuid.uuid4().hex}.{s.get('format', 'bin')}"
            store.put_new(key, files[path])
            on_rollback(session, partial(store.delete, key))
            blob_of[path] = key
        try:
            fields = {f: s[f] for f in _SAMPLE_FIELDS}
        except KeyError as exc:
            raise ImportFailed(f"{where}: no {exc.args[0]!r}") from exc
        rows.append(
            Sample(
                project_id=project.id,
                **fields,
                metadata_=s.get("metadata") or {},
                blob_key=blob_of[path],
                blob_offset=0,
                blob_bytes=len(files[path]),
                created_at=_parse_time(s.get("created_at")) or utcnow(),
                updated_at=_parse_time(s.get("created_at")) or utcnow(),
            )
        )
    session.add_all(rows)

    id_of: dict[int, int] = {}
    for i, imp in enumerate(impulses):
        try:
            design = ImpulseDesign.model_validate(imp["design"])
        except (KeyError, ValueError) as exc:
            raise ImportFailed(
                f"impulses.json entry {i}: not a valid impulse design: {exc}"
            ) from exc
        row = Impulse(
            project_id=project.id,
            name=str(imp.get("name") or "Impulse"),
            revision=int(imp.get("revision", 1)),
            created_at=_parse_time(imp.get("created_at")) or utcnow(),
        )
        row.design = design
        session.add(row)
        session.flush()
        id_of[imp.get("ref", i)] = row.id

    for i, a in enumerate(arts):
        where = f"artifacts.json entry {i}"
        path = _file(files, where, a, "artifacts/")
        ref = a.get("impulse_ref")
        if ref is not None and ref not in id_of:
            raise ImportFailed(f"{where}: impulse ref {ref} is not in impulses.json")
        art = artifact_service.restore_artifact(
            session,
            store,
            project_id=project.id,
            impulse_id=id_of[ref] if ref is not None else None,
            kind=str(a.get("kind")),
            name=str(a.get("name")),
            data=files[path],
            meta=a.get("meta") or {},
        )
        art.created_at = _parse_time(a.get("created_at")) or art.created_at
    session.flush()
    return ImportResult(new=new, counts=counts)


def import_zip(
    session: Session, store: BlobStore, source: Path | IO[bytes], *, owner: User | None
) -> ImportResult:
    """Check the whole zip, then import it (see `import_project`)."""
    return import_project(session, store, read_export(source), owner=owner)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    write_zip(files, buf)
    return buf.getvalue()
