"""Bodies for ingestion tests: data acquisition payloads, WAV/CSV/image files built with real
encoders."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

HMAC_KEY = "fed53116f20684c067774ebf9e7bcbdc"  # the example key from Edge Impulse's docs
OTHER_KEY = "0123456789abcdef0123456789abcdef"
ACC_SENSORS = [
    {"name": "accX", "units": "m/s2"},
    {"name": "accY", "units": "m/s2"},
    {"name": "accZ", "units": "m/s2"},
]


def accel_values(rows: int = 250, *, seed: int = 0) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(size=(rows, 3)) * 9.81, 4).tolist()


def accel_payload(rows: int = 250, *, seed: int = 0, interval_ms: float = 10, **extra) -> dict:
    payload = {
        "device_name": "ac:87:a3:0a:2d:1b",
        "device_type": "DISCO-L475VG-IOT01A",
        "interval_ms": interval_ms,
        "sensors": [dict(s) for s in ACC_SENSORS],
        "values": accel_values(rows, seed=seed),
    }
    payload.update(extra)
    return payload


def image_bytes(
    fmt: str = "PNG", *, size: tuple[int, int] = (12, 8), mode: str = "RGB", seed: int = 0
) -> bytes:
    rng = np.random.default_rng(seed)
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, fmt, quality=95)
    else:
        image.save(out, fmt)
    return out.getvalue()
