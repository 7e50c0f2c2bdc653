"""MFCC block: DCT of log mel energies, coefficient 0 replaced by the log frame energy,
then optional sliding mean/variance normalisation."""

from __future__ import annotations

import numpy as np

from ..params import Param, ParamError
from ..primitives import dct_matrix, log_floor, sliding_cmvn
from ..processing_block import Block, BlockOutput, finish
from .common import (
    HIGH_FREQUENCY,
    INPUT_FULL_SCALE,
    LOW_FREQUENCY,
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
from .mfe import filterbank_graph, mel_energies
from .spectrogram import tf_shape


def cepstra(energies: np.ndarray, *, num_cepstral: int) -> np.ndarray:
    """`energies` ``[..., filters + 1]`` (filterbank energies, then the total frame energy) ->
    ``dct_ortho(ln max(E, 1e-30))[:num_cepstral]`` with c0 := ``ln max(total, 1e-30)``."""
    logs = log_floor(energies)
    out = np.matmul(
        logs[..., :-1], dct_matrix(n_inputs=energies.shape[-1] - 1, n_outputs=num_cepstral)
    )
    out[..., 0] = logs[..., -1]
    return out


class MfccBlock(Block):
    name = "mfcc"
    title = "MFCC"
    description = (
        "Mel-frequency cepstral coefficients: log mel energies -> orthonormal DCT-II, coefficient "
        "0 replaced with the log frame energy, then sliding mean/variance normalisation over "
        "win_size frames."
    )
    implementation_version = 1
    params = (
        Param(
            "num_cepstral",
            "int",
            13,
            1,
            256,
            help="Number of cepstral coefficients kept (at most num_filters).",
            label="Number of coefficients",
        ),
        frame_length(0.02),
        frame_stride(0.02),
        num_filters(32),
        fft_length(256),
        Param(
            "win_size",
            "int",
            101,
            0,
            1001,
            help="Frames in the sliding normalisation window (odd); 0 disables normalisation.",
            label="Normalization window size",
        ),
        LOW_FREQUENCY,
        HIGH_FREQUENCY,
        PRE_COF,
        INPUT_FULL_SCALE,
    )

    def _check(self, params):
        check_fft_length(params)
        if params["num_cepstral"] > params["num_filters"]:
            raise ParamError(
                "num_cepstral",
                f"got {params['num_cepstral']}; must be at most num_filters "
                f"({params['num_filters']})",
            )
        if params["win_size"] and params["win_size"] % 2 == 0:
            raise ParamError(
                "win_size",
                f"got {params['win_size']}; must be 0 (off) or an odd number between 1 and 1001",
            )

    def _shape(self, *, window_samples, n_axes, frequency_hz, params):
        _, _, frames = frame_geometry(
            params, window_samples=window_samples, frequency_hz=frequency_hz
        )
        band_edges(params, frequency_hz=frequency_hz)
        return tf_shape(n_axes, frames, params["num_cepstral"])

    def _run(self, windows, *, frequency_hz, params, shape, graphs) -> BlockOutput:
        energies = mel_energies(windows, frequency_hz=frequency_hz, params=params, with_total=True)
        out = cepstra(energies, num_cepstral=params["num_cepstral"])
        if params["win_size"]:
            out = sliding_cmvn(out, win_size=params["win_size"], variance=True)
        g = []
        if graphs:
            g.append(
                {
                    "name": "Cepstral coefficients",
                    "type": "image",
                    "data": out[0, 0].T.tolist(),
                    "x": "time (s)",
                    "y": "cepstral coefficient",
                    "x_values": frame_times_s(
                        params, n_frames=out.shape[2], frequency_hz=frequency_hz
                    ),
                    "y_values": list(range(out.shape[3])),
                }
            )
            g.append(filterbank_graph(params, frequency_hz))
        return finish(out, shape, g)
