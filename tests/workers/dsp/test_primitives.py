"""Primitives against independent implementations (numpy, scipy, python_speech_features,
librosa)."""

from __future__ import annotations

import numpy as np
import pytest
import python_speech_features as psf
import scipy.fft
import scipy.signal
from python_speech_features import sigproc

from workers.dsp import primitives as P


@pytest.mark.parametrize(
    ("n", "frame", "stride", "expected"),
    [
        (0, 160, 80, 0),
        (159, 160, 80, 0),
        (160, 160, 80, 1),
        (239, 160, 80, 1),
        (240, 160, 80, 2),
        (8000, 160, 160, 50),
        (16000, 320, 320, 50),
        (16000, 320, 160, 99),
        (1, 1, 1, 1),
        (10, 3, 4, 2),
    ],
)
def test_frame_count_edge_lengths(n, frame, stride, expected):
    assert P.frame_count(n, frame_samples=frame, stride_samples=stride) == expected
    if expected:
        x = np.arange(n, dtype=np.float32)
        frames = P.frame_signal(x, frame_samples=frame, stride_samples=stride)
        assert frames.shape == (expected, frame)
        for i in range(expected):  # frame i starts at i * stride, no padding
            np.testing.assert_array_equal(frames[i], x[i * stride : i * stride + frame])


def test_frame_signal_too_short():
    with pytest.raises(ValueError, match="shorter than one frame"):
        P.frame_signal(np.zeros(5, np.float32), frame_samples=6, stride_samples=1)


def test_frames_match_psf_framesig_where_whole(rng):
    x = rng.standard_normal(1003)
    ours = P.frame_signal(x, frame_samples=160, stride_samples=80)
    ref = sigproc.framesig(x, 160, 80)  # pads a last partial frame; ours drops it
    np.testing.assert_array_equal(ours, ref[: len(ours)])
    assert len(ref) == len(ours) + 1


def test_seconds_to_samples_rounds_half_up():
    assert P.seconds_to_samples(0.02, frequency_hz=8000) == 160
    assert P.seconds_to_samples(0.025, frequency_hz=16000) == 400
    assert P.seconds_to_samples(0.0105, frequency_hz=1000) == 11  # 10.5 -> 11
    assert P.seconds_to_samples(0.02, frequency_hz=22050) == 441


def test_preemphasis_matches_psf(rng):
    x = rng.standard_normal((3, 500)).astype(np.float32)
    ours = P.preemphasis(x, coefficient=0.97)
    for row in range(3):
        np.testing.assert_allclose(
            ours[row], sigproc.preemphasis(x[row].astype(np.float64), 0.97), rtol=1e-6, atol=1e-6
        )
    assert P.preemphasis(x, coefficient=0.0) is x


@pytest.mark.parametrize("fft_length", [64, 256, 512])
def test_power_spectrum_matches_psf_and_parseval(rng, fft_length):
    frames = rng.standard_normal((5, 7, 200)).astype(np.float32)
    ours = P.power_spectrum(frames, fft_length=fft_length)
    assert ours.shape == (5, 7, fft_length // 2 + 1)
    assert ours.dtype == np.float32
    ref = sigproc.powspec(frames.reshape(35, 200).astype(np.float64), fft_length).reshape(5, 7, -1)
    np.testing.assert_allclose(ours, ref, rtol=2e-4, atol=1e-4 * ref.max())
    if fft_length >= 200:  # no truncation: Parseval on the two-sided spectrum
        two_sided = 2 * ours.sum(-1) - ours[..., 0] - ours[..., -1]
        np.testing.assert_allclose(two_sided, (frames.astype(np.float64) ** 2).sum(-1), rtol=1e-4)


@pytest.mark.parametrize(
    ("num_filters", "fft_length", "rate", "low", "high"),
    [
        (32, 256, 8000, 0, 4000),
        (40, 256, 8000, 0, 4000),
        (26, 512, 16000, 300, 8000),
        (40, 512, 16000, 0, 6000),
        (80, 256, 16000, 20, 8000),
        (13, 128, 1000, 0, 500),
    ],
)
def test_filterbank_equals_psf(num_filters, fft_length, rate, low, high):
    ours = P.mel_filterbank(
        num_filters=num_filters,
        fft_length=fft_length,
        frequency_hz=float(rate),
        low_hz=float(low),
        high_hz=float(high),
    )
    ref = psf.get_filterbanks(
        nfilt=num_filters, nfft=fft_length, samplerate=rate, lowfreq=low, highfreq=high
    )
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-7)
    assert not ours.flags.writeable


@pytest.mark.parametrize("with_total", [False, True])
def test_filterbank_energies_equal_power_times_bank(rng, with_total):
    frames = (rng.standard_normal((3, 2, 9, 160)) * 1000).astype(np.float32)
    kw = dict(num_filters=32, fft_length=256, frequency_hz=8000.0, low_hz=50.0, high_hz=3900.0)
    ours = P.filterbank_energies(frames, input_scale=1 / 32768, with_total=with_total, **kw)
    power = P.power_spectrum(frames.astype(np.float64) / 32768, fft_length=256)
    ref = power @ P.mel_filterbank(**kw).T.astype(np.float64)
    if with_total:
        ref = np.concatenate([ref, power.sum(-1, keepdims=True)], axis=-1)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-4)


def test_filterbank_peaks_near_librosa_htk():
    import librosa

    ours = P.mel_filterbank(
        num_filters=32, fft_length=256, frequency_hz=8000.0, low_hz=0.0, high_hz=4000.0
    )
    lib = librosa.filters.mel(sr=8000, n_fft=256, n_mels=32, htk=True, norm=None)
    # same mel points; ours snaps them to the bin grid with floor, so peaks differ by at most one
    # bin
    assert np.abs(ours.argmax(1) - lib.argmax(1)).max() <= 1


def test_mel_scale_is_htk():
    assert P.hz_to_mel(700.0) == pytest.approx(2595 * np.log10(2))
    f = np.array([0, 100, 1000, 4000, 8000.0])
    np.testing.assert_allclose(P.mel_to_hz(P.hz_to_mel(f)), f, atol=1e-9)
    np.testing.assert_allclose(P.hz_to_mel(f), psf.base.hz2mel(f))


@pytest.mark.parametrize(("n_in", "n_out"), [(32, 13), (40, 40), (26, 12)])
def test_dct_matrix_equals_scipy_ortho_dct(rng, n_in, n_out):
    x = rng.standard_normal((4, n_in))
    ours = x.astype(np.float32) @ P.dct_matrix(n_inputs=n_in, n_outputs=n_out)
    ref = scipy.fft.dct(x, type=2, norm="ortho", axis=-1)[:, :n_out]
    np.testing.assert_allclose(ours, ref, atol=2e-5)


def test_log_floor_and_db_normalise():
    x = np.array([0.0, 1e-40, 1e-30, 1.0], dtype=np.float32)
    np.testing.assert_allclose(P.log_floor(x), np.log([1e-30, 1e-30, 1e-30, 1.0]), rtol=1e-6)
    p = np.array([0.0, 10 ** (-5.2), 10 ** (-4.0), 1.0, 10**1.2, 100.0], dtype=np.float32)
    out = P.db_normalise(p, noise_floor_db=-52)
    np.testing.assert_allclose(out, [0, 0, 12 / 64, 52 / 64, 1, 1], atol=1e-6)


def cmvnw_reference(vec: np.ndarray, win_size: int) -> np.ndarray:
    """Straight loop from the definition (SpeechPy's cmvnw with variance normalisation)."""
    pad = (win_size - 1) // 2
    padded = np.pad(vec, ((pad, pad), (0, 0)), "symmetric")
    mean_sub = np.array([vec[i] - padded[i : i + win_size].mean(0) for i in range(len(vec))])
    padded = np.pad(mean_sub, ((pad, pad), (0, 0)), "symmetric")
    return np.array(
        [mean_sub[i] / (padded[i : i + win_size].std(0) + 2.0**-30) for i in range(len(vec))]
    )


@pytest.mark.parametrize(
    ("rows", "win"), [(50, 101), (50, 3), (49, 11), (7, 101), (1, 5), (120, 31)]
)
def test_sliding_cmvn_matches_loop_definition(rng, rows, win):
    x = (rng.standard_normal((2, rows, 13)) * 5 + 20).astype(np.float32)
    ours = P.sliding_cmvn(x, win_size=win)
    for k in range(2):
        ref = cmvnw_reference(x[k].astype(np.float64), win)
        np.testing.assert_allclose(ours[k], ref, atol=2e-4, rtol=1e-4)
    mean_only = P.sliding_cmvn(x, win_size=win, variance=False)
    if (
        rows >= win
    ):  # every window is the whole row set only when it reflects; spot-check the middle
        i = rows // 2
        lo = i - (win - 1) // 2
        if lo >= 0 and lo + win <= rows:
            np.testing.assert_allclose(
                mean_only[0, i], x[0, i] - x[0, lo : lo + win].mean(0), atol=1e-4
            )


def test_sliding_cmvn_rejects_even_window():
    with pytest.raises(ValueError, match="odd"):
        P.sliding_cmvn(np.zeros((1, 10, 2)), win_size=4)


@pytest.mark.parametrize(
    ("fft_length", "overlap"), [(16, True), (16, False), (64, True), (256, False)]
)
def test_welch_power_equals_scipy(rng, fft_length, overlap):
    x = rng.standard_normal((3, 2, 1000)).astype(np.float32)
    ours = P.welch_power(x, fft_length=fft_length, overlap=overlap, frequency_hz=100.0)
    _, ref = scipy.signal.welch(
        x.astype(np.float64),
        fs=100.0,
        window="hann",
        nperseg=fft_length,
        noverlap=fft_length // 2 if overlap else 0,
        detrend=False,
        scaling="density",
        axis=-1,
    )
    np.testing.assert_allclose(ours, ref, rtol=2e-4, atol=1e-7)


def test_welch_power_sine_peak_and_total_power():
    fs, f0, n = 100.0, 12.5, 4000
    x = np.sin(2 * np.pi * f0 * np.arange(n) / fs).astype(np.float32)
    p = P.welch_power(x, fft_length=64, overlap=True, frequency_hz=fs)
    assert np.argmax(p) == round(f0 * 64 / fs)
    # density integrates to the signal power (0.5), Hann leakage included
    assert p.sum() * fs / 64 == pytest.approx(0.5, rel=1e-3)


@pytest.mark.parametrize(
    ("kind", "cutoff", "order"), [("low", 3.0, 6), ("high", 10.0, 4), ("low", 40.0, 1)]
)
def test_butterworth_matches_scipy_sosfilt(rng, kind, cutoff, order):
    x = rng.standard_normal((2, 3, 500)).astype(np.float32)
    ours = P.apply_butterworth(x, kind=kind, cutoff_hz=cutoff, order=order, frequency_hz=100.0)
    sos = scipy.signal.butter(order, cutoff, btype=kind + "pass", fs=100.0, output="sos")
    np.testing.assert_allclose(
        ours, scipy.signal.sosfilt(sos, x.astype(np.float64), axis=-1), rtol=1e-5, atol=1e-5
    )
    # and the design really is the stated filter: -3 dB at the cut-off
    w, h = scipy.signal.sosfreqz(
        P.butterworth_sos(kind=kind, cutoff_hz=cutoff, order=order, frequency_hz=100.0),
        worN=[cutoff],
        fs=100.0,
    )
    assert abs(h[0]) == pytest.approx(2**-0.5, rel=1e-6)
