"""Spectrogram block: power spectrum of rectangular frames, normalised in dB against a noise
floor."""

from __future__ import annotations

import numpy as np

from ..primitives import db_normalise, frame_signal, power_spectrum, preemphasis
from ..processing_block import Block, BlockOutput, finish
from .common import (
    INPUT_FULL_SCALE,
    NOISE_FLOOR_DB,
    check_fft_length,
    fft_length,
    frame_geometry,
    frame_length,
    frame_stride,
    frame_times_s,
)


def tf_shape(n_axes: int, frames: int, coeffs: int) -> tuple[int, ...]:
    """Per-window shape of a time-frequency block: (frames, coeffs), or (axes, frames, coeffs)."""
    return (frames, coeffs) if n_axes == 1 else (n_axes, frames, coeffs)


def frames_of(
    windows: np.ndarray, *, scale: float, pre_cof: float, frame: int, stride: int
) -> np.ndarray:
    """[n, samples, axes] -> scaled, pre-emphasised frames [n, axes, frames, frame]."""
    x = np.swapaxes(windows, 1, 2)
    if scale != 1.0:
        x = x * np.float32(1.0 / scale)
    if x.shape[1] != 1:
        x = np.ascontiguousarray(x)  # one axis: the swap is already contiguous
    x = preemphasis(x, coefficient=pre_cof)
    return frame_signal(x, frame_samples=frame, stride_samples=stride)


class SpectrogramBlock(Block):
    name = "spectrogram"
    title = "Spectrogram"
    description = (
        "Power spectrum |FFT|^2/N of rectangular frames, in dB mapped to [0, 1] from the noise "
        "floor."
    )
    implementation_version = 1
    params = (
        frame_length(0.02),
        frame_stride(0.01),
        fft_length(128),
        NOISE_FLOOR_DB,
        INPUT_FULL_SCALE,
    )

    def _check(self, params):
        check_fft_length(params)

    def _shape(self, *, window_samples, n_axes, frequency_hz, params):
        _, _, frames = frame_geometry(
            params, window_samples=window_samples, frequency_hz=frequency_hz
        )
        return tf_shape(n_axes, frames, params["fft_length"] // 2 + 1)

    def _run(self, windows, *, frequency_hz, params, shape, graphs) -> BlockOutput:
        frame, stride, _ = frame_geometry(
            params, window_samples=windows.shape[1], frequency_hz=frequency_hz
        )
        frames = frames_of(
            windows, scale=params["input_full_scale"], pre_cof=0.0, frame=frame, stride=stride
        )
        power = power_spectrum(frames, fft_length=params["fft_length"])
        out = db_normalise(power, noise_floor_db=params["noise_floor_db"])
        g = []
        if graphs:
            g.append(
                {
                    "name": "Spectrogram",
                    "type": "image",
                    "data": out[0, 0].T.tolist(),
                    "x": "time (s)",
                    "y": "frequency (Hz)",
                    "x_values": frame_times_s(
                        params, n_frames=out.shape[2], frequency_hz=frequency_hz
                    ),
                    "y_values": (
                        np.arange(out.shape[-1]) * frequency_hz / params["fft_length"]
                    ).tolist(),
                }
            )
        return finish(out, shape, g)
