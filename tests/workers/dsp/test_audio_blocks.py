"""MFCC, MFE and Spectrogram blocks against python_speech_features and librosa, on real FSDD
recordings and seeded random signals.

Tolerances reached (and why):
- vs python_speech_features (same bin-grid filterbank, same framing, same c0 := log energy):
  MFCC max |diff| <= 5e-5 (measured ~1e-5), MFE (normalised to [0, 1]) <= 1e-5 (measured ~5e-7).
  The only difference is float32 arithmetic here vs float64 there; psf also pads a partial
  last frame that Tinyforge drops, so only the whole frames are compared.
- vs librosa: the STFT power, the DCT and the whole pipeline run through librosa with the same
  filterbank matrix agree within float32 rounding. With librosa's *own* HTK mel filters the
  cepstra differ by up to ~2 (median ~0.4): librosa evaluates each triangle at the exact bin
  frequencies between continuous mel points, while Tinyforge (like SpeechPy, psf and Edge
  Impulse) snaps the mel points to FFT bins first. That is a filter-shape difference, not an
  error; we check it stays one (peaks within one bin, c1..c12 pooled correlation > 0.97).
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import python_speech_features as psf

from workers.dsp import BLOCKS, DspError, ParamError, get_block
from workers.dsp.blocks.mfe import mel_energies
from workers.dsp.primitives import frame_signal, mel_filterbank, power_spectrum

from .conftest import speechlike

MFCC = BLOCKS["mfcc"]
MFE = BLOCKS["mfe"]
SPEC = BLOCKS["spectrogram"]


def psf_mfcc(
    y_int16,
    rate,
    *,
    frame_length,
    frame_stride,
    num_cepstral,
    num_filters,
    fft_length,
    pre_cof,
    low=0,
    high=None,
):
    return psf.mfcc(
        np.asarray(y_int16, np.float64) / 32768.0,
        samplerate=rate,
        winlen=frame_length,
        winstep=frame_stride,
        numcep=num_cepstral,
        nfilt=num_filters,
        nfft=fft_length,
        lowfreq=low,
        highfreq=high,
        preemph=pre_cof,
        ceplifter=0,
        appendEnergy=True,
    )


def mfcc_of(y, rate, **params):
    out = MFCC.run(np.asarray(y, np.float32)[None, :, None], frequency_hz=rate, params=params)
    return out.features.reshape(out.shape)


CONFIGS = [
    dict(
        frame_length=0.02,
        frame_stride=0.02,
        num_cepstral=13,
        num_filters=32,
        fft_length=256,
        pre_cof=0.98,
    ),
    dict(
        frame_length=0.025,
        frame_stride=0.01,
        num_cepstral=13,
        num_filters=26,
        fft_length=512,
        pre_cof=0.97,
    ),
    dict(
        frame_length=0.032,
        frame_stride=0.016,
        num_cepstral=20,
        num_filters=40,
        fft_length=256,
        pre_cof=0.0,
    ),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_mfcc_matches_python_speech_features_on_fsdd(fsdd_recordings, cfg):
    for name, rate, y in fsdd_recordings:
        ours = mfcc_of(y, rate, win_size=0, **cfg)
        ref = psf_mfcc(y, rate, **cfg)
        assert len(ref) - 1 <= len(ours) <= len(ref), name
        np.testing.assert_allclose(ours, ref[: len(ours)], atol=5e-5, rtol=0, err_msg=name)


def test_mfcc_matches_python_speech_features_on_random_signals(rng):
    for rate, n in [(8000, 8000), (16000, 16000), (11025, 7777)]:
        y = speechlike(rng, n, rate)
        cfg = dict(
            frame_length=0.02,
            frame_stride=0.01,
            num_cepstral=13,
            num_filters=32,
            fft_length=512,
            pre_cof=0.98,
        )
        ours = mfcc_of(y, rate, win_size=0, low_frequency=100, high_frequency=rate / 2 - 500, **cfg)
        ref = psf_mfcc(y, rate, low=100, high=rate / 2 - 500, **cfg)
        np.testing.assert_allclose(ours, ref[: len(ours)], atol=5e-5)


def test_mfcc_default_params_are_edge_impulse_defaults_and_normalise(fsdd_recordings):
    p = MFCC.validate({})
    assert (
        p["num_cepstral"],
        p["frame_length"],
        p["frame_stride"],
        p["num_filters"],
        p["fft_length"],
        p["win_size"],
        p["pre_cof"],
    ) == (13, 0.02, 0.02, 32, 256, 101, 0.98)
    name, rate, y = fsdd_recordings[0]
    raw = mfcc_of(y, rate, win_size=0)
    norm = mfcc_of(y, rate)
    assert norm.shape == raw.shape
    # sliding CMVN with a window wider than the signal: each column ends up ~zero-mean, unit-spread
    assert np.abs(norm.mean(0)).max() < 0.5
    assert not np.allclose(norm, raw)
    # 1 s at 16 kHz with the defaults: 50 frames x 13 = 650 features, as Edge Impulse's block
    assert MFCC.output_shape(window_samples=16000, n_axes=1, frequency_hz=16000, params={}) == (
        50,
        13,
    )


def test_mfe_matches_python_speech_features_fbank(fsdd_recordings, rng):
    signals = [(rate, y) for _, rate, y in fsdd_recordings] + [
        (16000, speechlike(rng, 12000, 16000))
    ]
    for rate, y in signals:
        out = MFE.run(np.asarray(y, np.float32)[None, :, None], frequency_hz=rate, params={})
        assert out.shape[1] == 40
        ours = out.features.reshape(out.shape)
        feat, _ = psf.fbank(
            np.asarray(y, np.float64) / 32768,
            samplerate=rate,
            winlen=0.02,
            winstep=0.01,
            nfilt=40,
            nfft=256,
            preemph=0.98,
        )
        ref = np.clip((10 * np.log10(np.maximum(feat, 1e-30)) + 52) / 64, 0, 1)
        np.testing.assert_allclose(ours, ref[: len(ours)], atol=1e-5)
        # and before the dB mapping, relative to the energies themselves
        energies = mel_energies(
            np.asarray(y, np.float32)[None, :, None], frequency_hz=rate, params=MFE.validate({})
        )
        e = energies[0, 0]
        big = feat[: len(e)] > 1e-12 * feat.max()
        np.testing.assert_allclose(e[big], feat[: len(e)][big], rtol=2e-4)


def test_mfe_noise_floor_maps_to_zero_and_full_scale_saturates():
    rate = 16000
    silent = np.zeros((1, 16000, 1), np.float32)
    assert np.all(MFE.run(silent, frequency_hz=rate, params={}).features == 0)
    t = np.arange(16000) / rate
    loud = (32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[None, :, None]
    f = MFE.run(loud, frequency_hz=rate, params={"pre_cof": 0}).features
    assert f.max() == 1.0 and f.min() >= 0.0


class TestAgainstLibrosa:
    cfg = dict(
        frame_length=0.032,
        frame_stride=0.02,
        num_filters=32,
        fft_length=256,
        num_cepstral=13,
        win_size=0,
        pre_cof=0.0,
    )

    def librosa_power(self, y, hop=160):
        s = librosa.stft(
            np.asarray(y, np.float64) / 32768,
            n_fft=256,
            hop_length=hop,
            win_length=256,
            window="boxcar",
            center=False,
        )
        return (np.abs(s) ** 2 / 256).T

    def test_power_spectrum_equals_librosa_stft(self, fsdd_recordings):
        for _, _rate, y in fsdd_recordings:
            frames = frame_signal(
                (np.asarray(y, np.float32) / 32768), frame_samples=256, stride_samples=160
            )
            ours = power_spectrum(frames, fft_length=256)
            ref = self.librosa_power(y)
            assert ours.shape == ref.shape
            np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-6 * ref.max())

    def test_pipeline_equals_librosa_with_the_same_filterbank(self, fsdd_recordings):
        for _, rate, y in fsdd_recordings:
            ours = mfcc_of(y, rate, **self.cfg)
            power = self.librosa_power(y)
            bank = mel_filterbank(
                num_filters=32,
                fft_length=256,
                frequency_hz=float(rate),
                low_hz=0.0,
                high_hz=rate / 2,
            )
            logmel = np.log(np.maximum(power @ bank.T.astype(np.float64), 1e-30))
            ref = librosa.feature.mfcc(S=logmel.T, n_mfcc=13, dct_type=2, norm="ortho", lifter=0).T
            ref[:, 0] = np.log(np.maximum(power.sum(1), 1e-30))
            np.testing.assert_allclose(ours, ref, atol=5e-5)

    def test_mfe_equals_librosa_power_to_db_with_the_same_filterbank(self, fsdd_recordings):
        for _, rate, y in fsdd_recordings:
            out = MFE.run(
                np.asarray(y, np.float32)[None, :, None],
                frequency_hz=rate,
                params={"frame_length": 0.032, "frame_stride": 0.01, "pre_cof": 0.0},
            )
            bank = mel_filterbank(
                num_filters=40,
                fft_length=256,
                frequency_hz=float(rate),
                low_hz=0.0,
                high_hz=rate / 2,
            )
            mel = self.librosa_power(y, hop=80) @ bank.T.astype(np.float64)
            db = librosa.power_to_db(mel, ref=1.0, amin=1e-30, top_db=None)
            ref = np.clip((db + 52) / 64, 0, 1)
            np.testing.assert_allclose(out.features.reshape(out.shape), ref, atol=1e-5)

    def test_librosa_own_htk_filters_differ_only_in_shape(self, fsdd_recordings):
        for _, rate, y in fsdd_recordings:
            ours = mfcc_of(y, rate, **self.cfg)
            mel = librosa.feature.melspectrogram(
                y=np.asarray(y, np.float64) / 32768,
                sr=rate,
                n_fft=256,
                hop_length=160,
                win_length=256,
                window="boxcar",
                center=False,
                power=2.0,
                n_mels=32,
                fmin=0,
                fmax=rate / 2,
                htk=True,
                norm=None,
            )
            ref = librosa.feature.mfcc(
                S=np.log(np.maximum(mel / 256, 1e-30)), n_mfcc=13, lifter=0
            ).T
            pooled = np.corrcoef(ours[:, 1:].ravel(), ref[:, 1:].ravel())[0, 1]
            print(
                f"librosa own filters: pooled corr {pooled:.4f}, max |diff| "
                f"{np.abs(ours - ref)[:, 1:].max():.3f}"
            )
            assert pooled > 0.97
            assert np.median(np.abs(ours[:, 1:] - ref[:, 1:])) < 1.0


def test_spectrogram_matches_definition_and_shape(rng):
    rate = 16000
    y = speechlike(rng, 16000, rate)
    out = SPEC.run(y[None, :, None], frequency_hz=rate, params={})
    assert out.shape == (99, 65)
    frames = np.lib.stride_tricks.sliding_window_view(y.astype(np.float64) / 32768, 320)[::160][:99]
    p = (
        np.abs(np.fft.rfft(frames, n=128)) ** 2 / 128
    )  # 320-sample frames truncated to the FFT length
    ref = np.clip((10 * np.log10(np.maximum(p, 1e-30)) + 52) / 64, 0, 1)
    np.testing.assert_allclose(out.features.reshape(out.shape), ref, atol=1e-5)


def test_spectrogram_sine_peaks_at_its_bin():
    rate, f0 = 1000.0, 125.0
    y = np.sin(2 * np.pi * f0 * np.arange(2000) / rate).astype(np.float32)[None, :, None]
    out = SPEC.run(
        y,
        frequency_hz=rate,
        params={
            "frame_length": 0.128,
            "frame_stride": 0.064,
            "input_full_scale": 1.0,
            "noise_floor_db": -100,
        },
    )
    img = out.features.reshape(out.shape)
    assert (img.argmax(1) == round(f0 * 128 / rate)).all()


@pytest.mark.parametrize("block", [MFCC, MFE, SPEC], ids=lambda b: b.name)
@pytest.mark.parametrize("n_samples", [160, 161, 319, 320, 8000, 8001])
def test_frame_counts_for_edge_lengths(block, n_samples, rng):
    rate = 8000
    p = block.validate({"frame_length": 0.02, "frame_stride": 0.02 if block is MFCC else 0.01})
    frame, stride = 160, (160 if block is MFCC else 80)
    expected_frames = 1 + (n_samples - frame) // stride
    shape = block.output_shape(window_samples=n_samples, n_axes=1, frequency_hz=rate, params=p)
    assert shape[0] == expected_frames
    x = rng.standard_normal((2, n_samples, 1)).astype(np.float32) * 1000
    out = block.run(x, frequency_hz=rate, params=p)
    assert out.shape == shape and out.features.shape == (2, int(np.prod(shape)))
    assert out.features.dtype == np.float32 and np.isfinite(out.features).all()


@pytest.mark.parametrize("block", [MFCC, MFE, SPEC], ids=lambda b: b.name)
def test_batched_windows_and_axes_are_independent(block, rng):
    x = rng.standard_normal((3, 4000, 2)).astype(np.float32) * 3000
    out = block.run(x, frequency_hz=8000, params={})
    per = block.output_shape(window_samples=4000, n_axes=1, frequency_hz=8000, params={})
    assert out.shape == (2, *per)
    for w in range(3):
        for a in range(2):
            single = block.run(x[w : w + 1, :, a : a + 1], frequency_hz=8000, params={}).features[0]
            np.testing.assert_allclose(
                out.features[w].reshape(out.shape)[a], single.reshape(per), atol=1e-5
            )


@pytest.mark.parametrize("block", [MFCC, MFE, SPEC], ids=lambda b: b.name)
def test_window_shorter_than_a_frame_is_a_clear_error(block):
    with pytest.raises(ParamError) as err:
        block.run(np.zeros((1, 100, 1), np.float32), frequency_hz=8000, params={})
    assert err.value.field == "frame_length" and "100 samples" in err.value.message


def test_high_frequency_above_nyquist_is_rejected():
    with pytest.raises(ParamError) as err:
        MFCC.run(
            np.zeros((1, 8000, 1), np.float32), frequency_hz=8000, params={"high_frequency": 5000}
        )
    assert err.value.field == "high_frequency" and "4000" in err.value.message
    with pytest.raises(ParamError) as err:
        MFE.output_shape(
            window_samples=8000, n_axes=1, frequency_hz=8000, params={"low_frequency": 4000}
        )
    assert err.value.field == "low_frequency"


def test_graphs_for_preview(fsdd_recordings):
    _, rate, y = fsdd_recordings[0]
    x = np.asarray(y, np.float32)[None, :, None]
    for block in (MFCC, MFE, SPEC):
        out = block.run(x, frequency_hz=rate, params={}, graphs=True)
        assert out.graphs and all({"name", "type", "data"} <= g.keys() for g in out.graphs)
        img = np.array(out.graphs[0]["data"])
        assert img.shape == out.shape[::-1]  # coefficients x frames for drawing
    bank = MFE.run(x, frequency_hz=rate, params={}, graphs=True).graphs[1]
    assert np.array(bank["data"]).shape == (40, 129)
    assert not MFE.run(x, frequency_hz=rate, params={}).graphs


def test_nan_signal_is_rejected():
    x = np.zeros((1, 8000, 1), np.float32)
    x[0, 10, 0] = np.nan
    with pytest.raises(DspError, match="NaN"):
        MFCC.run(x, frequency_hz=8000, params={})


@pytest.mark.parametrize(
    ("name", "y_axis"),
    [
        ("mfcc", "cepstral coefficient"),
        ("mfe", "mel filter centre (Hz)"),
        ("spectrogram", "frequency (Hz)"),
    ],
)
def test_heatmaps_name_their_axes_with_units_and_give_each_frame_its_time(name, y_axis):
    block = get_block(name)
    params = block.validate({"frame_stride": 0.025})
    x = np.random.default_rng(0).normal(size=(1, 8000, 1)).astype(np.float32)
    graph = block.run(x, frequency_hz=8000, params=params, graphs=True).graphs[0]
    rows, cols = len(graph["data"]), len(graph["data"][0])
    assert graph["type"] == "image" and graph["x"] == "time (s)" and graph["y"] == y_axis
    assert graph["x_values"] == pytest.approx([i * 0.025 for i in range(cols)])
    assert len(graph["y_values"]) == rows
    if name != "mfcc":  # frequencies rise up to at most Nyquist
        assert np.all(np.diff(graph["y_values"]) >= 0) and graph["y_values"][-1] <= 4000
