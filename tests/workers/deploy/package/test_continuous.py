"""The classifier API on the host: continuous (sliding-window) mode equals classifying each full
window."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from tests.paths import MODELS_DIR, require_shared
from workers.deploy.package import ImpulseSpec, build_library, write_library
from workers.dsp import get_block

HERE = Path(__file__).parent


def test_continuous_mode_matches_full_windows(tmp_path):
    kws = (require_shared(MODELS_DIR) / "kws_ref_model.tflite").read_bytes()
    # an MFCC configuration whose output is the keyword model's 49 x 10 input
    params = get_block("mfcc").validate(
        {
            "num_cepstral": 10,
            "frame_length": 0.04,
            "frame_stride": 0.02,
            "num_filters": 40,
            "fft_length": 1024,
        }
    )
    spec = ImpulseSpec(
        labels=[f"k{i}" for i in range(12)],
        dsp_block="mfcc",
        dsp_params=params,
        window_samples=16000,
        axes=["audio"],
        frequency_hz=16000.0,
        slice_samples=4000,
    )
    lib = build_library(kws, target="linux-x86_64", impulse=spec)
    write_library(lib, tmp_path)
    exe = tmp_path / "continuous"
    sources = [str(tmp_path / s) for s in lib.model_sources + lib.impulse_sources]
    subprocess.run(
        [
            "cc",
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-O2",
            "-ffp-contract=off",
            f"-I{tmp_path / 'src'}",
            "-o",
            str(exe),
            *sources,
            str(HERE / "c" / "continuous_main.c"),
            "-lm",
        ],
        check=True,
        capture_output=True,
    )
    signal = (np.random.default_rng(0).normal(0, 3000, 16000 * 2)).astype(np.float32)
    out = subprocess.run(
        [str(exe)], input=signal.tobytes(), capture_output=True, check=True
    ).stdout.decode()
    steps = [line.split() for line in out.splitlines()]
    assert len(steps) == 5, (
        out
    )  # ready after 4 slices of 4000, then every slice up to 32000 samples
    assert all(float(diff) == 0.0 for _, diff in steps), out
