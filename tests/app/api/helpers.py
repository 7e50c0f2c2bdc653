"""Helpers for API tests: request headers, sample bodies, and a snapshot of all stored state."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from app.core.db import session_factory
from app.ingestion import encode_wav, sign_acquisition
from app.models import Base


def key(api_key: str, **extra: str) -> dict[str, str]:
    return {"x-api-key": api_key, **extra}


def acquisition(
    values=None,
    *,
    hmac_key: str | None = None,
    device: str = "dev-1",
    interval_ms: float = 10,
    sensors=None,
    encoding: str = "json",
) -> bytes:
    values = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]] if values is None else values
    ncols = len(values[0]) if values and isinstance(values[0], list) else 1
    sensors = sensors or [{"name": f"acc{c}", "units": "m/s2"} for c in "XYZ"[:ncols]]
    payload = {
        "device_name": device,
        "device_type": "TEST_BOARD",
        "interval_ms": interval_ms,
        "sensors": sensors,
        "values": values,
    }
    return sign_acquisition(payload, hmac_key=hmac_key, encoding=encoding)


def wav_bytes(seconds: float = 0.25, rate: int = 8000, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return encode_wav(
        (rng.normal(0, 3000, int(seconds * rate))).astype(np.int16), rate=rate, bits=16
    )


def snapshot(settings) -> dict:
    """Row counts of every table and the set of blob files: equal snapshots mean nothing was
    written."""
    with session_factory(settings)() as s:
        rows = {
            t.name: s.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables
        }
    root = settings.storage_dir
    files = (
        sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )
    return {"rows": rows, "files": files}
