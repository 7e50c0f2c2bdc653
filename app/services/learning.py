"""Learning blocks on top of generated features: train + quantize, test, classify.

The heavy lifting is in `workers.learn` (pure, TensorFlow imported lazily); this module finds the
features of an impulse's learning block, calls it, and stores what comes back as artifacts.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import UnitOfWork
from app.core.storage import BlobStore
from app.models import Artifact, Impulse, Sample
from app.schemas.impulses import AnomalyKind, InputBlock, LearnBlock, TimeSeriesInputBlock
from app.services import artifacts
from app.services import features as feature_service
from app.services import impulses as impulse_service
from app.services.errors import BadRequest, Invalid, NotFound
from workers.deploy import SUPPORTED_OPS
from workers.learn import LearnError
from workers.learn.checks import evaluation_warnings, training_warnings


def learn_block(impulse: Impulse, learn_id: int | None) -> LearnBlock:
    if not impulse.learn:
        raise BadRequest(f"impulse {impulse.id} has no learning block: add one to its 'learn' list")
    if learn_id is None:
        return impulse.learn[0]
    for b in impulse.learn:
        if b.id == learn_id:
            return b
    raise NotFound(
        f"impulse {impulse.id} has no learning block {learn_id} (it has "
        f"{[b.id for b in impulse.learn]})"
    )


def check_ready_to_train(session: Session, impulse: Impulse, block: LearnBlock) -> None:
    """Fail before queueing what would fail in the job: no features, or fewer than two labels to
    learn."""
    for dsp_id in block.dsp:
        try:
            artifacts.feature_artifact(session, impulse, dsp_id)
        except NotFound as exc:
            raise BadRequest(f"no features to train on: {exc.message}") from exc
    if block.type == "classification":
        labels = session.scalars(
            select(Sample.label)
            .where(
                Sample.project_id == impulse.project_id,
                Sample.category == "training",
                Sample.enabled.is_(True),
            )
            .group_by(Sample.label)
        ).all()
        if len(labels) < 2:
            raise BadRequest(
                f"a classifier needs at least two labels in the training data; it has "
                f"{len(labels)} ({', '.join(labels) or 'none'})"
            )


# --- features of a learning block ----------------------------------------------------------------

FEATURE_KIND = {
    "mfcc": "mfcc",
    "mfe": "mfe",
    "spectrogram": "spectrogram",
    "spectral": "spectral",
    "flatten": "flatten",
    "raw": "raw",
    "image": "image",
}


def load_block_features(
    session: Session, store: BlobStore, impulse: Impulse, block: LearnBlock
) -> dict[str, Any]:
    """The feature rows the learning block consumes: its DSP blocks' features side by side."""
    parts = []
    for dsp_id in block.dsp:
        cfg = impulse_service.dsp_block(impulse, dsp_id)
        art = artifacts.feature_artifact(session, impulse, dsp_id)
        if art.meta.get("config_hash") != impulse_service.feature_config_hash(impulse.input, cfg):
            raise BadRequest(
                f"the features of processing block '{cfg.name}' are out of date (the impulse "
                "changed): "
                "run generate-features again"
            )
        parts.append((cfg, art, feature_service.load_features(store, art)))
    first = parts[0][2]
    for _cfg, _, data in parts[1:]:
        if not (
            np.array_equal(data["sample_ids"], first["sample_ids"])
            and np.array_equal(data["window_index"], first["window_index"])
        ):
            raise BadRequest(
                f"the features of processing blocks {block.dsp} were generated from different "
                "samples: run generate-features again"
            )
    X = np.concatenate([p[2]["X"] for p in parts], axis=1).astype(np.float32)
    if len(parts) == 1:
        shape = tuple(int(v) for v in first["shape"])
        kind = FEATURE_KIND[parts[0][0].block]
    else:
        shape, kind = (X.shape[1],), "spectral"
    if int(np.prod(shape)) != X.shape[1]:
        shape = (X.shape[1],)
    return {
        "X": X,
        "labels": first["labels"],
        "categories": first["categories"],
        "sample_ids": first["sample_ids"],
        "window_index": first["window_index"],
        "shape": shape,
        "kind": kind,
    }


def _labels_from_db(session: Session, sample_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Current label and category of every row (samples may have been relabelled or moved since)."""
    ids = sorted(set(int(i) for i in sample_ids))
    rows = {}
    for chunk in range(0, len(ids), 900):
        part = ids[chunk : chunk + 900]
        rows.update(
            {
                sid: (lab, cat, en)
                for sid, lab, cat, en in session.execute(
                    select(Sample.id, Sample.label, Sample.category, Sample.enabled).where(
                        Sample.id.in_(part)
                    )
                )
            }
        )
    labels = np.array([rows.get(int(i), ("", "deleted", False))[0] for i in sample_ids])
    cats = np.array(
        [rows[int(i)][1] if int(i) in rows and rows[int(i)][2] else "excluded" for i in sample_ids]
    )
    return labels, cats


# --- training -------------------------------------------------------------------------------------


def train(
    uow: UnitOfWork,
    store: BlobStore,
    project_id: int,
    impulse_id: int,
    learn_id: int | None,
    *,
    job_id: int | None = None,
    log: Callable[[str], None] = print,
    progress: Callable[[float], None] = lambda p: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict:
    with uow() as session:
        impulse = impulse_service.get_impulse(session, project_id, impulse_id)
        block = learn_block(impulse, learn_id)
        impulse_service.validate_learn_settings(block)
        data = load_block_features(session, store, impulse, block)
        labels_now, cats_now = _labels_from_db(session, data["sample_ids"])
        revision = impulse.revision
        train_rows = cats_now == "training"
        if not train_rows.any():
            raise BadRequest(
                "no training features: put samples in the training category and generate features"
            )
        split = (
            validation_groups(session, data["sample_ids"], train_rows, block.training)
            if block.anomaly_kind is None
            else None
        )
    X, y = data["X"][train_rows], labels_now[train_rows]
    X = X.reshape((len(X),) + tuple(data["shape"]))
    log(
        f"training {block.type} block '{block.name}' on {len(X)} windows of shape "
        f"{list(data['shape'])} ({data['kind']} features), labels: "
        f"{', '.join(sorted(set(y.tolist())))}"
    )
    t0 = time.monotonic()
    if block.anomaly_kind is not None:
        result, arts = _train_anomaly(block, block.anomaly_kind, X.reshape(len(X), -1), log)
    else:
        assert split is not None
        groups = split.pop("groups")
        log(split["message"])
        result, arts = _train_nn(
            block, X, y, data, log=log, progress=progress, should_stop=should_stop, groups=groups
        )
        result["split"] = split
        if block.task == "classification":
            result["warnings"] = training_warnings(
                result["history"], result["validation"], n_classes=len(result["labels"])
            )
            for warning in result["warnings"]:
                log(f"warning: {warning}")
            result["window_predictions"] = window_predictions(
                arts["tflite-int8"], data, result["labels"], log
            )
    result.update(
        {
            "impulse_id": impulse_id,
            "learn_id": block.id,
            "revision": revision,
            "seconds": round(time.monotonic() - t0, 2),
            "input_shape": list(data["shape"]),
            "feature_kind": data["kind"],
        }
    )
    arts["training-results"] = json.dumps(result).encode()
    with uow() as session:
        impulse = impulse_service.get_impulse(session, project_id, impulse_id)
        ids = {
            kind: artifacts.save_learn_artifact(
                session, store, impulse, block.id, kind, blob, revision=revision, job_id=job_id
            ).id
            for kind, blob in arts.items()
        }
    result["artifacts"] = ids
    return result


WINDOW_PREDICTIONS_MAX = 20_000


def window_predictions(
    tflite_int8: bytes, data: dict[str, np.ndarray], labels: list[str], log: Callable[[str], None]
) -> dict[str, Any] | None:
    """The int8 model's label for every window of the block's features (training and testing), for
    the feature explorer to mark the misclassified ones: `{"by_window": {"<sampleId>:<window>":
    label index}}`; None beyond WINDOW_PREDICTIONS_MAX windows."""
    from workers.learn.evaluate import predict_tflite

    n = len(data["X"])
    if n > WINDOW_PREDICTIONS_MAX:
        log(f"feature explorer: {n} windows, too many to mark the misclassified ones")
        return None
    scores = predict_tflite(tflite_int8, data["X"].reshape((n, *data["shape"])), engine="tflm")
    pred = np.argmax(scores, axis=1)
    wrong = int(np.sum(np.array(labels)[pred] != data["labels"])) if labels else 0
    log(f"feature explorer: the int8 model gets {wrong} of {n} windows wrong (marked there)")
    return {
        "by_window": {
            f"{int(sid)}:{int(w)}": int(p)
            for sid, w, p in zip(data["sample_ids"], data["window_index"], pred, strict=True)
        }
    }


def _sample_metadata(session: Session, sample_ids: np.ndarray) -> dict[int, dict]:
    ids = sorted(set(int(i) for i in sample_ids))
    meta: dict[int, dict] = {}
    for chunk in range(0, len(ids), 900):
        part = ids[chunk : chunk + 900]
        for sid, md in session.execute(
            select(Sample.id, Sample.metadata_).where(Sample.id.in_(part))
        ):
            meta[sid] = md or {}
    return meta


def split_suggestion(session: Session, project_id: int) -> str:
    """What an empty `split_by_metadata` means for the project's training data, for the form:
    "suggested: <key>" when every training sample carries such a key, else "whole samples"."""
    from workers.learn.training import suggest_split_key

    metadata = session.scalars(
        select(Sample.metadata_).where(
            Sample.project_id == project_id,
            Sample.category == "training",
            Sample.enabled.is_(True),
        )
    ).all()
    key = suggest_split_key(list(metadata))
    return f"suggested: {key}" if key else "whole samples"


def validation_groups(
    session: Session, sample_ids: np.ndarray, train_rows: np.ndarray, training: dict
) -> dict:
    """What validation keeps together, for the training rows: the metadata key the block names
    (`split_by_metadata`), else a key the samples carry (speaker, subject, device, ...: see
    `suggest_split_key`), else the sample. Never single windows: windows of one recording are
    near copies of each other. Returns `groups` (one value per training row), `by`
    ("metadata" or "sample"), `key`, `suggested`, `n_groups` and the `message` for the log."""
    from workers.learn.training import sample_groups, suggest_split_key

    ids = sample_ids[train_rows]
    meta = _sample_metadata(session, ids)
    key = training.get("split_by_metadata")
    suggested = False
    if not key:
        uniq = sorted(set(int(i) for i in ids))
        key = suggest_split_key([meta.get(i) for i in uniq])
        suggested = key is not None
    if key:
        groups = np.array([str(meta.get(int(i), {}).get(key, "")) for i in ids])
        n = len(set(groups.tolist()))
        how = "suggested: every sample carries it" if suggested else "split_by_metadata"
        message = (
            f"validation split by metadata '{key}' ({how}): {n} distinct values, "
            f"each on one side only"
        )
        by = "metadata"
    else:
        groups = sample_groups(ids)  # a sample's rank among the training samples
        n = len(set(groups.tolist()))
        message = (
            f"validation split by sample: the {n} training samples each go whole to training "
            "or validation (set split_by_metadata to keep e.g. a speaker's samples together)"
        )
        by = "sample"
    return {
        "groups": groups,
        "by": by,
        "key": key,
        "suggested": suggested,
        "n_groups": n,
        "message": message,
    }


def _train_nn(
    block: LearnBlock,
    X,
    y,
    data,
    *,
    log,
    progress,
    should_stop,
    groups=None,
) -> tuple[dict, dict]:
    from workers.learn import TrainSettings, default_architecture, validate_architecture
    from workers.learn.pipeline import train_and_quantize

    task = block.task
    settings = block.settings
    train_settings = TrainSettings.from_dict({**block.training, "task": task})
    labels = sorted(set(y.tolist())) if task == "classification" else None
    if labels is not None and len(labels) < 2:
        raise BadRequest(f"training needs at least two labels; the training data only has {labels}")
    shape = tuple(data["shape"])
    try:
        layers = (
            validate_architecture(settings["layers"], input_shape=shape)
            if settings.get("layers")
            else default_architecture(
                input_shape=shape,
                feature_kind=data["kind"],
                n_outputs=len(labels) if labels else 1,
                task=task,
            )
        )
    except LearnError as exc:
        raise Invalid(f"learn block {block.id} layers: {exc}") from exc
    epochs = train_settings.epochs

    def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "epoch")
        log(f"epoch {epoch}/{epochs}: {shown}")
        progress(85.0 * epoch / epochs)

    y_fit = y if task == "classification" else y.astype(np.float32)
    out = train_and_quantize(
        X,
        y_fit,
        labels=labels,
        layers=layers,
        settings=train_settings,
        on_epoch=on_epoch,
        should_stop=should_stop,
        supported_ops=set(SUPPORTED_OPS),
        groups=groups,
    )
    progress(95.0)
    for name in ("float32", "int8"):
        m = out.validation.get(name)
        if m:
            log(
                f"validation {name}: "
                + ", ".join(f"{k} {m[k]:.4f}" for k in ("accuracy", "mae", "rmse") if k in m)
            )
    buf = io.BytesIO()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        out.result.model.save(path)
        buf.write(path.read_bytes())
    ops = out.card.get("operators") or []
    result = {
        "type": block.type,
        "labels": out.result.labels,
        "history": out.result.history,
        "best_epoch": out.result.best_epoch,
        "validation": out.validation,
        "architecture": layers,
        "settings": train_settings.as_dict(),
        "card": out.card,
        "io": out.io,
        "ops": [{"op": op, "supported": op in SUPPORTED_OPS} for op in ops],
        "stages": {k: round(v, 2) for k, v in out.stages_s.items()},
    }
    arts = {
        "keras-model": buf.getvalue(),
        "tflite-float32": out.float32_tflite,
        "tflite-int8": out.int8_tflite,
        "model-card": json.dumps({**out.card, "io": out.io, "labels": out.result.labels}).encode(),
    }
    return result, arts


def _train_anomaly(
    block: LearnBlock, kind: AnomalyKind, X: np.ndarray, log: Callable[[str], None]
) -> tuple[dict, dict]:
    from workers.learn import anomaly

    s = block.settings
    try:
        if kind == "kmeans":
            model = anomaly.fit_kmeans(
                X,
                n_clusters=int(s.get("n_clusters", min(32, len(X)))),
                features=s.get("features"),
                seed=int(s.get("seed", 1)),
            )
        else:
            model = anomaly.fit_gmm(
                X,
                n_components=int(s.get("n_components", min(8, len(X)))),
                features=s.get("features"),
                seed=int(s.get("seed", 1)),
            )
        scores = score_anomaly(kind, model, X)
    except LearnError as exc:
        raise BadRequest(str(exc)) from exc
    threshold = float(s.get("threshold", float(np.percentile(scores, 99)) * 1.1))
    model["threshold"] = threshold
    log(
        f"{block.type}: training scores median {np.median(scores):.3f}, 99th percentile "
        f"{np.percentile(scores, 99):.3f}; threshold {threshold:.3f}"
    )
    result = {
        "type": block.type,
        "threshold": threshold,
        "training_scores": {
            "median": float(np.median(scores)),
            "p99": float(np.percentile(scores, 99)),
            "max": float(scores.max()),
        },
    }
    return result, {"anomaly-model": json.dumps(model).encode()}


# --- trained models -------------------------------------------------------------------------------


def score_anomaly(kind: AnomalyKind, model: dict[str, Any], X: np.ndarray) -> np.ndarray:
    """Anomaly scores of feature rows [n, features] under a trained K-means or Gaussian-mixture
    model."""
    from workers.learn import anomaly

    score = anomaly.score_kmeans if kind == "kmeans" else anomaly.score_gmm
    return score(model, X)


def score_features(
    session: Session,
    store: BlobStore,
    impulse: Impulse,
    block: LearnBlock,
    X: np.ndarray,
    shape: tuple[int, ...],
) -> dict[str, np.ndarray]:
    """Per-window outputs of a trained learning block: {"float32": scores, "int8": scores} or
    {"anomaly": scores}."""
    if block.anomaly_kind is not None:
        model = artifacts.read_json(
            store, artifacts.learn_artifact(session, impulse, block.id, "anomaly-model")
        )
        return {"anomaly": score_anomaly(block.anomaly_kind, model, X.reshape(len(X), -1))}
    from workers.learn.evaluate import predict_tflite

    out = {}
    for name, kind in (("float32", "tflite-float32"), ("int8", "tflite-int8")):
        data = artifacts.read(store, artifacts.learn_artifact(session, impulse, block.id, kind))
        out[name] = predict_tflite(data, X.reshape((len(X),) + tuple(shape)), engine="tflm")
    return out


def _results(
    session: Session, store: BlobStore, impulse: Impulse, block: LearnBlock
) -> dict[str, Any]:
    return artifacts.read_json(
        store, artifacts.learn_artifact(session, impulse, block.id, "training-results")
    )


# --- model testing --------------------------------------------------------------------------------

UNCERTAIN_BELOW = 0.6  # a window whose top score is lower counts as uncertain (as Edge Impulse)


def test(
    uow: UnitOfWork,
    store: BlobStore,
    project_id: int,
    impulse_id: int,
    learn_id: int | None,
    *,
    job_id: int | None = None,
    log: Callable[[str], None] = print,
    progress: Callable[[float], None] = lambda p: None,
) -> dict:
    from workers.learn.evaluate import classification_metrics, regression_metrics

    with uow() as session:
        impulse = impulse_service.get_impulse(session, project_id, impulse_id)
        block = learn_block(impulse, learn_id)
        data = load_block_features(session, store, impulse, block)
        labels_now, cats_now = _labels_from_db(session, data["sample_ids"])
        trained = _results(session, store, impulse, block)
        categories = ("testing", "anomaly") if block.is_anomaly else ("testing",)
        rows = np.isin(cats_now, categories)
        if not rows.any():
            raise BadRequest(
                "no testing features: put samples in the testing category and generate features"
            )
        X = data["X"][rows]
        log(f"testing {block.type} block '{block.name}' on {int(rows.sum())} windows")
        scores = score_features(session, store, impulse, block, X, tuple(data["shape"]))
        revision = impulse.revision
    progress(80)
    sample_ids, y, cats = data["sample_ids"][rows], labels_now[rows], cats_now[rows]
    result: dict[str, Any] = {
        "impulse_id": impulse_id,
        "learn_id": block.id,
        "revision": revision,
        "type": block.type,
        "windows": int(rows.sum()),
    }
    if block.is_anomaly:
        s, thr = scores["anomaly"], trained["threshold"]
        result["threshold"] = thr
        result["per_category"] = {
            c: {
                "windows": int((cats == c).sum()),
                "mean_score": float(s[cats == c].mean()),
                "flagged": float((s[cats == c] > thr).mean()),
            }
            for c in categories
            if (cats == c).any()
        }
        result["per_window"] = [
            {"sampleId": int(i), "category": str(c), "score": float(v)}
            for i, c, v in zip(sample_ids, cats, s, strict=True)
        ]
    elif block.type == "regression":
        yt = y.astype(np.float32)
        result["metrics"] = {k: regression_metrics(yt, v.reshape(-1)) for k, v in scores.items()}
    else:
        labels = trained["labels"]
        missing = sorted(set(y.tolist()) - set(labels))
        if missing:
            log(
                "warning: test labels the model never saw in training: "
                f"{', '.join(missing)} (counted as errors)"
            )
        per_window = {
            k: classification_metrics(y, v, labels)
            if not missing
            else _metrics_with_unknown(y, v, labels)
            for k, v in scores.items()
        }
        # per sample: mean of its windows' scores
        uniq = np.unique(sample_ids)
        index = {sid: np.flatnonzero(sample_ids == sid) for sid in uniq}
        y_sample = np.array([y[index[sid][0]] for sid in uniq])
        per_sample, samples_out = {}, []
        for k, v in scores.items():
            mean = np.stack([v[index[sid]].mean(axis=0) for sid in uniq])
            per_sample[k] = (
                classification_metrics(y_sample, mean, labels)
                if not missing
                else _metrics_with_unknown(y_sample, mean, labels)
            )
            for j, sid in enumerate(uniq):
                if k == "int8":
                    samples_out.append(
                        {
                            "sampleId": int(sid),
                            "label": str(y_sample[j]),
                            "windows": int(len(index[sid])),
                            "predicted": labels[int(np.argmax(mean[j]))],
                            "scores": [round(float(x), 4) for x in mean[j]],
                        }
                    )
        with uow() as session:
            names = dict(
                session.execute(
                    select(Sample.id, Sample.filename).where(
                        Sample.id.in_([int(x["sampleId"]) for x in samples_out][:5000])
                    )
                ).all()
            )
        for x in samples_out:
            x["name"] = names.get(x["sampleId"], f"#{x['sampleId']}")
        result.update(
            {
                "labels": labels,
                "min_confidence": UNCERTAIN_BELOW,
                "uncertain_windows": {
                    k: int((np.asarray(v).max(axis=1) < UNCERTAIN_BELOW).sum())
                    for k, v in scores.items()
                },
                "per_window": per_window,
                "per_sample": per_sample,
                "samples": samples_out,
                "accuracy": {k: per_sample[k]["accuracy"] for k in per_sample},
                "unknown_labels": missing,
            }
        )
        log(
            "test accuracy per sample: "
            + ", ".join(f"{k} {v['accuracy']:.4f}" for k, v in per_sample.items())
        )
        result["warnings"] = evaluation_warnings(
            per_window, result["accuracy"], trained.get("validation") or {}
        )
        for warning in result["warnings"]:
            log(f"warning: {warning}")
    with uow() as session:
        impulse = impulse_service.get_impulse(session, project_id, impulse_id)
        art = artifacts.save_learn_artifact(
            session,
            store,
            impulse,
            block.id,
            "test-results",
            json.dumps(result).encode(),
            revision=revision,
            job_id=job_id,
        )
        result["artifact_id"] = art.id
    return result


def _metrics_with_unknown(y: np.ndarray, scores: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Accuracy and confusion when the test set holds labels the model does not know (they count as
    wrong)."""
    pred = np.array([labels[i] for i in np.argmax(scores, axis=1)])
    all_labels = sorted(set(labels) | set(y.tolist()))
    pos = {lab: i for i, lab in enumerate(all_labels)}
    cm = np.zeros((len(all_labels), len(all_labels)), dtype=int)
    for t, p in zip(y, pred, strict=True):
        cm[pos[t], pos[p]] += 1
    return {
        "accuracy": float((pred == y).mean()),
        "confusion_matrix": cm.tolist(),
        "confusion_labels": all_labels,
    }


# --- live classification --------------------------------------------------------------------------


def classify_windows(
    session: Session, store: BlobStore, impulse: Impulse, windows: np.ndarray
) -> dict[str, Any]:
    """Run the impulse (DSP + every trained learning block) on windows; per-window scores."""
    from workers.dsp import DspError, ParamError, get_block

    feats: dict[int, np.ndarray] = {}
    shapes: dict[int, tuple] = {}
    try:
        for cfg in impulse.dsp:
            out = get_block(cfg.block).run(
                windows, frequency_hz=impulse.input.frequency_hz, params=cfg.params
            )
            feats[cfg.id], shapes[cfg.id] = out.features, tuple(out.shape)
    except (DspError, ParamError) as exc:
        raise BadRequest(str(exc)) from exc
    result: dict[str, Any] = {"windows": int(len(windows)), "blocks": {}}
    for block in impulse.learn:
        X = np.concatenate([feats[i] for i in block.dsp], axis=1)
        shape = shapes[block.dsp[0]] if len(block.dsp) == 1 else (X.shape[1],)
        if int(np.prod(shape)) != X.shape[1]:
            shape = (X.shape[1],)
        try:
            scores = score_features(session, store, impulse, block, X, shape)
        except NotFound as exc:
            result["blocks"][str(block.id)] = {
                "type": block.type,
                "name": block.name,
                "error": exc.message,
            }
            continue
        entry: dict[str, Any] = {"type": block.type, "name": block.name}
        if "anomaly" in scores:
            thr = _results(session, store, impulse, block)["threshold"]
            entry.update(
                {
                    "threshold": thr,
                    "scores": scores["anomaly"].round(4).tolist(),
                    "anomalous": (scores["anomaly"] > thr).tolist(),
                }
            )
        else:
            trained = _results(session, store, impulse, block)
            labels = trained.get("labels")
            entry["labels"] = labels
            for k, v in scores.items():
                entry[k] = v.round(4).tolist()
            if labels:
                mean = scores["int8"].mean(axis=0)
                entry["predicted"] = labels[int(np.argmax(mean))]
                entry["per_window_predicted"] = [
                    labels[int(i)] for i in np.argmax(scores["int8"], axis=1)
                ]
        result["blocks"][str(block.id)] = entry
    return result


def classify_sample(
    session: Session, store: BlobStore, impulse: Impulse, sample: Sample
) -> dict[str, Any]:
    from workers.dsp import DspError, ParamError

    try:
        windows = feature_service.sample_windows(store, sample, impulse.input)
    except (DspError, ParamError) as exc:
        raise BadRequest(f"sample {sample.id}: {exc}") from exc
    out = classify_windows(session, store, impulse, windows)
    out.update(
        {
            "sampleId": sample.id,
            "label": sample.label,
            "windowStartsMs": _window_starts(impulse.input, len(windows)),
        }
    )
    return out


def _window_starts(spec: InputBlock, n: int) -> list[float]:
    if not isinstance(spec, TimeSeriesInputBlock):
        return [0.0] * n
    return [round(i * spec.window_increase_ms, 3) for i in range(n)]


# --- bring your own model -------------------------------------------------------------------------


def store_uploaded_model(
    session: Session, store: BlobStore, project_id: int, name: str, data: bytes
) -> Artifact:
    """Inspect an uploaded .tflite (corrupt file, unsupported ops → 400) and keep it as an
    artifact."""
    from app.ingestion import IngestionError, sanitize_filename
    from workers.learn.quantize import inspect_tflite

    try:
        name = sanitize_filename(name)
    except IngestionError as exc:
        raise BadRequest(exc.message) from exc
    if not name.endswith(".tflite"):
        raise BadRequest(f"'{name}' is not a .tflite file")
    try:
        info = inspect_tflite(data, supported_ops=set(SUPPORTED_OPS))
    except LearnError as exc:
        raise BadRequest(f"'{name}': {exc}") from exc
    unsupported = info.get("unsupported_ops") or []
    if unsupported:
        raise BadRequest(
            f"'{name}' uses operators the deployment compiler does not support: "
            f"{', '.join(unsupported)}"
        )
    meta = {
        k: v
        for k, v in info.items()
        if k in ("kind", "operators", "input", "output", "parameters", "macs", "file_bytes")
    }
    return artifacts.save_uploaded_model(session, store, project_id, name, data, meta)
