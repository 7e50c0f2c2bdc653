"""Input blocks: cut time series into windows (resampling and selecting axes) and fit images."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.signal

from .params import DspError, Param, ParamError, validate_params

TIMESERIES_PARAMS = (
    Param(
        "window_size_ms",
        "float",
        1000.0,
        1.0,
        3_600_000.0,
        help="Length of each window (ms).",
        label="Window size (ms)",
    ),
    Param(
        "window_increase_ms",
        "float",
        1000.0,
        1.0,
        3_600_000.0,
        help="Step between window starts (ms); default: the window size.",
        label="Window increase (ms)",
    ),
    Param(
        "frequency_hz",
        "float",
        16000.0,
        0.001,
        1_000_000.0,
        help="Sampling frequency of the windows; default: the samples' own rate. Samples at "
        "another rate are resampled (the feature job says so).",
        label="Frequency (Hz)",
    ),
    Param(
        "pad_short",
        "bool",
        True,
        help="Zero-pad a sample shorter than one window (else it is rejected).",
        label="Zero-pad data",
    ),
)

IMAGE_PARAMS = (
    Param("width", "int", 96, 1, 4096, help="Output width in pixels.", label="Image width"),
    Param("height", "int", 96, 1, 4096, help="Output height in pixels.", label="Image height"),
    Param(
        "resize_mode",
        "select",
        "squash",
        choices=("squash", "fit-short", "fit-long"),
        help=(
            "squash: stretch to the size; fit-short: scale the shorter side to fit and "
            "centre-crop; fit-long: scale the longer side to fit and pad with black."
        ),
        label="Resize mode",
    ),
    Param(
        "color_depth",
        "select",
        "rgb",
        choices=("rgb", "grayscale"),
        help="Keep RGB or convert to grayscale.",
        label="Colour depth",
    ),
)


def _schema(title: str, params: tuple[Param, ...]) -> dict[str, Any]:
    return {
        "title": title,
        "params": [p.to_json() for p in params],
        "json_schema": {
            "type": "object",
            "properties": {p.name: p.json_schema() for p in params},
            "additionalProperties": False,
        },
    }


@dataclass
class TimeSeriesInput:
    axes: list[str] | None
    window_size_ms: float
    window_increase_ms: float
    frequency_hz: float
    pad_short: bool = True

    def validate(self) -> TimeSeriesInput:
        """A copy with coerced values; ParamError naming the field otherwise."""
        v = validate_params(
            TIMESERIES_PARAMS,
            {
                "window_size_ms": self.window_size_ms,
                "window_increase_ms": self.window_increase_ms,
                "frequency_hz": self.frequency_hz,
                "pad_short": self.pad_short,
            },
        )
        axes = self.axes
        if axes is not None:
            if (
                not isinstance(axes, list | tuple)
                or not axes
                or not all(isinstance(a, str) and a for a in axes)
            ):
                raise ParamError(
                    "axes",
                    f"got {axes!r}; must be a non-empty list of sensor names, or null for all",
                )
            if len(set(axes)) != len(axes):
                raise ParamError("axes", f"got {axes!r}; names must be unique")
            axes = list(axes)
        if self.window_samples(v["window_size_ms"], v["frequency_hz"]) < 1:
            raise ParamError("window_size_ms", "window shorter than one sample at this frequency")
        return TimeSeriesInput(axes=axes, **v)

    @staticmethod
    def window_samples(window_size_ms: float, frequency_hz: float) -> int:
        return int(math.floor(window_size_ms * frequency_hz / 1000.0 + 0.5))

    @property
    def samples_per_window(self) -> int:
        return self.window_samples(self.window_size_ms, self.frequency_hz)

    @property
    def stride_samples(self) -> int:
        return max(1, self.window_samples(self.window_increase_ms, self.frequency_hz))

    @staticmethod
    def schema() -> dict[str, Any]:
        out = _schema("Time series data", TIMESERIES_PARAMS)
        out["params"].insert(
            0,
            {
                "name": "axes",
                "type": "list",
                "default": None,
                "help": "Sensor names to use, in this order; null uses every axis.",
                "label": "Axes",
            },
        )
        out["json_schema"]["properties"]["axes"] = {
            "type": ["array", "null"],
            "items": {"type": "string"},
        }
        return out


def resample_ratio(
    source_hz: float, target_hz: float, *, max_denominator: int = 1000
) -> tuple[int, int]:
    """(up, down) with up/down the closest fraction to target/source with down <=
    max_denominator."""
    frac = Fraction(target_hz / source_hz).limit_denominator(max_denominator)
    if frac.numerator == 0:
        raise ParamError(
            "frequency_hz", f"{target_hz:g} Hz is too far below the sample rate {source_hz:g} Hz"
        )
    return frac.numerator, frac.denominator


# 64 Mi float32 values (256 MB): the windows of one sample, or the sample once resampled
MAX_WINDOW_VALUES = 1 << 26


def make_windows(
    values: np.ndarray,
    *,
    interval_ms: float,
    spec: TimeSeriesInput,
    sensor_names: list[str] | None = None,
) -> np.ndarray:
    """Cut one sample ``[rows, axes]`` into float32 windows ``[n_windows, window_samples, n_axes]``.

    1. select `spec.axes` by name from `sensor_names` (all axes when spec.axes is None);
    2. resample along rows when ``1000 / interval_ms != spec.frequency_hz`` with
       scipy.signal.resample_poly(up, down) for the rational approximation (denominator <= 1000);
    3. windows start every ``round(window_increase_ms * f / 1000)`` samples and are
       ``round(window_size_ms * f / 1000)`` long; the tail that does not fill a window is dropped;
    4. a sample shorter than one window is zero-padded at the end to one window
       (``pad_short``), or rejected with DspError.
    """
    spec = spec.validate()
    arr = np.asarray(values)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DspError(f"expected values shaped [rows, axes], got {arr.ndim} axes {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DspError(f"sample is empty: shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise DspError(f"values must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise DspError("sample contains NaN or infinite values")
    if not (
        isinstance(interval_ms, int | float | np.number)
        and math.isfinite(interval_ms)
        and interval_ms > 0
    ):
        raise DspError(f"interval_ms must be a positive number, got {interval_ms!r}")

    if sensor_names is not None and len(sensor_names) != arr.shape[1]:
        raise DspError(
            f"wrong number of axes: sample has {arr.shape[1]} columns but {len(sensor_names)} "
            f"sensors ({', '.join(sensor_names)})"
        )
    if spec.axes is not None:
        names = (
            list(sensor_names)
            if sensor_names is not None
            else [f"axis{i}" for i in range(arr.shape[1])]
        )
        missing = [a for a in spec.axes if a not in names]
        if missing:
            raise DspError(
                f"wrong axes: sample has no axis {', '.join(missing)} (it has {', '.join(names)})"
            )
        arr = arr[:, [names.index(a) for a in spec.axes]]

    source_hz = 1000.0 / interval_ms
    size, stride = spec.samples_per_window, spec.stride_samples
    resample = abs(source_hz - spec.frequency_hz) > 1e-6 * spec.frequency_hz
    if resample:
        up, down = resample_ratio(source_hz, spec.frequency_hz)
        rows = -(-arr.shape[0] * up // down)
    else:
        rows = arr.shape[0]
    windows = 1 + max(rows - size, 0) // stride
    if max(rows, windows * size) * arr.shape[1] > MAX_WINDOW_VALUES:
        raise DspError(
            f"sample too long for this impulse: {arr.shape[0]} rows every {interval_ms:g} ms make "
            f"{windows} windows of {size} x {arr.shape[1]} values at {spec.frequency_hz:g} Hz; "
            f"at most {MAX_WINDOW_VALUES} values per sample (split the sample or raise the stride)"
        )
    if resample:
        arr = scipy.signal.resample_poly(arr, up, down, axis=0)
    rows = arr.shape[0]
    if rows < size:
        if not spec.pad_short:
            raise DspError(
                f"sample too short: {rows} samples at {spec.frequency_hz:g} Hz "
                f"({rows * 1000 / spec.frequency_hz:g} ms), window needs {size} "
                f"({spec.window_size_ms:g} ms)"
            )
        arr = np.concatenate([arr, np.zeros((size - rows, arr.shape[1]))], axis=0)
        rows = size
    n = 1 + (rows - size) // stride
    view = np.lib.stride_tricks.sliding_window_view(arr, size, axis=0)[
        : (n - 1) * stride + 1 : stride
    ]
    return np.ascontiguousarray(np.swapaxes(view, 1, 2), dtype=np.float32)


@dataclass
class ImageInput:
    width: int = 96
    height: int = 96
    resize_mode: str = "squash"
    color_depth: str = "rgb"

    def validate(self) -> ImageInput:
        v = validate_params(
            IMAGE_PARAMS,
            {
                "width": self.width,
                "height": self.height,
                "resize_mode": self.resize_mode,
                "color_depth": self.color_depth,
            },
        )
        return ImageInput(**v)

    @staticmethod
    def schema() -> dict[str, Any]:
        return _schema("Image data", IMAGE_PARAMS)


def prepare_image(image: np.ndarray, *, spec: ImageInput) -> np.ndarray:
    """Resize an ``[h, w, c]`` uint8 image (c = 1, 3 or 4; alpha dropped) to ``[height, width,
    c']``.

    Bilinear resampling (Pillow). squash: straight to width x height. fit-short: scale so
    the image covers the target, centre-crop the overflow. fit-long: scale so it fits
    inside, centre it on black. c' = 3 for rgb, 1 for grayscale (BT.601 luma, Pillow 'L').
    """
    from PIL import Image

    spec = spec.validate()
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise DspError(f"expected an image shaped [height, width, 1|3|4 channels], got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DspError(f"wrong image size: {arr.shape[1]}x{arr.shape[0]}")
    if arr.dtype != np.uint8:
        raise DspError(f"expected uint8 pixels, got {arr.dtype}")
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    pil = Image.fromarray(arr[:, :, 0], "L") if arr.shape[2] == 1 else Image.fromarray(arr, "RGB")
    pil = pil.convert("L") if spec.color_depth == "grayscale" else pil.convert("RGB")
    h, w = arr.shape[:2]
    W, H = spec.width, spec.height
    if spec.resize_mode == "squash":
        pil = pil.resize((W, H), Image.Resampling.BILINEAR)
    elif spec.resize_mode == "fit-short":
        s = max(W / w, H / h)
        nw, nh = max(W, round(w * s)), max(H, round(h * s))
        pil = pil.resize((nw, nh), Image.Resampling.BILINEAR)
        left, top = (nw - W) // 2, (nh - H) // 2
        pil = pil.crop((left, top, left + W, top + H))
    else:
        s = min(W / w, H / h)
        nw, nh = max(1, min(W, round(w * s))), max(1, min(H, round(h * s)))
        canvas = Image.new(pil.mode, (W, H), 0)
        canvas.paste(
            pil.resize((nw, nh), Image.Resampling.BILINEAR), ((W - nw) // 2, (H - nh) // 2)
        )
        pil = canvas
    out = np.asarray(pil, dtype=np.uint8)
    return out[:, :, None] if out.ndim == 2 else out
