"""Fixtures for the DSP tests: seeded random signals and a few real FSDD recordings."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io.wavfile

from tests.paths import FSDD_DIR, require_shared

FSDD_PICK = (
    "0_george_0.wav",
    "3_jackson_12.wav",
    "5_nicolas_30.wav",
    "7_theo_44.wav",
    "9_yweweler_7.wav",
    "1_lucas_3.wav",
)


def read_wav(path) -> tuple[int, np.ndarray]:
    rate, data = scipy.io.wavfile.read(path)
    assert data.dtype == np.int16 and data.ndim == 1
    return rate, data


@pytest.fixture(scope="session")
def fsdd_recordings() -> list[tuple[str, int, np.ndarray]]:
    """(name, rate_hz, int16 samples) of a few recordings by different speakers."""
    folder = require_shared(FSDD_DIR)
    out = []
    for name in FSDD_PICK:
        path = folder / name
        if not path.exists():  # fall back on whatever is there, still by several speakers
            path = sorted(folder.glob(f"{name[0]}_*.wav"))[0]
        rate, data = read_wav(path)
        out.append((path.name, rate, data))
    return out


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


def speechlike(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Seeded test signal in int16 units: two chirps + white noise, amplitude-modulated."""
    t = np.arange(n) / rate_hz
    sig = 0.4 * np.sin(2 * np.pi * (200 * t + 900 * t * t)) + 0.2 * np.sin(2 * np.pi * 1500 * t)
    sig *= 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    sig += 0.05 * rng.standard_normal(n)
    return (sig * 20000).astype(np.float32)
