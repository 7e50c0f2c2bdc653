"""Spectral analysis block: optional Butterworth filter, then per axis RMS, skewness,
kurtosis and either Welch spectral power bins (FFT) or wavelet-coefficient statistics."""

from __future__ import annotations

import numpy as np
import pywt

from ..params import Param, ParamError
from ..primitives import LOG_FLOOR, apply_butterworth, welch_power
from ..processing_block import Block, BlockOutput, finish
from .common import FFT_LENGTHS
from .flatten import moments

WAVELETS = (
    "haar",
    "db2",
    "db3",
    "db4",
    "db6",
    "db8",
    "sym2",
    "sym4",
    "sym8",
    "coif1",
    "coif3",
    "bior2.2",
)
WAVELET_STATS = (
    "mean",
    "std",
    "rms",
    "p05",
    "p25",
    "p50",
    "p75",
    "p95",
    "zero_crossing_rate",
    "mean_crossing_rate",
    "entropy",
)


def wavelet_features(x: np.ndarray, *, wavelet: str, level: int) -> np.ndarray:
    """Statistics of each array of ``pywt.wavedec(x, wavelet, level, mode='symmetric')``.

    x: ``[..., n]``. For each of the ``level + 1`` arrays [cA_L, cD_L, ..., cD_1], the 11
    values of WAVELET_STATS: mean, population std, RMS, 5/25/50/75/95th percentiles
    (linear interpolation), zero- and mean-crossing rates (sign changes / (len - 1)) and the
    Shannon entropy (nats) of the normalised energies c_k**2 / sum(c**2) (0 for all-zero c).
    Returns ``[..., (level + 1) * 11]``.
    """
    coeffs = pywt.wavedec(x.astype(np.float64), wavelet, level=level, mode="symmetric", axis=-1)
    feats = []
    for c in coeffs:
        mean = c.mean(axis=-1)
        std = c.std(axis=-1)
        rms = np.sqrt((c * c).mean(axis=-1))
        pct = np.percentile(c, [5, 25, 50, 75, 95], axis=-1)
        denom = max(c.shape[-1] - 1, 1)
        zc = (np.signbit(c[..., 1:]) != np.signbit(c[..., :-1])).sum(axis=-1) / denom
        cm = c - mean[..., None]
        mc = (np.signbit(cm[..., 1:]) != np.signbit(cm[..., :-1])).sum(axis=-1) / denom
        energy = c * c
        total = energy.sum(axis=-1, keepdims=True)
        p = np.divide(energy, total, out=np.zeros_like(energy), where=total > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=-1)
        feats.extend([mean, std, rms, *pct, zc, mc, ent])
    return np.stack(feats, axis=-1)


class SpectralBlock(Block):
    name = "spectral"
    title = "Spectral analysis"
    description = (
        "Optional Butterworth low/high-pass, then per axis RMS, skewness and kurtosis of the "
        "filtered, mean-removed signal plus log Welch power bins (FFT) or wavelet statistics."
    )
    implementation_version = 1
    params = (
        Param(
            "scale_axes",
            "float",
            1.0,
            -1e9,
            1e9,
            help="Multiply every value by this first.",
            label="Scale axes",
        ),
        Param(
            "filter_type",
            "select",
            "low",
            choices=("none", "low", "high"),
            help="Butterworth filter applied before analysis.",
            label="Filter type",
        ),
        Param(
            "filter_cutoff",
            "float",
            3.0,
            1e-6,
            1e6,
            help="Filter cut-off (Hz), below Nyquist.",
            label="Cut-off frequency (Hz)",
            shown_when={"filter_type": ("low", "high")},
        ),
        Param(
            "filter_order",
            "int",
            6,
            1,
            10,
            help="Butterworth order.",
            label="Order",
            shown_when={"filter_type": ("low", "high")},
        ),
        Param(
            "analysis_type",
            "select",
            "FFT",
            choices=("FFT", "Wavelet"),
            help="Spectral power bins from Welch's method, or wavelet decomposition statistics.",
            label="Type",
        ),
        Param(
            "fft_length",
            "int",
            16,
            16,
            4096,
            help="Welch segment / FFT length, a power of two.",
            label="FFT length",
            shown_when={"analysis_type": ("FFT",)},
        ),
        Param(
            "do_log",
            "bool",
            True,
            help="Take log10 of the spectral power bins.",
            label="Take log of spectrum",
            shown_when={"analysis_type": ("FFT",)},
        ),
        Param(
            "do_fft_overlap",
            "bool",
            True,
            help="Overlap Welch segments by half.",
            label="Overlap FFT frames",
            shown_when={"analysis_type": ("FFT",)},
        ),
        Param(
            "wavelet_level",
            "int",
            1,
            1,
            7,
            help="Wavelet decomposition level.",
            label="Wavelet decomposition level",
            shown_when={"analysis_type": ("Wavelet",)},
        ),
        Param(
            "wavelet",
            "select",
            "db4",
            choices=WAVELETS,
            help="Wavelet family (pywavelets name).",
            label="Wavelet",
            shown_when={"analysis_type": ("Wavelet",)},
        ),
    )

    def _check(self, params):
        if params["fft_length"] not in FFT_LENGTHS:
            raise ParamError(
                "fft_length",
                f"got {params['fft_length']}; must be a power of two between 16 and 4096",
            )

    def _shape(self, *, window_samples, n_axes, frequency_hz, params):
        if params["filter_type"] != "none" and params["filter_cutoff"] >= frequency_hz / 2:
            raise ParamError(
                "filter_cutoff",
                f"got {params['filter_cutoff']:g} Hz; must be below the Nyquist "
                f"frequency {frequency_hz / 2:g} Hz",
            )
        if params["analysis_type"] == "FFT":
            if window_samples < params["fft_length"]:
                raise ParamError(
                    "fft_length",
                    f"got {params['fft_length']}; must be at most the window length "
                    f"({window_samples} samples)",
                )
            per_axis = 3 + params["fft_length"] // 2
        else:
            max_level = pywt.dwt_max_level(window_samples, pywt.Wavelet(params["wavelet"]).dec_len)
            if params["wavelet_level"] > max_level:
                raise ParamError(
                    "wavelet_level",
                    f"got {params['wavelet_level']}; must be at most {max_level} "
                    f"for {window_samples} samples with {params['wavelet']}",
                )
            per_axis = 3 + (params["wavelet_level"] + 1) * len(WAVELET_STATS)
        return (n_axes * per_axis,)

    def _run(self, windows, *, frequency_hz, params, shape, graphs) -> BlockOutput:
        x = np.swapaxes(windows, 1, 2) * np.float32(params["scale_axes"])  # [n, axes, samples]
        if params["filter_type"] != "none":
            x = apply_butterworth(
                x,
                kind=params["filter_type"],
                cutoff_hz=params["filter_cutoff"],
                order=params["filter_order"],
                frequency_hz=frequency_hz,
            )
        x = x - x.mean(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)
        _, _, skew, kurt = moments(x, axis=-1)
        rms = np.sqrt((x.astype(np.float64) ** 2).mean(axis=-1))
        parts = [rms[..., None], skew[..., None], kurt[..., None]]
        g: list[dict] = []
        if params["analysis_type"] == "FFT":
            pxx = welch_power(
                x,
                fft_length=params["fft_length"],
                overlap=params["do_fft_overlap"],
                frequency_hz=frequency_hz,
            )[..., 1:]  # DC is zero after mean removal: drop it
            if params["do_log"]:
                pxx = np.log10(np.maximum(pxx, np.float32(LOG_FLOOR)))
            parts.append(pxx)
            if graphs:
                freqs = (
                    np.arange(1, params["fft_length"] // 2 + 1)
                    * frequency_hz
                    / params["fft_length"]
                ).tolist()
                g.append(
                    {
                        "name": "Spectral power" + (" (log10)" if params["do_log"] else ""),
                        "type": "lines",
                        "data": {"x": freqs, "y": pxx[0].tolist()},
                    }
                )
        else:
            parts.append(
                wavelet_features(x, wavelet=params["wavelet"], level=params["wavelet_level"])
            )
        if graphs:
            g.insert(0, {"name": "After filter", "type": "lines", "data": x[0].tolist()})
        out = np.concatenate([p.astype(np.float32) for p in parts], axis=-1)  # [n, axes, per_axis]
        return finish(out, shape, g)
