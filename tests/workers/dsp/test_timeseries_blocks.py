"""Raw, Flatten and Spectral analysis against numpy, scipy.stats, scipy.signal and pywavelets."""

from __future__ import annotations

import numpy as np
import pytest
import pywt
import scipy.signal
import scipy.stats

from workers.dsp import BLOCKS, ParamError
from workers.dsp.blocks.spectral import WAVELET_STATS

RAW, FLATTEN, SPECTRAL = BLOCKS["raw"], BLOCKS["flatten"], BLOCKS["spectral"]


@pytest.fixture
def accel(rng):
    """[4 windows, 250 samples, 3 axes] at 100 Hz: a 2 Hz and a 20 Hz component, offset, noise."""
    t = np.arange(250) / 100.0
    base = np.stack(
        [np.sin(2 * np.pi * 2 * t), 0.5 * np.sin(2 * np.pi * 20 * t), 9.81 + 0 * t], axis=-1
    )
    return (base[None] + 0.3 * rng.standard_normal((4, 250, 3))).astype(np.float32)


def test_raw_scales_and_keeps_layout(accel):
    out = RAW.run(accel, frequency_hz=100, params={"scale_axes": 0.5})
    assert out.shape == (250, 3)
    np.testing.assert_array_equal(out.features, (accel * np.float32(0.5)).reshape(4, -1))


def test_flatten_matches_numpy_and_scipy_stats(accel):
    p = {s: True for s in ("average", "minimum", "maximum", "rms", "stdev", "skewness", "kurtosis")}
    out = FLATTEN.run(accel, frequency_hz=100, params={**p, "scale_axes": 2.0})
    assert out.shape == (21,)
    x = accel.astype(np.float64) * 2.0
    ref = np.stack(
        [
            x.mean(1),
            x.min(1),
            x.max(1),
            np.sqrt((x**2).mean(1)),
            x.std(1),
            scipy.stats.skew(x, axis=1),
            scipy.stats.kurtosis(x, axis=1),
        ],
        axis=-1,
    )  # [n, axes, stats]
    np.testing.assert_allclose(out.features, ref.reshape(4, -1), rtol=1e-5, atol=1e-5)


def test_flatten_switches_and_constant_axis(rng):
    x = np.concatenate([rng.standard_normal((2, 50, 1)), np.full((2, 50, 1), 3.0)], axis=-1).astype(
        np.float32
    )
    out = FLATTEN.run(
        x,
        frequency_hz=10,
        params={
            "average": False,
            "minimum": False,
            "maximum": False,
            "rms": False,
            "stdev": True,
            "skewness": True,
            "kurtosis": True,
        },
    )
    assert out.shape == (6,)
    const = out.features.reshape(2, 2, 3)[:, 1]
    np.testing.assert_array_equal(
        const, 0.0
    )  # constant axis: stdev 0 and skew/kurtosis defined as 0, not NaN
    with pytest.raises(ParamError) as err:
        FLATTEN.validate({s: False for s in ("average", "minimum", "maximum", "rms", "stdev")})
    assert err.value.field == "average" and "at least one" in err.value.message


def spectral_reference(x, fs, *, cutoff, order, btype, fft_length, overlap, log):
    """Independent reference: scipy butter+sosfilt, scipy.stats, scipy.signal.welch."""
    d = x.astype(np.float64)
    if btype:
        sos = scipy.signal.butter(order, cutoff, btype=btype, fs=fs, output="sos")
        d = scipy.signal.sosfilt(sos, d, axis=1)
    d = d - d.mean(1, keepdims=True)
    _, pxx = scipy.signal.welch(
        d,
        fs=fs,
        window="hann",
        nperseg=fft_length,
        noverlap=fft_length // 2 if overlap else 0,
        detrend=False,
        axis=1,
    )
    pxx = pxx[:, 1:]
    if log:
        pxx = np.log10(np.maximum(pxx, 1e-30))
    stats = np.stack(
        [np.sqrt((d**2).mean(1)), scipy.stats.skew(d, axis=1), scipy.stats.kurtosis(d, axis=1)], 1
    )
    return np.concatenate([stats, pxx], axis=1)  # [n, 3 + bins, axes]


@pytest.mark.parametrize(
    ("ftype", "cutoff", "order", "fft_length", "overlap", "log"),
    [
        ("low", 3.0, 6, 16, True, True),
        ("high", 5.0, 4, 64, False, True),
        ("none", 1.0, 1, 32, True, False),
        ("low", 30.0, 2, 128, True, True),
    ],
)
def test_spectral_fft_features_match_scipy(accel, ftype, cutoff, order, fft_length, overlap, log):
    params = {
        "filter_type": ftype,
        "filter_cutoff": cutoff,
        "filter_order": order,
        "fft_length": fft_length,
        "do_fft_overlap": overlap,
        "do_log": log,
    }
    out = SPECTRAL.run(accel, frequency_hz=100, params=params)
    per_axis = 3 + fft_length // 2
    assert out.shape == (3 * per_axis,)
    ref = spectral_reference(
        accel,
        100.0,
        cutoff=cutoff,
        order=order,
        btype=None if ftype == "none" else ftype,
        fft_length=fft_length,
        overlap=overlap,
        log=log,
    )
    ours = out.features.reshape(4, 3, per_axis)
    ref = np.swapaxes(ref, 1, 2)
    np.testing.assert_allclose(ours[..., :3], ref[..., :3], rtol=2e-3, atol=2e-4)
    if log:
        np.testing.assert_allclose(ours[..., 3:], ref[..., 3:], atol=2e-3)
    else:
        np.testing.assert_allclose(ours[..., 3:], ref[..., 3:], rtol=2e-3, atol=1e-6)


def test_spectral_lowpass_removes_the_fast_component(accel):
    lo = SPECTRAL.run(
        accel[:, :, :2],
        frequency_hz=100,
        params={"filter_type": "low", "filter_cutoff": 5, "fft_length": 64, "do_log": False},
    )
    none = SPECTRAL.run(
        accel[:, :, :2],
        frequency_hz=100,
        params={"filter_type": "none", "fft_length": 64, "do_log": False},
    )
    bin20 = 3 + round(20 * 64 / 100) - 1  # features skip DC
    axis1 = slice(35, 70)
    assert lo.features[:, axis1][:, bin20].max() < 1e-2 * none.features[:, axis1][:, bin20].min()


def test_spectral_wavelet_features_match_pywt(accel):
    params = {
        "analysis_type": "Wavelet",
        "wavelet": "db4",
        "wavelet_level": 2,
        "filter_type": "none",
    }
    out = SPECTRAL.run(accel, frequency_hz=100, params=params)
    per_axis = 3 + 3 * len(WAVELET_STATS)
    assert out.shape == (3 * per_axis,)
    x = accel[1, :, 0].astype(np.float64)
    x = x - x.mean()
    coeffs = pywt.wavedec(x, "db4", level=2)
    ours = out.features.reshape(4, 3, per_axis)[1, 0, 3:].reshape(3, len(WAVELET_STATS))
    for c, row in zip(coeffs, ours, strict=True):
        p = c**2 / (c**2).sum()
        zc = np.count_nonzero(np.diff(np.signbit(c))) / (len(c) - 1)
        ref = [
            c.mean(),
            c.std(),
            np.sqrt((c**2).mean()),
            *np.percentile(c, [5, 25, 50, 75, 95]),
            zc,
            None,
            -(p[p > 0] * np.log(p[p > 0])).sum(),
        ]
        for k, r in enumerate(ref):
            if r is not None:
                assert row[k] == pytest.approx(r, rel=1e-3, abs=1e-4), WAVELET_STATS[k]


def test_spectral_errors_name_the_field():
    x = np.zeros((1, 100, 1), np.float32)
    with pytest.raises(ParamError) as err:
        SPECTRAL.run(x, frequency_hz=100, params={"filter_cutoff": 60})
    assert err.value.field == "filter_cutoff" and "Nyquist" in err.value.message
    with pytest.raises(ParamError) as err:
        SPECTRAL.run(x, frequency_hz=100, params={"fft_length": 128})
    assert err.value.field == "fft_length" and "100 samples" in err.value.message
    with pytest.raises(ParamError) as err:
        SPECTRAL.run(x, frequency_hz=100, params={"analysis_type": "Wavelet", "wavelet_level": 7})
    assert err.value.field == "wavelet_level" and "at most" in err.value.message
    with pytest.raises(ParamError) as err:
        SPECTRAL.validate({"fft_length": 100})
    assert err.value.field == "fft_length" and "power of two" in err.value.message
