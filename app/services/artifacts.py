"""Artifacts: the files jobs produce and users upload, in one place.

Every artifact is a blob plus an `artifacts` row (kind, name, size, sha256, meta). This module names
them (blob keys and download names), stores them (the blob is removed again if the row's transaction
rolls back; a replaced artifact's blob goes once the replacement commits) and finds them:

- features, feature-explorer: one per processing block of an impulse (`meta.dsp_id`), by
  generate-features;
- keras-model, tflite-float32, tflite-int8, model-card, training-results, anomaly-model: one per
  learning block (`meta.learn_id`), by train; test-results: one per learning block, by test;
- deployment: every build; uploaded-model: every upload (POST /models/upload).

The feature cache is blobs without rows (features per sample, and the shapes of a configuration's
windows and features); its keys are named here too. Everything lives under `projects/{id}/`, which
deleting a project removes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import on_commit, on_rollback
from app.core.storage import BlobStore
from app.models import Artifact, Impulse, Sample
from app.services.errors import NotFound

FEATURES = "features"
FEATURE_EXPLORER = "feature-explorer"
DEPLOYMENT = "deployment"
UPLOADED_MODEL = "uploaded-model"
# what training and testing store per learning block, with the file extension of each
LEARN_FILES = {
    "keras-model": ".keras",
    "tflite-float32": ".tflite",
    "tflite-int8": ".tflite",
    "model-card": ".json",
    "training-results": ".json",
    "anomaly-model": ".json",
    "test-results": ".json",
    "profile": ".json",  # latency/RAM/flash per board (app/services/profiles.py)
}


def project_prefix(project_id: int) -> str:
    """Every blob of a project (samples, artifacts, feature cache) is under this prefix."""
    return f"projects/{project_id}"


# --- the feature cache: blobs without rows, keyed by a feature configuration's hash ---------------


def _feature_cache(project_id: int, config_hash: str) -> str:
    return f"{project_prefix(project_id)}/features/{config_hash[:24]}"


def feature_cache_samples(project_id: int, config_hash: str) -> str:
    """The prefix of every sample's features under one configuration (one listing finds them)."""
    return f"{_feature_cache(project_id, config_hash)}/samples"


def tune_data_key(project_id: int, job_id: int) -> str:
    """The training samples a tuner job works on, packed once for all its trials."""
    return f"{project_prefix(project_id)}/tune/{job_id}/data.npz"


def feature_cache_key(project_id: int, config_hash: str, sample: Sample) -> str:
    """One sample's features under one configuration (changes when the sample's content does)."""
    folder = feature_cache_samples(project_id, config_hash)
    return f"{folder}/{sample.id}-{sample.content_hash[:16]}.npy"


def feature_shape_key(project_id: int, config_hash: str) -> str:
    """The shape of one window's features under one configuration (JSON list)."""
    return f"{_feature_cache(project_id, config_hash)}/shape.json"


def window_shape_key(project_id: int, config_hash: str) -> str:
    """The shape of one input window under one configuration (JSON list)."""
    return f"{_feature_cache(project_id, config_hash)}/window.json"


# --- storing -------------------------------------------------------------------------------------


def _add(
    session: Session,
    store: BlobStore,
    *,
    project_id: int,
    kind: str,
    name: str,
    folder: str,
    data: bytes,
    meta: dict[str, Any],
    impulse_id: int | None = None,
    job_id: int | None = None,
) -> Artifact:
    key = f"{project_prefix(project_id)}/{folder}/{uuid.uuid4().hex}-{name}"
    store.put(key, data)
    on_rollback(session, lambda: store.delete(key))
    art = Artifact(
        project_id=project_id,
        job_id=job_id,
        impulse_id=impulse_id,
        kind=kind,
        name=name,
        blob_key=key,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        meta=json.loads(json.dumps(meta, default=str)),
    )
    session.add(art)
    session.flush()
    return art


def delete_blobs_on_commit(session: Session, store: BlobStore, arts: list[Artifact]) -> None:
    """Remove the artifacts' blobs once the transaction that deletes their rows commits."""
    keys = [a.blob_key for a in arts]

    def delete() -> None:
        for key in keys:
            store.delete(key)

    on_commit(session, delete)


def _replace(
    session: Session,
    store: BlobStore,
    impulse: Impulse,
    kind: str,
    name: str,
    data: bytes,
    meta: dict[str, Any],
    job_id: int | None,
    *,
    match: str,
) -> Artifact:
    """A new artifact of `kind` for the impulse, in place of the one with the same `meta[match]`."""
    old = [a for a in _of_impulse(session, impulse, kind) if a.meta.get(match) == meta[match]]
    for art in old:
        session.delete(art)
    delete_blobs_on_commit(session, store, old)
    return _add(
        session,
        store,
        project_id=impulse.project_id,
        kind=kind,
        name=name,
        folder=f"artifacts/{kind}",
        data=data,
        meta=meta,
        impulse_id=impulse.id,
        job_id=job_id,
    )


def save_features(
    session: Session,
    store: BlobStore,
    impulse: Impulse,
    dsp_id: int,
    data: bytes,
    meta: dict[str, Any],
    job_id: int | None,
) -> Artifact:
    """The feature matrix of one processing block (.npz), replacing the previous one."""
    return _replace(
        session,
        store,
        impulse,
        FEATURES,
        f"features-impulse{impulse.id}-dsp{dsp_id}.npz",
        data,
        {**meta, "dsp_id": dsp_id},
        job_id,
        match="dsp_id",
    )


def save_feature_explorer(
    session: Session,
    store: BlobStore,
    impulse: Impulse,
    dsp_id: int,
    explorer: dict[str, Any],
    meta: dict[str, Any],
    job_id: int | None,
) -> Artifact:
    """The 2-D projection of one processing block's features (JSON), replacing the previous one."""
    name = f"explorer-impulse{impulse.id}-dsp{dsp_id}.json"
    return _replace(
        session,
        store,
        impulse,
        FEATURE_EXPLORER,
        name,
        json.dumps(explorer).encode(),
        {**meta, "dsp_id": dsp_id},
        job_id,
        match="dsp_id",
    )


def save_learn_artifact(
    session: Session,
    store: BlobStore,
    impulse: Impulse,
    learn_id: int,
    kind: str,
    data: bytes,
    *,
    revision: int,
    job_id: int | None,
) -> Artifact:
    """A trained model, model card or training/test results of a learning block, replacing the
    previous."""
    name = f"{kind}-impulse{impulse.id}-learn{learn_id}{LEARN_FILES[kind]}"
    return _replace(
        session,
        store,
        impulse,
        kind,
        name,
        data,
        {"learn_id": learn_id, "revision": revision},
        job_id,
        match="learn_id",
    )


def save_deployment(
    session: Session,
    store: BlobStore,
    *,
    project_id: int,
    impulse_id: int | None,
    job_id: int | None,
    name: str,
    data: bytes,
    meta: dict[str, Any],
) -> Artifact:
    """A built library (zip); every build is kept."""
    return _add(
        session,
        store,
        project_id=project_id,
        kind=DEPLOYMENT,
        name=name,
        folder="deployments",
        data=data,
        meta=meta,
        impulse_id=impulse_id,
        job_id=job_id,
    )


def save_uploaded_model(
    session: Session,
    store: BlobStore,
    project_id: int,
    name: str,
    data: bytes,
    meta: dict[str, Any],
) -> Artifact:
    """A model a user brought (.tflite)."""
    return _add(
        session,
        store,
        project_id=project_id,
        kind=UPLOADED_MODEL,
        name=name,
        folder="models",
        data=data,
        meta=meta,
    )


def restore_artifact(
    session: Session,
    store: BlobStore,
    *,
    project_id: int,
    impulse_id: int | None,
    kind: str,
    name: str,
    data: bytes,
    meta: dict[str, Any],
) -> Artifact:
    """An artifact brought from a project export (app/services/project_export.py), in the folder
    its kind is stored in; its blob goes again if the import's transaction rolls back."""
    folder = {DEPLOYMENT: "deployments", UPLOADED_MODEL: "models"}.get(kind, f"artifacts/{kind}")
    return _add(
        session,
        store,
        project_id=project_id,
        kind=kind,
        name=name,
        folder=folder,
        data=data,
        meta=meta,
        impulse_id=impulse_id,
    )


# --- finding -------------------------------------------------------------------------------------


def _of_impulse(session: Session, impulse: Impulse, kind: str | None = None) -> list[Artifact]:
    stmt = select(Artifact).where(Artifact.impulse_id == impulse.id)
    if kind is not None:
        stmt = stmt.where(Artifact.kind == kind)
    return list(session.scalars(stmt.order_by(Artifact.id)))


def impulse_artifacts(session: Session, impulse: Impulse) -> list[Artifact]:
    return _of_impulse(session, impulse)


def feature_artifact(
    session: Session, impulse: Impulse, dsp_id: int, kind: str = FEATURES
) -> Artifact:
    """The features (or, with kind=FEATURE_EXPLORER, their projection) of one processing block."""
    for art in _of_impulse(session, impulse, kind):
        if art.meta.get("dsp_id") == dsp_id:
            return art
    name = next((b.name for b in impulse.dsp if b.id == dsp_id), str(dsp_id))
    raise NotFound(
        f"no features generated yet for impulse '{impulse.name}', block '{name}': "
        "run generate-features"
    )


def learn_artifact(session: Session, impulse: Impulse, learn_id: int, kind: str) -> Artifact:
    """A learning block's trained model, model card or results (`kind` from LEARN_FILES)."""
    for art in _of_impulse(session, impulse, kind):
        if art.meta.get("learn_id") == learn_id:
            return art
    name = next((b.name for b in impulse.learn if b.id == learn_id), str(learn_id))
    raise NotFound(
        f"learning block '{name}' of impulse '{impulse.name}' has no {kind} yet: train it first"
    )


def learn_artifacts(session: Session, impulse: Impulse, learn_id: int) -> list[Artifact]:
    """Everything training and testing stored for a learning block (its downloads)."""
    return [a for a in _of_impulse(session, impulse) if a.meta.get("learn_id") == learn_id]


def project_artifacts(
    session: Session,
    project_id: int,
    *,
    impulse_id: int | None = None,
    kind: str | None = None,
    newest_first: bool = False,
) -> list[Artifact]:
    stmt = select(Artifact).where(Artifact.project_id == project_id)
    if impulse_id is not None:
        stmt = stmt.where(Artifact.impulse_id == impulse_id)
    if kind is not None:
        stmt = stmt.where(Artifact.kind == kind)
    return list(session.scalars(stmt.order_by(Artifact.id.desc() if newest_first else Artifact.id)))


def project_artifact(session: Session, project_id: int, artifact_id: int) -> Artifact:
    art = session.get(Artifact, artifact_id)
    if art is None or art.project_id != project_id:
        raise NotFound(f"artifact {artifact_id} does not exist in project {project_id}")
    return art


def uploaded_model(session: Session, project_id: int, model_id: int) -> Artifact:
    art = session.get(Artifact, model_id)
    if art is None or art.project_id != project_id or art.kind != UPLOADED_MODEL:
        raise NotFound(f"uploaded model {model_id} does not exist in project {project_id}")
    return art


def deployments(session: Session, project_id: int) -> list[Artifact]:
    """Built libraries, newest first."""
    return project_artifacts(session, project_id, kind=DEPLOYMENT, newest_first=True)


def latest_deployment(
    session: Session, project_id: int, artifact_id: int | None = None
) -> Artifact:
    """The newest library (or the one asked for)."""
    stmt = select(Artifact).where(Artifact.project_id == project_id, Artifact.kind == DEPLOYMENT)
    if artifact_id is not None:
        stmt = stmt.where(Artifact.id == artifact_id)
    art = session.scalars(stmt.order_by(Artifact.id.desc()).limit(1)).first()
    if art is None:
        raise NotFound(
            "no deployment has been built yet: "
            "POST /api/{projectId}/jobs/build-ondevice-model first"
        )
    return art


# --- reading -------------------------------------------------------------------------------------


def read(store: BlobStore, art: Artifact) -> bytes:
    return store.get(art.blob_key)


def read_json(store: BlobStore, art: Artifact) -> Any:
    return json.loads(store.get(art.blob_key))


def media_type(art: Artifact) -> str:
    return "application/json" if art.name.endswith(".json") else "application/octet-stream"
