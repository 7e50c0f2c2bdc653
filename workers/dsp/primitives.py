"""Signal-processing primitives under the blocks: framing -> window -> power spectrum ->
filterbank -> log -> DCT, plus pre-emphasis, sliding normalisation, Butterworth filters and a
Welch power spectrum.

Every function is vectorised over leading axes: the time axis is always the last one.
All arithmetic that a C port must mirror is float32 except where noted (filter design,
sliding normalisation), and the FFT length is a power of two.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.signal

LOG_FLOOR = 1e-30
"""Energies are clamped to this before any log (1e-30 is a normal float32; ln -> -69.08)."""

CMVN_EPS = 2.0**-30
"""Added to the sliding standard deviation before dividing (as SpeechPy's cmvnw)."""

AUDIO_FULL_SCALE = 32768.0
"""Audio windows carry int16 PCM units; MFE/MFCC/Spectrogram divide by this so 0 dBFS = 1.0."""


def seconds_to_samples(seconds: float, *, frequency_hz: float) -> int:
    """Round ``seconds * frequency_hz`` half up (as python_speech_features' round_half_up)."""
    return int(math.floor(seconds * frequency_hz + 0.5 + 1e-9))


def frame_count(n_samples: int, *, frame_samples: int, stride_samples: int) -> int:
    """Whole frames that fit: ``1 + (n - L) // S`` when ``n >= L``, else 0. No padding."""
    if n_samples < frame_samples:
        return 0
    return 1 + (n_samples - frame_samples) // stride_samples


def preemphasis(x: np.ndarray, *, coefficient: float) -> np.ndarray:
    """``y[0] = x[0]``, ``y[n] = x[n] - c * x[n-1]`` along the last axis (the filter starts at
    rest)."""
    if coefficient == 0:
        return x
    y = np.empty_like(x)
    y[..., 0] = x[..., 0]
    np.subtract(x[..., 1:], np.float32(coefficient) * x[..., :-1], out=y[..., 1:])
    return y


def frame_signal(x: np.ndarray, *, frame_samples: int, stride_samples: int) -> np.ndarray:
    """View ``[..., n]`` as ``[..., frames, frame_samples]`` (rectangular frames, tail dropped)."""
    n = x.shape[-1]
    frames = frame_count(n, frame_samples=frame_samples, stride_samples=stride_samples)
    if frames == 0:
        raise ValueError(f"signal of {n} samples is shorter than one frame of {frame_samples}")
    step = x.strides[-1]
    if x.flags.c_contiguous:  # cheaper than as_strided; same read-only strided view
        view = np.ndarray(
            (*x.shape[:-1], frames, frame_samples),
            dtype=x.dtype,
            buffer=x,
            strides=(*x.strides[:-1], stride_samples * step, step),
        )
        view.flags.writeable = False
        return view
    return np.lib.stride_tricks.as_strided(
        x,
        shape=(*x.shape[:-1], frames, frame_samples),
        strides=(*x.strides[:-1], stride_samples * step, step),
        writeable=False,
    )


def power_spectrum(frames: np.ndarray, *, fft_length: int) -> np.ndarray:
    """``|rfft(frame, fft_length)|**2 / fft_length`` -> ``[..., fft_length // 2 + 1]``.

    Frames shorter than `fft_length` are zero-padded, longer ones truncated to their first
    `fft_length` samples (numpy/scipy ``rfft(n=...)`` semantics, as python_speech_features).
    """
    spec = np.ascontiguousarray(scipy.fft.rfft(frames, n=fft_length, axis=-1))
    parts = spec.view(spec.real.dtype)  # interleaved re, im
    parts = parts * parts
    power = parts[..., 0::2] + parts[..., 1::2]
    power *= np.asarray(1.0 / fft_length, dtype=power.dtype)
    return power


@lru_cache(maxsize=64)
def _interleaved_bank(bank_key: tuple, gain: float, with_total: bool) -> np.ndarray:
    bank = mel_filterbank(**dict(bank_key))
    cols = [bank.T.astype(np.float64)]
    if with_total:
        cols.append(np.ones((bank.shape[1], 1)))
    m = np.repeat(np.concatenate(cols, axis=1), 2, axis=0) * gain  # one row per re and im part
    out = m.astype(np.float32)
    out.setflags(write=False)
    return out


def filterbank_energies(
    frames: np.ndarray,
    *,
    fft_length: int,
    num_filters: int,
    frequency_hz: float,
    low_hz: float,
    high_hz: float,
    input_scale: float = 1.0,
    with_total: bool = False,
) -> np.ndarray:
    """``power_spectrum(frames * input_scale) @ mel_filterbank(...).T`` in one product.

    Returns ``[..., num_filters]``, or ``[..., num_filters + 1]`` with the total frame energy
    ``sum(power)`` last when `with_total`. The constant factors (1/fft_length and
    input_scale**2) are folded into the filter weights, and the squared real and imaginary
    parts are multiplied by the weights directly (no |X|^2 array): the same sums, fewer passes.
    """
    key = (
        ("num_filters", num_filters),
        ("fft_length", fft_length),
        ("frequency_hz", float(frequency_hz)),
        ("low_hz", float(low_hz)),
        ("high_hz", float(high_hz)),
    )
    weights = _interleaved_bank(key, float(input_scale) ** 2 / fft_length, with_total)
    spec = np.ascontiguousarray(scipy.fft.rfft(frames, n=fft_length, axis=-1))
    parts = spec.view(spec.real.dtype)
    np.multiply(parts, parts, out=parts)
    return np.matmul(parts, weights)


def hz_to_mel(hz):
    """HTK mel scale: ``2595 * log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=64)
def mel_filterbank(
    *, num_filters: int, fft_length: int, frequency_hz: float, low_hz: float, high_hz: float
) -> np.ndarray:
    """Triangular mel filters on the FFT-bin grid, float32 ``[num_filters, fft_length // 2 + 1]``.

    ``num_filters + 2`` points equally spaced in HTK mel between `low_hz` and `high_hz` are
    mapped to bins ``floor((fft_length + 1) * f / frequency_hz)``; filter j rises linearly from
    bin[j] (weight 0) to bin[j+1] (weight 1) and falls to bin[j+2] (weight 0, exclusive),
    exactly as python_speech_features' get_filterbanks. The result is read-only and cached.
    """
    mels = np.linspace(hz_to_mel(low_hz), hz_to_mel(high_hz), num_filters + 2)
    bins = np.floor((fft_length + 1) * mel_to_hz(mels) / frequency_hz).astype(np.int64)
    bank = np.zeros((num_filters, fft_length // 2 + 1), dtype=np.float64)
    for j in range(num_filters):
        left, mid, right = int(bins[j]), int(bins[j + 1]), int(bins[j + 2])
        for i in range(left, mid):
            bank[j, i] = (i - left) / (mid - left)
        for i in range(mid, right):
            bank[j, i] = (right - i) / (right - mid)
    out = bank.astype(np.float32)
    out.setflags(write=False)
    return out


def filterbank_frequencies(
    *, num_filters: int, fft_length: int, frequency_hz: float, low_hz: float, high_hz: float
) -> np.ndarray:
    """Centre frequency (Hz) of each filter as realised on the bin grid."""
    mels = np.linspace(hz_to_mel(low_hz), hz_to_mel(high_hz), num_filters + 2)
    bins = np.floor((fft_length + 1) * mel_to_hz(mels) / frequency_hz)
    return bins[1:-1] * frequency_hz / fft_length


@lru_cache(maxsize=64)
def dct_matrix(*, n_inputs: int, n_outputs: int) -> np.ndarray:
    """Orthonormal DCT-II as a float32 matrix ``[n_inputs, n_outputs]`` (x @ M == scipy dct(x,
    norm='ortho')[:n_outputs])."""
    n = np.arange(n_inputs)
    k = np.arange(n_outputs)
    m = np.cos(np.pi * np.outer(2 * n + 1, k) / (2 * n_inputs))
    m[:, 0] *= math.sqrt(1.0 / n_inputs)
    m[:, 1:] *= math.sqrt(2.0 / n_inputs)
    out = m.astype(np.float32)
    out.setflags(write=False)
    return out


def log_floor(x: np.ndarray) -> np.ndarray:
    """Natural log of ``max(x, LOG_FLOOR)``."""
    return np.log(np.maximum(x, np.asarray(LOG_FLOOR, dtype=x.dtype)))


def db_normalise(power: np.ndarray, *, noise_floor_db: float) -> np.ndarray:
    """``clip((10*log10(max(p, 1e-30)) - floor) / (-floor + 12), 0, 1)``: the noise floor maps to 0,
    +12 dB to 1."""
    db = 10.0 * np.log10(np.maximum(power, np.asarray(LOG_FLOOR, dtype=power.dtype)))
    out = (db - np.float32(noise_floor_db)) * np.float32(1.0 / (12.0 - noise_floor_db))
    return np.clip(out, 0.0, 1.0, out=out)


@lru_cache(maxsize=32)
def sliding_mean_matrix(*, rows: int, win_size: int) -> np.ndarray:
    """``[rows, rows]`` float64 matrix A with ``(A @ x)[i]`` = mean of the `win_size` frames centred
    on i of x padded by ``(win_size - 1) / 2`` frames of symmetric reflection (numpy pad mode
    'symmetric')."""
    pad = (win_size - 1) // 2
    source = np.pad(np.arange(rows), pad, mode="symmetric")  # padded position -> original frame
    a = np.zeros((rows, rows))
    for i in range(rows):
        np.add.at(a[i], source[i : i + win_size], 1.0 / win_size)
    a.setflags(write=False)
    return a


def sliding_cmvn(x: np.ndarray, *, win_size: int, variance: bool = True) -> np.ndarray:
    """Sliding-window mean (and variance) normalisation over the frame axis (-2).

    For frame i, the window is the `win_size` frames centred on i of the signal padded with
    ``(win_size - 1) / 2`` frames of symmetric reflection at both ends (numpy pad mode
    'symmetric', which repeats the reflection if the pad is longer than the signal):
    ``m_i = x_i - mean(window)``, then, with the same window over m,
    ``y_i = m_i / (std(window of m) + 2**-30)`` (population std). SpeechPy's cmvnw.
    Computed in float64 as products with the cached window-averaging matrix; `win_size` odd.
    """
    if win_size % 2 != 1:
        raise ValueError("win_size must be odd")
    a = sliding_mean_matrix(rows=x.shape[-2], win_size=win_size)
    data = x.astype(np.float64)
    m = data - a @ data
    if not variance:
        return m.astype(np.float32)
    centred = m - m.mean(
        axis=-2, keepdims=True
    )  # shift only to keep E[m^2] - E[m]^2 well conditioned
    mu = a @ centred
    var = a @ (centred * centred) - mu * mu
    std = np.sqrt(np.maximum(var, 0.0))
    return (m / (std + CMVN_EPS)).astype(np.float32)


@lru_cache(maxsize=64)
def butterworth_sos(*, kind: str, cutoff_hz: float, order: int, frequency_hz: float) -> np.ndarray:
    """Second-order sections of a digital Butterworth low/high-pass (scipy.signal.butter,
    bilinear)."""
    btype = {"low": "lowpass", "high": "highpass"}[kind]
    sos = scipy.signal.butter(order, cutoff_hz, btype=btype, fs=frequency_hz, output="sos")
    sos.setflags(write=False)
    return sos


def apply_butterworth(
    x: np.ndarray, *, kind: str, cutoff_hz: float, order: int, frequency_hz: float
) -> np.ndarray:
    """Filter along the last axis from rest (zero initial state), float64 cascade -> float32."""
    sos = butterworth_sos(
        kind=kind, cutoff_hz=float(cutoff_hz), order=int(order), frequency_hz=float(frequency_hz)
    )
    return scipy.signal.sosfilt(sos.copy(), x.astype(np.float64), axis=-1).astype(np.float32)


@lru_cache(maxsize=32)
def hann_periodic(n: int) -> np.ndarray:
    """``0.5 - 0.5 * cos(2*pi*k/n)`` for k < n (scipy get_window('hann', n), i.e. fftbins=True)."""
    w = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)
    w.setflags(write=False)
    return w


def welch_power(
    x: np.ndarray, *, fft_length: int, overlap: bool, frequency_hz: float
) -> np.ndarray:
    """One-sided power spectral density, Welch's method, ``[..., fft_length // 2 + 1]``.

    Segments of `fft_length` samples, step ``fft_length // 2`` with `overlap` (else
    `fft_length`), periodic Hann window, no detrend, ``|X|**2 / (fs * sum(w**2))`` with all
    bins except DC and Nyquist doubled, mean over segments. Equals scipy.signal.welch(x, fs,
    window='hann', nperseg=fft_length, noverlap=..., detrend=False, scaling='density').
    """
    step = fft_length // 2 if overlap else fft_length
    segments = frame_signal(x, frame_samples=fft_length, stride_samples=step)
    w = hann_periodic(fft_length)
    spec = scipy.fft.rfft(segments * w, axis=-1)
    p = (spec.real * spec.real + spec.imag * spec.imag).astype(np.float32)
    p *= np.float32(1.0 / (frequency_hz * float(np.sum(w.astype(np.float64) ** 2))))
    p[..., 1:-1] *= 2.0
    return p.mean(axis=-2)
