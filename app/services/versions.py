"""Project versions: the project's export zip (app/services/project_export.py) frozen as a blob.

A version keeps the samples (bytes, hashes, labels, categories, metadata), impulses and artifacts
(trained models, built libraries) as they were; it can be listed, compared with another version of
the same project (samples added, removed, relabelled or moved; impulses changed) and restored into a
new project.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.db import on_commit, on_rollback
from app.core.storage import BlobStore
from app.models import Project, ProjectVersion, User
from app.services import project_export
from app.services.artifacts import project_prefix
from app.services.errors import BadRequest, NotFound


def create_version(
    session: Session,
    store: BlobStore,
    project: Project,
    *,
    description: str = "",
    user: User | None = None,
) -> ProjectVersion:
    """Freeze the project as it is now (number = the last one + 1)."""
    if len(description) > 2000:
        raise BadRequest("a version description is at most 2000 characters long")
    files, sample_ids = project_export.snapshot_with_ids(session, store, project)
    data = project_export.zip_bytes(files)
    last = session.scalar(
        select(func.max(ProjectVersion.number)).where(ProjectVersion.project_id == project.id)
    )
    number = (last or 0) + 1
    key = f"{project_prefix(project.id)}/versions/{uuid.uuid4().hex}-v{number}.zip"
    store.put_new(key, data)
    on_rollback(session, lambda: store.delete(key))
    version = ProjectVersion(
        project_id=project.id,
        number=number,
        description=description,
        created_by_id=user.id if user is not None else None,
        blob_key=key,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        counts=json.loads(files[project_export.MANIFEST])["counts"],
        sample_ids=sample_ids,
    )
    session.add(version)
    session.flush()
    return version


def list_versions(session: Session, project_id: int) -> list[ProjectVersion]:
    return list(
        session.scalars(
            select(ProjectVersion)
            .where(ProjectVersion.project_id == project_id)
            .order_by(ProjectVersion.number)
        )
    )


def get_version(session: Session, project_id: int, number: int) -> ProjectVersion:
    version = session.scalar(
        select(ProjectVersion).where(
            ProjectVersion.project_id == project_id, ProjectVersion.number == number
        )
    )
    if version is None:
        raise NotFound(f"version {number} does not exist in project {project_id}")
    return version


def delete_version(session: Session, store: BlobStore, version: ProjectVersion) -> None:
    """Delete a version: its row now, its zip once the caller commits. (A later version takes the
    next number after the newest remaining one.)"""
    key = version.blob_key
    session.delete(version)
    session.flush()
    on_commit(session, lambda: store.delete(key))


def version_files(store: BlobStore, version: ProjectVersion) -> dict[str, bytes]:
    """The version's export files, checked (the zip's hash, then every file's)."""
    data = store.get(version.blob_key)
    if hashlib.sha256(data).hexdigest() != version.sha256:
        raise project_export.ImportFailed(f"version {version.number}'s stored zip is damaged")
    return project_export.read_export(io.BytesIO(data))


def version_json(version: ProjectVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "description": version.description,
        "createdAt": version.created_at.isoformat(),
        "createdBy": version.created_by_id,
        "counts": version.counts,
        "sha256": version.sha256,
        "bytes": version.size_bytes,
    }


def compare(store: BlobStore, a: ProjectVersion, b: ProjectVersion) -> dict[str, Any]:
    """What changed from version `a` to version `b` of one project."""
    if a.project_id != b.project_id:
        raise BadRequest("only two versions of the same project can be compared")
    old = _samples_by_id(store, a)
    new = _samples_by_id(store, b)
    relabelled = [
        {"id": i, "from": old[i]["label"], "to": new[i]["label"]}
        for i in sorted(old.keys() & new.keys())
        if old[i]["label"] != new[i]["label"]
    ]
    moved = [
        {"id": i, "from": old[i]["category"], "to": new[i]["category"]}
        for i in sorted(old.keys() & new.keys())
        if old[i]["category"] != new[i]["category"]
    ]
    changed_data = sorted(
        i
        for i in old.keys() & new.keys()
        if old[i]["file"] != new[i]["file"] or old[i]["metadata"] != new[i]["metadata"]
    )
    imp_a = _impulses(store, a)
    imp_b = _impulses(store, b)
    return {
        "from": a.number,
        "to": b.number,
        "samples": {
            "added": sorted(new.keys() - old.keys()),
            "removed": sorted(old.keys() - new.keys()),
            "relabelled": relabelled,
            "moved": moved,
            "changed": changed_data,
        },
        "impulses": {
            "added": [imp_b[r]["name"] for r in sorted(imp_b.keys() - imp_a.keys())],
            "removed": [imp_a[r]["name"] for r in sorted(imp_a.keys() - imp_b.keys())],
            "changed": [
                {
                    "name": imp_b[r]["name"],
                    "fromRevision": imp_a[r]["revision"],
                    "toRevision": imp_b[r]["revision"],
                }
                for r in sorted(imp_a.keys() & imp_b.keys())
                if imp_a[r]["design"] != imp_b[r]["design"]
            ],
        },
        "accuracy": {"from": _accuracy(store, a), "to": _accuracy(store, b)},
        "counts": {"from": a.counts, "to": b.counts},
    }


def _accuracy(store: BlobStore, version: ProjectVersion) -> list[dict[str, Any]]:
    """The validation accuracy of each trained learning block, from its training results."""
    files = version_files(store, version)
    names = {i["ref"]: i["name"] for i in json.loads(files["impulses.json"])}
    out = []
    for art in json.loads(files["artifacts.json"]):
        if art["kind"] != "training-results":
            continue
        try:
            validation = json.loads(files[art["file"]]).get("validation") or {}
        except (ValueError, AttributeError):
            continue
        out.append(
            {
                "impulse": names.get(art["impulse_ref"]),
                "learnId": (art.get("meta") or {}).get("learn_id"),
                **{
                    model: metrics["accuracy"]
                    for model, metrics in validation.items()
                    if isinstance(metrics, dict) and "accuracy" in metrics
                },
            }
        )
    return out


def _samples_by_id(store: BlobStore, version: ProjectVersion) -> dict[int, dict[str, Any]]:
    samples = json.loads(version_files(store, version)["samples.json"])
    return dict(zip(version.sample_ids, samples, strict=True))


def _impulses(store: BlobStore, version: ProjectVersion) -> dict[int, dict[str, Any]]:
    # impulses are matched by position (ref): the export carries no ids
    return {i["ref"]: i for i in json.loads(version_files(store, version)["impulses.json"])}


def restore(
    session: Session, store: BlobStore, version: ProjectVersion, *, owner: User | None
) -> project_export.ImportResult:
    """A new project holding the version's samples, impulses and artifacts."""
    source = session.get(Project, version.project_id)
    name = f"{source.name if source else 'project'} (version {version.number})"[:200]
    return project_export.import_project(
        session, store, version_files(store, version), owner=owner, name=name
    )
