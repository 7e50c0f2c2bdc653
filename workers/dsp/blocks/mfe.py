"""MFE block: mel filterbank energies of rectangular frames, in dB mapped to [0, 1] from the noise
floor."""

from __future__ import annotations

import numpy as np

from ..primitives import db_normalise, filterbank_energies, filterbank_frequencies, mel_filterbank
from ..processing_block import Block, BlockOutput, finish
from .common import (
    HIGH_FREQUENCY,
    INPUT_FULL_SCALE,
    LOW_FREQUENCY,
    NOISE_FLOOR_DB,
    PRE_COF,
    band_edges,
    check_fft_length,
    fft_length,
    frame_geometry,
    frame_length,
    frame_stride,
    frame_times_s,
    num_filters,
)
from .spectrogram import frames_of, tf_shape


def mel_energies(
    windows: np.ndarray, *, frequency_hz: float, params: dict, with_total: bool = False
) -> np.ndarray:
    """Filterbank energies ``[n, axes, frames, filters]`` before any log (``+ 1`` column with the
    total frame energy when `with_total`)."""
    frame, stride, _ = frame_geometry(
        params, window_samples=windows.shape[1], frequency_hz=frequency_hz
    )
    low, high = band_edges(params, frequency_hz=frequency_hz)
    frames = frames_of(windows, scale=1.0, pre_cof=params["pre_cof"], frame=frame, stride=stride)
    return filterbank_energies(
        frames,
        fft_length=params["fft_length"],
        num_filters=params["num_filters"],
        frequency_hz=frequency_hz,
        low_hz=low,
        high_hz=high,
        input_scale=1.0 / params["input_full_scale"],
        with_total=with_total,
    )


def filterbank_graph(params: dict, frequency_hz: float) -> dict:
    low, high = band_edges(params, frequency_hz=frequency_hz)
    kw = dict(
        num_filters=params["num_filters"],
        fft_length=params["fft_length"],
        frequency_hz=frequency_hz,
        low_hz=low,
        high_hz=high,
    )
    return {
        "name": "Filterbank responses",
        "type": "lines",
        "data": mel_filterbank(**kw).tolist(),
        "centre_frequencies_hz": filterbank_frequencies(**kw).tolist(),
    }


class MfeBlock(Block):
    name = "mfe"
    title = "MFE (mel filterbank energies)"
    description = (
        "Mel filterbank energies of rectangular frames, 10*log10, mapped to [0, 1] from the "
        "noise floor."
    )
    implementation_version = 1
    params = (
        frame_length(0.02),
        frame_stride(0.01),
        num_filters(40),
        fft_length(256),
        LOW_FREQUENCY,
        HIGH_FREQUENCY,
        NOISE_FLOOR_DB,
        PRE_COF,
        INPUT_FULL_SCALE,
    )

    def _check(self, params):
        check_fft_length(params)

    def _shape(self, *, window_samples, n_axes, frequency_hz, params):
        _, _, frames = frame_geometry(
            params, window_samples=window_samples, frequency_hz=frequency_hz
        )
        band_edges(params, frequency_hz=frequency_hz)
        return tf_shape(n_axes, frames, params["num_filters"])

    def _run(self, windows, *, frequency_hz, params, shape, graphs) -> BlockOutput:
        energies = mel_energies(windows, frequency_hz=frequency_hz, params=params)
        out = db_normalise(energies, noise_floor_db=params["noise_floor_db"])
        g = []
        if graphs:
            g.append(
                {
                    "name": "Mel energies",
                    "type": "image",
                    "data": out[0, 0].T.tolist(),
                    "x": "time (s)",
                    "y": "mel filter centre (Hz)",
                    "x_values": frame_times_s(
                        params, n_frames=out.shape[2], frequency_hz=frequency_hz
                    ),
                    "y_values": filterbank_frequencies(
                        num_filters=params["num_filters"],
                        fft_length=params["fft_length"],
                        frequency_hz=frequency_hz,
                        low_hz=band_edges(params, frequency_hz=frequency_hz)[0],
                        high_hz=band_edges(params, frequency_hz=frequency_hz)[1],
                    ).tolist(),
                }
            )
            g.append(filterbank_graph(params, frequency_hz))
        return finish(out, shape, g)
