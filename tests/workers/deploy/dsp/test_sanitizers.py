"""The generated C blocks built with AddressSanitizer and UBSan on edge geometries."""

from __future__ import annotations

import numpy as np
import pytest

from tests.workers.deploy.dsp.hostbuild import build_host, run_host
from workers.deploy.dsp import emit_dsp
from workers.dsp import get_block

pytestmark = pytest.mark.slow


SANITIZED = [
    ("mfcc", {}, 8000, 1, 8000.0),
    # 2 x num_cepstral > fft_length + 2: the CMVN sums outgrow the spectrum buffer they reuse
    (
        "mfcc",
        {
            "fft_length": 16,
            "num_filters": 40,
            "num_cepstral": 30,
            "frame_length": 0.002,
            "frame_stride": 0.002,
            "win_size": 7,
            "low_frequency": 300,
        },
        800,
        1,
        8000.0,
    ),
    (
        "mfcc",
        {
            "fft_length": 16,
            "num_filters": 40,
            "num_cepstral": 30,
            "frame_length": 0.002,
            "frame_stride": 0.002,
            "win_size": 0,
            "low_frequency": 300,
        },
        800,
        1,
        8000.0,
    ),
    ("mfe", {"frame_length": 0.05, "fft_length": 128}, 4000, 2, 8000.0),
    ("spectrogram", {"fft_length": 16, "frame_length": 0.004}, 400, 3, 8000.0),
    # (low-pass of a 0..255 signal would leave bins ~150 dB under the peak: float32 noise)
    (
        "spectral",
        {"fft_length": 128, "do_fft_overlap": False, "filter_type": "high"},
        128,
        3,
        100.0,
    ),
    ("flatten", {"skewness": True, "kurtosis": True}, 1, 2, 100.0),
    ("image", {"channels": "Grayscale"}, 100, 3, 0.0),
    # wavelets: a filter longer than the deepest arrays (the symmetric extension wraps several
    # times)
    (
        "spectral",
        {"analysis_type": "Wavelet", "wavelet": "db8", "wavelet_level": 2, "filter_type": "none"},
        64,
        2,
        100.0,
    ),
]


@pytest.mark.parametrize("block,params,samples,axes,fs", SANITIZED)
def test_no_out_of_bounds_access(tmp_path, block, params, samples, axes, fs):
    """Built with AddressSanitizer + UBSan: the static scratch and tables are never overrun
    (edge geometries: one segment, one sample, FFT shorter than the coefficient count)."""
    emission = emit_dsp(block, params, window_samples=samples, n_axes=axes, frequency_hz=fs)
    exe = build_host(
        emission,
        tmp_path,
        extra_flags=("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"),
    )
    rng = np.random.default_rng(0)
    windows = rng.uniform(0, 255, (2, samples, axes)).astype(np.float32)
    got = run_host(exe, windows, emission.n_features)
    if block != "flatten":  # one sample: no spread to compare
        ref = (
            get_block(block)
            .run(
                windows if block != "image" else windows.reshape(2, 10, 10, 3),
                frequency_hz=fs,
                params=params,
            )
            .features
        )
        np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-3)
