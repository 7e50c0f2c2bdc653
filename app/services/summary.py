"""Data summary: what the project holds, read back from the stored blobs (a first real job)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy.orm import Session

from app.core.storage import BlobStore
from app.services.samples import SampleFilter, all_samples, read_blobs, sample_values


def summarize_samples(
    session: Session,
    store: BlobStore,
    project_id: int,
    progress: Callable[[float, str | None], None] | None = None,
) -> dict:
    samples = all_samples(session, project_id, SampleFilter())
    per_label: dict[str, dict] = {}
    total = len(samples)
    raw: dict[int, bytes] = {}
    for i, sample in enumerate(samples):
        if i % 256 == 0:  # files read a pack at a time (one request each on object storage)
            raw = read_blobs(store, [s for s in samples[i : i + 256] if s.kind == "timeseries"])
        entry = per_label.setdefault(
            sample.label or "(no label)",
            {
                "samples": 0,
                "training": 0,
                "testing": 0,
                "anomaly": 0,
                "duration_ms": 0.0,
                "min": None,
                "max": None,
            },
        )
        entry["samples"] += 1
        entry[sample.category] += 1
        entry["duration_ms"] += sample.length_ms
        if sample.kind == "timeseries":
            values, _, _ = sample_values(store, sample, raw.get(sample.id))
            lo, hi = np.min(values, axis=0).tolist(), np.max(values, axis=0).tolist()
            entry["min"] = lo if entry["min"] is None else np.minimum(entry["min"], lo).tolist()
            entry["max"] = hi if entry["max"] is None else np.maximum(entry["max"], hi).tolist()
        if progress and (i + 1 == total or (i + 1) % max(1, total // 20) == 0):
            progress(100.0 * (i + 1) / total, f"read {i + 1}/{total} samples")
    return {"samples": total, "labels": per_label}
