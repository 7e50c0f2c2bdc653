"""Synthetic accelerometer-like motion data with distinct classes (demo, tests, benchmarks)."""

from __future__ import annotations

import numpy as np

MOTION_LABELS = ("idle", "wave", "circle", "shake")


def motion_sample(
    label: str, *, rng: np.random.Generator, seconds: float = 2.0, interval_ms: float = 16.0
) -> np.ndarray:
    """One recording [rows, 3] (accX, accY, accZ in m/s²) for `label`."""
    n = int(round(seconds * 1000 / interval_ms))
    t = np.arange(n) * interval_ms / 1000.0
    phase = rng.uniform(0, 2 * np.pi)
    noise = rng.normal(0, 0.15, size=(n, 3))
    gravity = np.array([0.0, 0.0, 9.81])
    if label == "idle":
        sig = np.zeros((n, 3))
    elif label == "wave":
        f = rng.uniform(1.2, 1.8)
        sig = np.stack(
            [3.0 * np.sin(2 * np.pi * f * t + phase), 0.5 * np.sin(4 * np.pi * f * t), np.zeros(n)],
            1,
        )
    elif label == "circle":
        f = rng.uniform(0.8, 1.2)
        sig = np.stack(
            [
                2.0 * np.sin(2 * np.pi * f * t + phase),
                2.0 * np.cos(2 * np.pi * f * t + phase),
                0.3 * np.sin(2 * np.pi * 2 * f * t),
            ],
            1,
        )
    elif label == "shake":
        f = rng.uniform(6.0, 8.0)
        sig = np.stack(
            [np.zeros(n), 4.0 * np.sin(2 * np.pi * f * t + phase), 1.0 * np.sin(2 * np.pi * f * t)],
            1,
        )
    else:
        raise ValueError(f"unknown motion label {label!r}: use one of {', '.join(MOTION_LABELS)}")
    return (sig + gravity + noise).astype(np.float32)


def motion_dataset(
    n_per_label: int,
    *,
    seed: int = 0,
    labels=MOTION_LABELS,
    seconds: float = 2.0,
    interval_ms: float = 16.0,
) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (label, motion_sample(label, rng=rng, seconds=seconds, interval_ms=interval_ms))
        for _ in range(n_per_label)
        for label in labels
    ]


def anomaly_sample(
    *, rng: np.random.Generator, seconds: float = 2.0, interval_ms: float = 16.0
) -> np.ndarray:
    """Out-of-distribution motion: a high-frequency buzz on all axes plus impulses."""
    n = int(round(seconds * 1000 / interval_ms))
    t = np.arange(n) * interval_ms / 1000.0
    sig = 6.0 * np.sin(2 * np.pi * 20.0 * t)[:, None] * np.ones((1, 3))
    sig[rng.integers(0, n, size=5)] += 15.0
    return (sig + np.array([0, 0, 9.81]) + rng.normal(0, 0.5, size=(n, 3))).astype(np.float32)
