"""Flatten block: per-axis summary statistics of the window."""

from __future__ import annotations

import numpy as np

from ..params import Param, ParamError
from ..processing_block import Block, BlockOutput, finish

STATISTICS = ("average", "minimum", "maximum", "rms", "stdev", "skewness", "kurtosis")


def moments(x: np.ndarray, axis: int = -2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mean, population std, skewness, excess kurtosis) along `axis`, in float64.

    Skewness ``m3 / m2**1.5`` and kurtosis ``m4 / m2**2 - 3`` with central moments m_k
    (scipy.stats.skew / kurtosis with bias=True, fisher=True); 0 when the window is constant.
    """
    d = x.astype(np.float64)
    mean = d.mean(axis=axis, keepdims=True)
    c = d - mean
    c2 = c * c
    m2 = c2.mean(axis=axis)
    m3 = (c2 * c).mean(axis=axis)
    m4 = (c2 * c2).mean(axis=axis)
    # a window whose spread is at rounding level is constant: report 0, not noise
    scale = np.abs(mean.squeeze(axis)) + 1e-30
    flat = m2 <= (1e-12 * scale) ** 2
    safe = np.where(flat, 1.0, m2)
    skew = np.where(flat, 0.0, m3 / safe**1.5)
    kurt = np.where(flat, 0.0, m4 / safe**2 - 3.0)
    return mean.squeeze(axis), np.sqrt(m2), skew, kurt


class FlattenBlock(Block):
    name = "flatten"
    title = "Flatten"
    description = (
        "Per axis: average, minimum, maximum, RMS, standard deviation, skewness, kurtosis "
        "(each switchable)."
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
        Param("average", "bool", True, help="Mean of the window.", label="Average"),
        Param("minimum", "bool", True, help="Smallest value.", label="Minimum"),
        Param("maximum", "bool", True, help="Largest value.", label="Maximum"),
        Param(
            "rms",
            "bool",
            True,
            help="Root mean square sqrt(mean(x^2)) (not mean-removed).",
            label="Root-mean square",
        ),
        Param(
            "stdev",
            "bool",
            True,
            help="Population standard deviation (ddof=0).",
            label="Standard deviation",
        ),
        Param(
            "skewness", "bool", False, help="Third standardised moment (biased).", label="Skewness"
        ),
        Param(
            "kurtosis",
            "bool",
            False,
            help="Fourth standardised moment minus 3 (biased, Fisher).",
            label="Kurtosis",
        ),
    )

    def _check(self, params):
        if not any(params[s] for s in STATISTICS):
            raise ParamError("average", "enable at least one of: " + ", ".join(STATISTICS))

    def _shape(self, *, window_samples, n_axes, frequency_hz, params):
        return (n_axes * sum(bool(params[s]) for s in STATISTICS),)

    def _run(self, windows, *, frequency_hz, params, shape, graphs) -> BlockOutput:
        x = windows.astype(np.float64) * params["scale_axes"]
        mean, std, skew, kurt = moments(x)
        values = {
            "average": lambda: mean,
            "minimum": lambda: x.min(axis=1),
            "maximum": lambda: x.max(axis=1),
            "rms": lambda: np.sqrt((x * x).mean(axis=1)),
            "stdev": lambda: std,
            "skewness": lambda: skew,
            "kurtosis": lambda: kurt,
        }
        cols = [values[s]() for s in STATISTICS if params[s]]  # each [n, axes]
        out = np.stack(cols, axis=-1)  # [n, axes, stats] -> axis-major layout
        return finish(out, shape)
