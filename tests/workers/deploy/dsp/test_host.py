"""The generated C blocks, compiled on the host (-std=c99 -Wall -Wextra -Werror -O2
-ffp-contract=off), against the NumPy reference blocks of workers/dsp.

Audio blocks on real FSDD recordings (1000 ms windows at 8 kHz, through make_windows),
statistics blocks on seeded accelerometer-like signals, the image block on seeded images.
The tolerances are the measured worst case with a margin of about 2x (docs/dsp-c.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from tests.paths import FSDD_DIR, require_shared
from tests.workers.deploy.dsp.hostbuild import c_features
from workers.dsp import TimeSeriesInput, get_block, make_windows

FS_AUDIO = 8000


@pytest.fixture(scope="module")
def build_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dsp_host")


@pytest.fixture(scope="module")
def fsdd_windows() -> np.ndarray:
    """24 recordings (every digit, several speakers): [24, 8000, 1] float32 int16 units."""
    files = sorted(require_shared(FSDD_DIR).glob("*.wav"))
    assert len(files) >= 24, f"expected FSDD recordings in {FSDD_DIR}"
    picked = files[:: len(files) // 24][:24]
    spec = TimeSeriesInput(
        axes=None, window_size_ms=1000, window_increase_ms=1000, frequency_hz=FS_AUDIO
    )
    out = []
    for f in picked:
        fs, x = wavfile.read(f)
        w = make_windows(
            np.asarray(x, dtype=np.float32)[:, None], interval_ms=1000.0 / fs, spec=spec
        )
        out.append(w[:1])
    return np.concatenate(out)


def accel_windows(seed: int, *, n=12, samples=250, axes=3, fs=100.0) -> np.ndarray:
    """Accelerometer-like: gravity offset, a few sines, noise, occasional spikes."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / fs
    f = rng.uniform(0.3, 20, (n, 1, axes))
    x = (
        rng.normal(0, 2, (n, 1, axes))
        + 5 * np.sin(2 * np.pi * f * t[None, :, None] + rng.uniform(0, 6, (n, 1, axes)))
        + rng.normal(0, 0.5, (n, samples, axes))
    )
    x[rng.random(x.shape) < 0.01] += 20
    x[0, :, -1] = 9.81  # a constant axis: skewness and kurtosis are 0, not NaN
    return x.astype(np.float32)


def reference(block, params, windows, fs):
    return get_block(block).run(windows, frequency_hz=fs, params=params).features


def quantize(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    scale = (hi - lo) / 255.0
    zero_point = int(round(-128 - lo / scale))
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


def silent_cmvn_windows(build_root, params, windows, shape) -> np.ndarray:
    """True where the CMVN window of a coefficient holds identical cepstra (digital silence:
    make_windows zero-pads short recordings). There the reference divides rounding noise by
    a ~0 deviation (its values depend on BLAS summation order: up to ~1.3 seen); the C
    normalises such a window to exactly 0. See docs/dsp-c.md."""
    win = params.get("win_size", 101)
    if not win:
        return np.zeros((len(windows), int(np.prod(shape))), dtype=bool)
    raw, _ = c_features(
        build_root, "mfcc", {**params, "win_size": 0}, windows, frequency_hz=FS_AUDIO
    )
    raw = raw.reshape(len(windows), *shape).astype(np.float64)
    frames = shape[0]
    source = np.pad(np.arange(frames), (win - 1) // 2, mode="symmetric")
    rows = source[np.arange(frames)[:, None] + np.arange(win)[None, :]]
    return (raw[:, rows, :].std(axis=2) == 0).reshape(len(windows), -1)


MFCC_CASES = [
    ({}, 5e-5),  # Edge Impulse defaults, sliding CMVN over 101 frames
    ({"win_size": 0}, 5e-5),  # raw cepstra incl. the -69.08 log floor of the zero-padded tail
    ({"win_size": 11, "frame_length": 0.032, "frame_stride": 0.016}, 4e-4),  # frame = fft length
    (
        {
            "num_filters": 40,
            "num_cepstral": 20,
            "fft_length": 512,
            "frame_stride": 0.01,
            "low_frequency": 100,
            "high_frequency": 3500,
            "pre_cof": 0.9,
            "win_size": 51,
        },
        2e-4,
    ),
    (
        {"frame_length": 0.05, "frame_stride": 0.025, "fft_length": 256, "pre_cof": 0},
        1e-4,
    ),  # truncated frames
]


@pytest.mark.parametrize("params,tol", MFCC_CASES)
def test_mfcc_fsdd(build_root, fsdd_windows, params, tol):
    got, emission = c_features(build_root, "mfcc", params, fsdd_windows, frequency_hz=FS_AUDIO)
    ref = reference("mfcc", params, fsdd_windows, FS_AUDIO)
    assert got.shape == ref.shape == (len(fsdd_windows), emission.n_features)
    silent = silent_cmvn_windows(build_root, params, fsdd_windows, emission.shape)
    assert np.all(got[silent] == 0)
    assert np.all(np.abs(ref[silent]) < 2), "the reference's silent windows hold only noise"
    np.testing.assert_allclose(got[~silent], ref[~silent], rtol=0, atol=tol)
    # int8 inputs of a model quantized over these features: at most one step apart
    lo, hi = float(ref.min()), float(ref.max())
    dq = np.abs(quantize(got, lo, hi).astype(int) - quantize(ref, lo, hi).astype(int))[~silent]
    assert dq.max() <= 1
    assert (dq != 0).mean() < 1e-3


MFE_CASES = [
    ({}, 5e-6),
    (
        {
            "num_filters": 64,
            "fft_length": 512,
            "noise_floor_db": -72,
            "pre_cof": 0,
            "frame_stride": 0.025,
            "low_frequency": 300,
        },
        5e-6,
    ),
    ({"num_filters": 20, "fft_length": 128, "frame_length": 0.016, "input_full_scale": 1.0}, 1e-5),
]


@pytest.mark.parametrize("params,tol", MFE_CASES)
def test_mfe_fsdd(build_root, fsdd_windows, params, tol):
    got, _ = c_features(build_root, "mfe", params, fsdd_windows, frequency_hz=FS_AUDIO)
    ref = reference("mfe", params, fsdd_windows, FS_AUDIO)
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol)
    dq = np.abs(quantize(got, 0.0, 1.0).astype(int) - quantize(ref, 0.0, 1.0).astype(int))
    assert dq.max() <= 1


# A bin far below its frame's peak carries the float32 FFT's rounding (~1e-7 of the peak) as a
# relative error: 1e-3 relative = 0.004 dB = 6e-5 on the 0..1 scale with a -52 dB floor.
SPECTROGRAM_CASES = [
    ({}, 2e-5),
    ({"fft_length": 256, "frame_length": 0.032, "frame_stride": 0.02, "noise_floor_db": -90}, 6e-5),
    ({"fft_length": 64, "frame_length": 0.01, "input_full_scale": 1000.0}, 6e-5),
]


@pytest.mark.parametrize("params,tol", SPECTROGRAM_CASES)
def test_spectrogram_fsdd(build_root, fsdd_windows, params, tol):
    got, _ = c_features(build_root, "spectrogram", params, fsdd_windows, frequency_hz=FS_AUDIO)
    ref = reference("spectrogram", params, fsdd_windows, FS_AUDIO)
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol)


@pytest.mark.parametrize(
    "block,params",
    [
        (
            "mfe",
            {
                "frame_length": 0.2,
                "frame_stride": 0.1,
                "fft_length": 32,
                "num_filters": 8,
                "input_full_scale": 1.0,
                "pre_cof": 0.5,
            },
        ),
        (
            "mfcc",
            {
                "frame_length": 0.32,
                "frame_stride": 0.16,
                "fft_length": 32,
                "num_filters": 10,
                "num_cepstral": 6,
                "input_full_scale": 1.0,
                "win_size": 5,
            },
        ),
        (
            "spectrogram",
            {
                "frame_length": 0.16,
                "frame_stride": 0.08,
                "fft_length": 16,
                "input_full_scale": 20.0,
            },
        ),
    ],
)
def test_audio_blocks_on_several_axes(build_root, block, params):
    """Axis-major layout (axes, frames, coefficients) on interleaved 3-axis windows."""
    windows = accel_windows(7)
    got, emission = c_features(build_root, block, params, windows, frequency_hz=100.0)
    ref = reference(block, params, windows, 100.0)
    assert emission.shape[0] == 3
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_mfcc_single_frame_window(build_root):
    """One frame: CMVN over a window padded entirely by reflection of it gives exactly 0 (the
    reference: rounding noise of order 1e-6)."""
    windows = accel_windows(3, samples=16, axes=1) * 1000
    params = {
        "frame_length": 0.16,
        "frame_stride": 0.1,
        "fft_length": 16,
        "num_filters": 4,
        "num_cepstral": 4,
        "win_size": 101,
    }
    got, _ = c_features(build_root, "mfcc", params, windows, frequency_hz=100.0)
    ref = reference("mfcc", params, windows, 100.0)
    assert np.all(got == 0)
    assert np.all(np.abs(ref) < 1e-4)  # the reference: rounding noise of order 1e-6


FLATTEN_CASES = [
    {},
    {"skewness": True, "kurtosis": True, "scale_axes": 0.1},
    {
        "average": False,
        "minimum": False,
        "maximum": False,
        "rms": False,
        "stdev": False,
        "kurtosis": True,
    },
]


@pytest.mark.parametrize("params", FLATTEN_CASES)
def test_flatten(build_root, params):
    windows = accel_windows(1)
    got, _ = c_features(build_root, "flatten", params, windows, frequency_hz=100.0)
    ref = reference("flatten", params, windows, 100.0)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)  # measured: identical


@pytest.mark.parametrize("scale", [1.0, 0.5, -3.25, 1e-3])
def test_raw_is_exact(build_root, scale):
    windows = accel_windows(2)
    got, _ = c_features(build_root, "raw", {"scale_axes": scale}, windows, frequency_hz=100.0)
    np.testing.assert_array_equal(got, reference("raw", {"scale_axes": scale}, windows, 100.0))


SPECTRAL_CASES = [
    ({}, 1e-4),  # low-pass 3 Hz order 6, 16-point Welch, log
    ({"filter_type": "high", "filter_cutoff": 5, "fft_length": 64, "do_fft_overlap": False}, 2e-4),
    ({"filter_type": "none", "do_log": False, "fft_length": 128, "scale_axes": 2.0}, 1e-6),  # x |p|
    ({"filter_order": 1, "filter_cutoff": 20, "fft_length": 32}, 1e-4),
    # order 10 at fs/100: the highest bins are ~1e-14 of the peak, where float32 FFT rounding
    # (relative to the largest bin) shows in the log: 8e-4 in log10 = 0.2 % of a tiny power
    ({"filter_order": 10, "filter_cutoff": 1.0, "fft_length": 32}, 2e-3),
]


@pytest.mark.parametrize("params,tol", SPECTRAL_CASES)
def test_spectral(build_root, params, tol):
    windows = accel_windows(5)
    got, emission = c_features(build_root, "spectral", params, windows, frequency_hz=100.0)
    ref = reference("spectral", params, windows, 100.0)
    per_axis = 3 + params.get("fft_length", 16) // 2
    assert emission.n_features == 3 * per_axis
    g, r = got.reshape(len(got), 3, per_axis), ref.reshape(len(ref), 3, per_axis)
    np.testing.assert_allclose(g[..., :3], r[..., :3], rtol=2e-5, atol=2e-5)  # rms, skew, kurt
    if params.get("do_log", True):
        np.testing.assert_allclose(g[..., 3:], r[..., 3:], rtol=0, atol=tol)
    else:  # linear power: relative to the largest bin of the axis
        scale = np.abs(r[..., 3:]).max(axis=-1, keepdims=True)
        assert np.all(np.abs(g[..., 3:] - r[..., 3:]) <= tol * scale)


WAVELET_CASES = [
    {"wavelet": "db4", "wavelet_level": 1},
    {"wavelet": "haar", "wavelet_level": 4, "filter_type": "none"},
    {"wavelet": "sym8", "wavelet_level": 2, "filter_type": "high", "filter_cutoff": 5},
    {"wavelet": "coif3", "wavelet_level": 1, "scale_axes": 0.25},
    {"wavelet": "bior2.2", "wavelet_level": 5},
]


@pytest.mark.parametrize(
    "params", WAVELET_CASES, ids=lambda p: f"{p['wavelet']}-L{p['wavelet_level']}"
)
def test_spectral_wavelets(build_root, params):
    """pywt.wavedec (symmetric) and the 11 statistics per coefficient array, in C."""
    params = {"analysis_type": "Wavelet", **params}
    windows = accel_windows(6, n=10)
    windows[1, :, 0] = 0.0  # an all-zero axis: every coefficient 0, entropy 0
    got, emission = c_features(build_root, "spectral", params, windows, frequency_hz=100.0)
    ref = reference("spectral", params, windows, 100.0)
    per_axis = 3 + (params["wavelet_level"] + 1) * 11
    assert emission.n_features == 3 * per_axis and got.shape == ref.shape
    g, r = got.reshape(len(got), 3, per_axis, order="C"), ref.reshape(len(ref), 3, per_axis)
    stats = np.concatenate(
        [g[..., 3:].reshape(len(g), 3, -1, 11), r[..., 3:].reshape(len(r), 3, -1, 11)], axis=-1
    )
    values = np.r_[0:8, 10]  # mean, std, rms, percentiles, entropy: relative to the array's scale
    scale = (
        np.abs(r[..., 3:].reshape(len(r), 3, -1, 11)[..., values]).max(axis=-1, keepdims=True)
        + 1e-12
    )
    diff = np.abs(stats[..., :11][..., values] - stats[..., 11:][..., values]) / scale
    assert diff.max() < 1e-5, diff.max()
    # crossing rates are counts / (len - 1): equal (float32 vs float64 coefficients keep their signs
    # here)
    np.testing.assert_array_equal(stats[..., 8:10], stats[..., 19:21])
    np.testing.assert_allclose(g[..., :3], r[..., :3], rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("channels", ["RGB", "Grayscale"])
@pytest.mark.parametrize("scale", ["0..1", "int8"])
@pytest.mark.parametrize("in_channels", [1, 3])
def test_image_is_exact(build_root, channels, scale, in_channels):
    rng = np.random.default_rng(11)
    images = rng.integers(0, 256, (3, 48, 40, in_channels)).astype(np.uint8)
    images[0, 0, :, :] = 255
    images[0, 1, :, :] = 0
    params = {"channels": channels, "scale": scale}
    windows = images.reshape(3, -1, in_channels).astype(np.float32)
    got, emission = c_features(build_root, "image", params, windows, frequency_hz=0)
    ref = get_block("image").run(images, params=params).features
    assert emission.n_features == 48 * 40 * (3 if channels == "RGB" else 1)
    np.testing.assert_array_equal(got, ref)
