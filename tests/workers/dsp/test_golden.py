"""Golden outputs pin each block's numbers per implementation_version.

Files: tests/golden/dsp/<block>.v<implementation_version>.npz, holding for each case its input,
parameters, frequency and features. A numeric change must be deliberate: bump the block's
implementation_version (when deployed models must notice) and/or regenerate with

    TINYFORGE_REGEN_GOLDEN=1 .venv/bin/pytest tests/workers/dsp/test_golden.py

then review and commit the new .npz. Without the variable a missing or stale file fails.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.paths import REPO_ROOT
from workers.dsp import BLOCKS

GOLDEN_DIR = REPO_ROOT / "tests" / "golden" / "dsp"
REGEN = os.environ.get("TINYFORGE_REGEN_GOLDEN") == "1"


def audio(n_windows: int, n_samples: int, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / rate
    out = []
    for k in range(n_windows):
        s = (
            0.3
            * np.sin(2 * np.pi * (150 * (k + 1) * t + 600 * t * t))
            * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
        )
        s += 0.02 * rng.standard_normal(n_samples)
        out.append((s * 32767).round())
    return np.stack(out)[..., None].astype(np.float32)


def motion(n_windows: int, n_samples: int, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / rate
    base = np.stack(
        [np.sin(2 * np.pi * 1.5 * t), np.sign(np.sin(2 * np.pi * 4 * t)), 9.8 + 0.1 * t], -1
    )
    return (base[None] + 0.2 * rng.standard_normal((n_windows, n_samples, 3))).astype(np.float32)


# block -> list of (case name, input builder, frequency, params)
CASES = {
    "raw": [("accel", lambda: motion(2, 50, 50.0, 1), 50.0, {"scale_axes": 0.25})],
    "flatten": [
        ("accel_all", lambda: motion(2, 100, 50.0, 2), 50.0, {"skewness": True, "kurtosis": True}),
        ("accel_default", lambda: motion(2, 100, 50.0, 3), 50.0, {}),
    ],
    "spectral": [
        ("fft_low", lambda: motion(2, 200, 100.0, 4), 100.0, {}),
        (
            "fft_high_nooverlap",
            lambda: motion(2, 200, 100.0, 5),
            100.0,
            {
                "filter_type": "high",
                "filter_cutoff": 5,
                "filter_order": 3,
                "fft_length": 64,
                "do_fft_overlap": False,
            },
        ),
        (
            "wavelet",
            lambda: motion(2, 200, 100.0, 6),
            100.0,
            {
                "analysis_type": "Wavelet",
                "wavelet": "sym4",
                "wavelet_level": 3,
                "filter_type": "none",
            },
        ),
    ],
    "spectrogram": [
        ("audio_default", lambda: audio(2, 4000, 8000.0, 7), 8000.0, {}),
        (
            "audio_long_fft",
            lambda: audio(1, 4000, 8000.0, 8),
            8000.0,
            {
                "frame_length": 0.032,
                "frame_stride": 0.016,
                "fft_length": 256,
                "noise_floor_db": -80,
            },
        ),
    ],
    "mfe": [
        ("audio_default", lambda: audio(2, 4000, 8000.0, 9), 8000.0, {}),
        (
            "audio_band",
            lambda: audio(1, 4000, 8000.0, 10),
            8000.0,
            {
                "num_filters": 24,
                "low_frequency": 100,
                "high_frequency": 3500,
                "fft_length": 512,
                "pre_cof": 0.9,
            },
        ),
    ],
    "mfcc": [
        ("audio_default", lambda: audio(2, 4000, 8000.0, 11), 8000.0, {}),
        (
            "audio_no_cmvn",
            lambda: audio(1, 4000, 8000.0, 12),
            8000.0,
            {"win_size": 0, "num_cepstral": 20, "num_filters": 40, "frame_stride": 0.01},
        ),
        ("audio_16k", lambda: audio(1, 8000, 16000.0, 13), 16000.0, {"win_size": 21}),
    ],
    "image": [
        ("rgb", lambda: np.arange(2 * 6 * 5 * 3).reshape(2, 6, 5, 3).astype(np.uint8) * 3, 0.0, {}),
        (
            "gray_int8",
            lambda: np.arange(6 * 5 * 3).reshape(1, 6, 5, 3).astype(np.uint8) * 5,
            0.0,
            {"channels": "Grayscale", "scale": "int8"},
        ),
    ],
}


def run_case(block, x, freq, params):
    if block.input_kind == "image":
        return block.run(x, params=params).features
    return block.run(x, frequency_hz=freq, params=params).features


@pytest.mark.parametrize("name", list(CASES))
def test_golden(name):
    block = BLOCKS[name]
    path = GOLDEN_DIR / f"{name}.v{block.implementation_version}.npz"
    if REGEN:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        data = {}
        for case, build, freq, params in CASES[name]:
            x = build()
            data[f"{case}__input"] = x
            data[f"{case}__params"] = np.array(json.dumps(params, sort_keys=True))
            data[f"{case}__frequency_hz"] = np.array(freq)
            data[f"{case}__features"] = run_case(block, x, freq, params)
        np.savez_compressed(path, **data)
    if not path.exists():
        pytest.fail(
            f"no golden file {path.name} for {name} implementation_version "
            f"{block.implementation_version}; generate it with TINYFORGE_REGEN_GOLDEN=1 and review "
            "it"
        )
    with np.load(path) as g:
        stored = {k.split("__")[0] for k in g.files}
        assert stored == {c[0] for c in CASES[name]}, (
            "cases changed: regenerate the golden file deliberately"
        )
        for case, _, freq, params in CASES[name]:
            assert json.loads(str(g[f"{case}__params"])) == params, (
                f"{case}: params changed; regenerate deliberately"
            )
            assert float(g[f"{case}__frequency_hz"]) == freq, f"{case}: frequency changed"
            got = run_case(block, g[f"{case}__input"], freq, params)
            want = g[f"{case}__features"]
            assert got.shape == want.shape, case
            # tolerance covers FFT/BLAS rounding across machines, not algorithm changes
            np.testing.assert_allclose(
                got,
                want,
                rtol=1e-4,
                atol=1e-4 * max(1.0, float(np.abs(want).max())),
                err_msg=f"{name}/{case} drifted from its golden output",
            )
