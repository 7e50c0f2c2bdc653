"""Feature generation: window every enabled sample, run the impulse's processing blocks, store the
matrix.

Per-sample features are cached under the feature set's configuration hash (input block + block
settings + implementation version) and the sample's content hash, so re-running after samples
change computes only the new ones. The assembled matrix (with the sample and window every row came
from) and a 2-D projection for the feature explorer are stored as artifacts.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.core.db import UnitOfWork
from app.core.storage import BlobStore
from app.models import Artifact, Impulse, Sample
from app.schemas.impulses import DspBlock, ImageInputBlock, InputBlock, TimeSeriesInputBlock
from app.services import artifacts
from app.services import impulses as impulse_service
from app.services.errors import BadRequest, Invalid, NotFound
from app.services.samples import (
    SampleFilter,
    all_samples,
    read_blobs,
    sample_image,
    sample_values,
)
from workers.dsp import DspError, ImageInput, ParamError, get_block, make_windows, prepare_image

Progress = Callable[[float, str | None], None]
# The explorer projects at most this many windows (a random subset beyond, said on the page).
EXPLORER_MAX_POINTS = 1000
# UMAP (umap-learn) from this many windows, t-SNE (scikit-learn) when UMAP does not import, PCA
# below TSNE_MIN_POINTS. UMAP's first call in a worker process imports and compiles (numba) for
# 40-100 s on this 2-core machine, later ones take ~15 s for 1000 windows; the job log says so.
UMAP_MIN_POINTS = 100
TSNE_MIN_POINTS = 30


def sample_windows(
    store: BlobStore, sample: Sample, spec: InputBlock, raw: bytes | None = None
) -> np.ndarray:
    """The input block applied to one stored sample: [n_windows, samples, axes] or [1, h, w, c].

    `raw` is the sample's file when the caller has read it already (`samples.read_blobs`)."""
    if isinstance(spec, ImageInputBlock):
        if sample.kind != "image":
            raise DspError(
                f"sample {sample.id} is a time series but the impulse's input is an image"
            )
        return prepare_image(sample_image(store, sample, raw), spec=spec.to_dsp())[None]
    if sample.kind != "timeseries":
        raise DspError(f"sample {sample.id} is an image but the impulse's input is a time series")
    values, interval_ms, sensors = sample_values(store, sample, raw)
    return make_windows(
        values,
        interval_ms=interval_ms,
        spec=spec.to_dsp(),
        sensor_names=[s["name"] for s in sensors],
    )


def _cached_shape(store: BlobStore, key: str) -> tuple[int, ...] | None:
    return tuple(json.loads(store.get(key))) if store.exists(key) else None


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _load_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def _put_all(store: BlobStore, items: list[tuple[str, bytes]]) -> None:
    """Write many small blobs; on object storage several requests in flight (each a round trip)."""
    if not store.remote or len(items) < 2:
        for key, data in items:
            store.put(key, data)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        for _ in pool.map(lambda item: store.put(*item), items):
            pass


def _get_all(store: BlobStore, keys: list[str]) -> dict[str, bytes]:
    """Read many small blobs, {key: bytes}; a key removed meanwhile is left out."""

    def get(key: str) -> tuple[str, bytes | None]:
        try:
            return key, store.get(key)
        except FileNotFoundError:  # removed meanwhile (the project's cache was cleared)
            return key, None

    if not store.remote or len(keys) < 2:
        pairs = map(get, keys)
        return {k: v for k, v in pairs if v is not None}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        return {k: v for k, v in pool.map(get, keys) if v is not None}


def _no_progress(_percent: float, _line: str | None = None) -> None:
    pass


def resampling(session: Session, project_id: int, spec: InputBlock) -> dict[str, Any] | None:
    """Which enabled time-series samples the input block resamples (their rate is not its
    frequency), or None: `{"to_hz", "samples", "from_hz": {rate: count}, "message"}`."""
    from sqlalchemy import func, select

    if isinstance(spec, ImageInputBlock):
        return None
    target = float(spec.frequency_hz)
    rows = session.execute(
        select(Sample.frequency_hz, func.count())
        .where(
            Sample.project_id == project_id,
            Sample.kind == "timeseries",
            Sample.enabled.is_(True),
            Sample.frequency_hz > 0,
        )
        .group_by(Sample.frequency_hz)
    ).all()
    other = {float(hz): int(n) for hz, n in rows if abs(hz - target) > 1e-6 * target}
    if not other:
        return None
    parts = ", ".join(
        f"{n} at {hz:g} Hz ({'up' if hz < target else 'down'}-sampled "
        f"{max(hz, target) / min(hz, target):.3g}x)"
        for hz, n in sorted(other.items())
    )
    return {
        "to_hz": target,
        "samples": sum(other.values()),
        "from_hz": {f"{hz:g}": n for hz, n in other.items()},
        "message": f"resampling to the impulse's {target:g} Hz: {parts}",
    }


def generate(
    uow: UnitOfWork,
    store: BlobStore,
    project_id: int,
    impulse_id: int,
    *,
    dsp_ids: Sequence[int] | None = None,
    job_id: int | None = None,
    progress: Progress | None = None,
    chunk_samples: int = 64,
) -> dict[str, Any]:
    """Generate (or refresh) the feature sets of an impulse; returns a summary per processing block.

    Each block's artifacts are written in a unit of work of their own (`uow()` opens and
    commits one), so no write transaction stays open while features are computed.
    """
    say: Progress = progress or _no_progress
    with uow() as session:
        impulse = impulse_service.get_impulse(session, project_id, impulse_id)
        block_ids = list(dsp_ids) if dsp_ids else [b.id for b in impulse.dsp]
        for i in block_ids:
            impulse_service.dsp_block(impulse, i)
        revision = impulse.revision
        resampled = resampling(session, project_id, impulse.input)
    summary: dict[str, Any] = {"impulse_id": impulse_id, "revision": revision, "blocks": {}}
    if resampled:
        summary["resampled"] = resampled
        say(0.0, resampled["message"])
    for bi, block_id in enumerate(block_ids):
        span = (100.0 * bi / len(block_ids), 100.0 * (bi + 1) / len(block_ids))

        def sub(p: float, line: str | None = None, span=span) -> None:
            say(span[0] + (span[1] - span[0]) * p / 100.0, line)

        with uow() as session:
            impulse = impulse_service.get_impulse(session, project_id, impulse_id)
            samples = all_samples(session, project_id, SampleFilter(enabled=True))
            if not samples:
                raise BadRequest(
                    "the project has no enabled samples: upload data before generating features"
                )
            summary["blocks"][str(block_id)] = _generate_block(
                session,
                store,
                impulse,
                impulse_service.dsp_block(impulse, block_id),
                samples,
                job_id=job_id,
                progress=sub,
                chunk_samples=chunk_samples,
            )
    return summary


def _generate_block(
    session: Session,
    store: BlobStore,
    impulse: Impulse,
    cfg: DspBlock,
    samples: list[Sample],
    *,
    job_id: int | None,
    progress: Progress,
    chunk_samples: int,
) -> dict[str, Any]:
    block = get_block(cfg.block)
    spec = impulse.input
    config = impulse_service.feature_config_hash(spec, cfg)
    freq = spec.frequency_hz
    t0 = time.monotonic()
    pid = impulse.project_id
    # one listing rather than a lookup per sample (each one a round trip on object storage)
    cached = set(store.iter_keys(artifacts.feature_cache_samples(pid, config)))
    todo = [s for s in samples if artifacts.feature_cache_key(pid, config, s) not in cached]
    progress(
        0,
        f"{cfg.name} ({block.name}): {len(samples)} samples, {len(samples) - len(todo)} cached, "
        f"{len(todo)} to compute",
    )
    skipped: dict[int, str] = {}
    window_shape = _cached_shape(store, artifacts.window_shape_key(pid, config))
    for start in range(0, len(todo), chunk_samples):
        chunk = todo[start : start + chunk_samples]
        windows, owners = [], []
        raw = read_blobs(store, chunk)  # one read per pack file, not one per sample
        for s in chunk:
            try:
                w = sample_windows(store, s, spec, raw[s.id])
            except (DspError, ParamError) as exc:
                skipped[s.id] = str(exc)
                continue
            if window_shape is None:
                window_shape = w.shape[1:]
            elif w.shape[1:] != window_shape:
                skipped[s.id] = (
                    f"its windows are shaped {list(w.shape[1:])} (samples × axes) but the "
                    f"impulse's others are {list(window_shape)}: give the impulse's input block "
                    "explicit axes"
                )
                continue
            windows.append(w)
            owners.append((s, len(w)))
        if windows and window_shape is not None:
            out = block.run(np.concatenate(windows), frequency_hz=freq, params=cfg.params)
            store.put(
                artifacts.feature_shape_key(pid, config), json.dumps(list(out.shape)).encode()
            )
            store.put(
                artifacts.window_shape_key(pid, config), json.dumps(list(window_shape)).encode()
            )
            pos, puts = 0, []
            for s, n in owners:
                key = artifacts.feature_cache_key(pid, config, s)
                puts.append((key, _npy(out.features[pos : pos + n])))
                cached.add(key)
                pos += n
            _put_all(store, puts)
        done = min(len(todo), start + chunk_samples)
        progress(
            90.0 * done / max(1, len(todo)), f"computed features for {done}/{len(todo)} samples"
        )
    for sid, reason in sorted(skipped.items())[:20]:
        progress(90.0, f"skipped sample {sid}: {reason}")
    if len(skipped) > 20:
        progress(90.0, f"... and {len(skipped) - 20} more samples skipped")

    rows, sample_ids, window_ix, labels, categories = [], [], [], [], []
    wanted = [k for s in samples if (k := artifacts.feature_cache_key(pid, config, s)) in cached]
    stored = _get_all(store, wanted)
    for s in samples:
        if s.id in skipped:
            continue
        data = stored.get(artifacts.feature_cache_key(pid, config, s))
        feats = None if data is None else _load_npy(data)
        if feats is None:
            skipped[s.id] = "features missing from cache"
            continue
        rows.append(feats)
        sample_ids += [s.id] * len(feats)
        window_ix += list(range(len(feats)))
        labels += [s.label] * len(feats)
        categories += [s.category] * len(feats)
    if not rows:
        raise BadRequest(
            f"no sample could be processed by {cfg.name}: " + "; ".join(list(skipped.values())[:3])
        )
    X = np.concatenate(rows).astype(np.float32)
    shape = _cached_shape(store, artifacts.feature_shape_key(pid, config)) or (X.shape[1],)
    label_list = sorted(set(labels))
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        X=X,
        labels=np.array(labels),
        sample_ids=np.array(sample_ids, np.int64),
        window_index=np.array(window_ix, np.int32),
        categories=np.array(categories),
        shape=np.array(shape, np.int64),
    )
    meta = {
        "block": block.name,
        "revision": impulse.revision,
        "config_hash": config,
        "rows": int(X.shape[0]),
        "features": int(X.shape[1]),
        "shape": list(shape),
        "labels": label_list,
        "samples": len(set(sample_ids)),
        "skipped": len(skipped),
        "per_label": {lab: labels.count(lab) for lab in label_list},
        "stats": {"min": float(X.min()), "max": float(X.max()), "mean": float(X.mean())},
    }
    progress(
        92,
        f"assembled {X.shape[0]} windows × {X.shape[1]} features (shape per window {tuple(shape)})",
    )
    explorer = explorer_data(
        X,
        np.array(labels),
        np.array(categories),
        np.array(sample_ids),
        np.array(window_ix),
        progress=lambda line: progress(93, line),
    )
    progress(98, None)
    features_art = artifacts.save_features(
        session, store, impulse, cfg.id, buf.getvalue(), meta, job_id
    )
    artifacts.save_feature_explorer(
        session,
        store,
        impulse,
        cfg.id,
        explorer,
        {"revision": impulse.revision, "method": explorer["method"]},
        job_id,
    )
    return {
        "artifact_id": features_art.id,
        "rows": int(X.shape[0]),
        "features": int(X.shape[1]),
        "shape": list(shape),
        "computed": len(todo) - len([s for s in todo if s.id in skipped]),
        "reused": len(samples) - len(todo),
        "skipped": len(skipped),
        "seconds": round(time.monotonic() - t0, 2),
    }


def explorer_method(n_points: int) -> str:
    """The projection the explorer uses for this many points: umap, tsne or pca."""
    if n_points >= UMAP_MIN_POINTS:
        import importlib.util

        if importlib.util.find_spec("umap") is not None:
            return "umap"
    return "tsne" if n_points >= TSNE_MIN_POINTS else "pca"


def explorer_data(
    X: np.ndarray,
    labels: np.ndarray,
    categories: np.ndarray,
    sample_ids: np.ndarray,
    window_ix: np.ndarray,
    *,
    seed: int = 0,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """The feature explorer: at most EXPLORER_MAX_POINTS windows (a random subset beyond, `sampled`
    true) projected to 2-D by UMAP, t-SNE or PCA (`explorer_method`), with PCA beside, and feature
    importance. `progress` gets a line before and after the projection."""
    from workers.dsp import feature_importance, project_2d

    idx = np.arange(len(X))
    if len(idx) > EXPLORER_MAX_POINTS:
        idx = np.sort(np.random.default_rng(seed).choice(idx, EXPLORER_MAX_POINTS, replace=False))
    method = explorer_method(len(idx))
    name = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}[method]
    progress(
        f"feature explorer: projecting {len(idx)} of {len(X)} windows to 2-D ({name}"
        + (f"; a random {len(idx)}, at most {EXPLORER_MAX_POINTS}" if len(idx) < len(X) else "")
        + (
            "; the first UMAP in a worker compiles for about a minute, later ones take ~15 s"
            if method == "umap"
            else "; about 10 s per 1000 windows here"
            if method == "tsne"
            else ""
        )
        + ")"
    )
    t0 = time.monotonic()
    pca, _ = project_2d(X[idx], method="pca", seed=seed)
    coords, method = (
        (pca, "pca") if method == "pca" else project_2d(X[idx], method=method, seed=seed)
    )
    progress(
        f"feature explorer: {method} projection of {len(idx)} windows in "
        f"{time.monotonic() - t0:.1f} s"
    )
    points = [
        {
            "x": float(coords[i, 0]),
            "y": float(coords[i, 1]),
            "pcaX": float(pca[i, 0]),
            "pcaY": float(pca[i, 1]),
            "label": str(labels[j]),
            "category": str(categories[j]),
            "sampleId": int(sample_ids[j]),
            "window": int(window_ix[j]),
        }
        for i, j in enumerate(idx)
    ]
    out: dict[str, Any] = {
        "method": method,
        "points": points,
        "total": int(len(X)),
        "sampled": bool(len(idx) < len(X)),
    }
    train = categories == "training"
    n_classes = len(set(labels[train].tolist()))
    if 2 <= n_classes < int(train.sum()):
        out["importance"] = [float(v) for v in feature_importance(X[train], labels[train])]
    return out


def explorer_view(
    session: Session, store: BlobStore, impulse: Impulse, dsp_id: int
) -> dict[str, Any]:
    """The stored explorer of one processing block, each point with its sample's file name
    (`sampleName`) and, once a classifier reading the block is trained on the current design, the
    label it predicts (`predicted`; `predictedBy` names the block)."""
    from sqlalchemy import select

    art = artifacts.feature_artifact(session, impulse, dsp_id, kind=artifacts.FEATURE_EXPLORER)
    out = artifacts.read_json(store, art)
    points = out.get("points", [])
    ids = sorted({p["sampleId"] for p in points})
    names = dict(
        session.execute(
            select(Sample.id, Sample.filename).where(
                Sample.project_id == impulse.project_id, Sample.id.in_(ids)
            )
        ).all()
    )
    for p in points:
        p["sampleName"] = names.get(p["sampleId"])
    for block in impulse.learn:
        if block.anomaly_kind is not None or block.task != "classification":
            continue
        if dsp_id not in block.dsp:
            continue
        try:
            results = artifacts.read_json(
                store, artifacts.learn_artifact(session, impulse, block.id, "training-results")
            )
        except NotFound:
            continue
        preds = results.get("window_predictions")
        if not preds or results.get("revision") != impulse.revision:
            continue
        labels, by_window = results["labels"], preds["by_window"]
        for p in points:
            k = by_window.get(f"{p['sampleId']}:{p['window']}")
            if k is not None:
                p["predicted"] = labels[k]
        out["predictedBy"] = block.name
        out["misclassified"] = sum(
            1 for p in points if "predicted" in p and p["label"] and p["predicted"] != p["label"]
        )
        break
    return out


def load_features(store: BlobStore, artifact: Artifact) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(artifacts.read(store, artifact)), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# --- synchronous preview --------------------------------------------------------------------------

PREVIEW_MAX_VALUES = 2_000_000


def run_preview(
    *,
    block_name: str,
    params: dict[str, Any],
    values: np.ndarray | None = None,
    interval_ms: float | None = None,
    image: np.ndarray | None = None,
    input_spec: InputBlock | None = None,
    window: int = 0,
    sensor_names: list[str] | None = None,
) -> dict[str, Any]:
    """Run one block on one window of a signal (or image) and return features, shape and graphs."""
    try:
        block = get_block(block_name)
        p = block.validate(params or {})
    except ParamError as exc:
        raise Invalid(
            f"{'block' if exc.field == 'block' else 'params.' + exc.field}: {exc.message}"
        ) from exc
    try:
        if block.input_kind == "image":
            if image is None:
                raise BadRequest(f"block '{block.name}' needs an image sample")
            fit = (
                input_spec.to_dsp()
                if isinstance(input_spec, ImageInputBlock)
                else ImageInput(width=image.shape[1], height=image.shape[0])
            )
            windows = prepare_image(image, spec=fit)[None]
            freq = 0.0
        else:
            if values is None or interval_ms is None:
                raise BadRequest(
                    f"block '{block.name}' needs 'values' (rows × axes) and 'interval_ms'"
                )
            if values.size > PREVIEW_MAX_VALUES:
                raise BadRequest(
                    f"too many values for a preview ({values.size} > {PREVIEW_MAX_VALUES})"
                )
            if isinstance(input_spec, TimeSeriesInputBlock):
                windows = make_windows(
                    values,
                    interval_ms=interval_ms,
                    spec=input_spec.to_dsp(),
                    sensor_names=sensor_names,
                )
                freq = input_spec.frequency_hz
            else:
                arr = values if values.ndim == 2 else values[:, None]
                if not np.isfinite(arr).all():
                    raise DspError("values contain NaN or infinite numbers")
                windows, freq = arr[None].astype(np.float32), 1000.0 / interval_ms
            if not 0 <= window < len(windows):
                raise BadRequest(
                    f"window {window} does not exist: the sample has {len(windows)} windows"
                )
            windows = windows[window : window + 1]
        out = block.run(windows, frequency_hz=freq, params=p, graphs=True)
    except (DspError, ParamError) as exc:
        raise BadRequest(str(exc)) from exc
    return {
        "success": True,
        "features": out.features[0].tolist(),
        "shape": list(out.shape),
        "graphs": out.graphs,
        "block": block.name,
        "implementation_version": block.implementation_version,
        "windows": int(len(windows)) if input_spec is None else None,
    }
