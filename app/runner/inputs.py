"""What `tinyforge run-impulse` feeds the runner: the windows of a recording file (cut as the
platform cuts samples), or the slices of a serial device's stream (read as the data forwarder reads
it)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.forwarder.lines import DeviceLost, parse_line
from app.forwarder.port import Serial
from workers.deploy.package.eim import RESIZE_MODES, pack_pixels

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


class InputError(Exception):
    """A file or device the impulse cannot classify; the message says why."""


@dataclass(frozen=True)
class Impulse:
    """What the runner's hello answer (and the library's manifest, when there is one) say."""

    labels: list[str]
    axes: int
    axis_names: list[str] | None
    frequency_hz: float
    window_samples: int
    slice_samples: int
    image: dict[str, Any] | None  # width, height, resize_mode, color_depth (Tinyforge's names)

    @classmethod
    def from_runner(cls, params: dict[str, Any], manifest: dict[str, Any] | None) -> Impulse:
        dsp = (manifest or {}).get("dsp") or {}
        if params.get("image_input_width"):
            modes = {ei: ours for ours, ei in RESIZE_MODES.items()}
            image = dsp.get("image") or {
                "width": params["image_input_width"],
                "height": params["image_input_height"],
                "resize_mode": modes.get(params.get("image_resize_mode", ""), "squash"),
                "color_depth": "grayscale" if params.get("image_channel_count") == 1 else "rgb",
            }
            pixels = int(params["input_features_count"])
            return cls(list(params["labels"]), 1, None, 0.0, pixels, pixels, image)
        axes = int(params["axis_count"])
        return cls(
            labels=list(params["labels"]),
            axes=axes,
            axis_names=dsp.get("axes") or params.get("axis_names"),
            frequency_hz=float(params["frequency"]),
            window_samples=int(params["input_features_count"]) // axes,
            slice_samples=max(1, int(params["slice_size"]) // axes),
            image=None,
        )

    def describe(self) -> str:
        if self.image:
            return (
                f"{self.image['width']} x {self.image['height']} {self.image['color_depth']} "
                f"images; labels {', '.join(self.labels)}"
            )
        names = f" ({', '.join(self.axis_names)})" if self.axis_names else ""
        return (
            f"windows of {self.window_samples} samples x {self.axes} axes{names} "
            f"at {self.frequency_hz:g} Hz, "
            f"every {self.slice_samples} samples; labels {', '.join(self.labels)}"
        )

    @property
    def slices_per_window(self) -> int:
        return math.ceil(self.window_samples / self.slice_samples)


@dataclass(frozen=True)
class Window:
    start_s: float
    end_s: float
    values: np.ndarray  # what one classify request carries


def file_windows(
    path: Path, impulse: Impulse, *, note: Callable[[str], None] = print
) -> list[Window]:
    """The windows of a .wav, .csv, .json or .cbor recording (the frame of a .jpg/.png for image
    impulses)."""
    from app.ingestion.errors import IngestionError

    data = Path(path).read_bytes()
    try:
        if impulse.image:
            return [_image_window(path, data, impulse)]
        if path.suffix.lower() in IMAGE_SUFFIXES:
            raise InputError(
                f"{path.name} is an image but the impulse classifies time series: "
                "give a .wav, .csv or .json recording"
            )
        from app.ingestion import decode_upload

        sample = decode_upload(
            data, filename=path.name, content_type=None, hmac_keys=[], reject_bad_signature=False
        )
    except IngestionError as exc:
        raise InputError(f"{path.name}: {exc}") from exc
    assert sample.values is not None  # image files were turned away above
    return _timeseries_windows(
        path, sample.values, sample.interval_ms, [s["name"] for s in sample.sensors], impulse, note
    )


def _timeseries_windows(
    path: Path,
    values: np.ndarray,
    interval_ms: float,
    names: list[str],
    impulse: Impulse,
    note: Callable[[str], None],
) -> list[Window]:
    from workers.dsp import TimeSeriesInput, make_windows
    from workers.dsp.params import DspError

    wanted = impulse.axis_names
    if wanted and all(a in names for a in wanted):
        axes = wanted  # by name, in the impulse's order
    elif len(names) == impulse.axes:
        axes = None  # in the file's order
    else:
        expected = f" ({', '.join(wanted)})" if wanted else ""
        raise InputError(
            f"{path.name} has {_axes(len(names))} ({', '.join(names)}) but the impulse takes "
            f"{_axes(impulse.axes)}{expected}"
        )
    if interval_ms <= 0:
        raise InputError(f"{path.name} is a single reading, not a recording over time")
    source_hz = 1000.0 / interval_ms
    if not math.isclose(source_hz, impulse.frequency_hz, rel_tol=1e-6):
        note(
            f"{path.name} is sampled at {source_hz:g} Hz: "
            f"resampled to the impulse's {impulse.frequency_hz:g} Hz"
        )
    f = impulse.frequency_hz
    spec = TimeSeriesInput(
        axes=axes,
        window_size_ms=impulse.window_samples * 1000.0 / f,
        window_increase_ms=impulse.slice_samples * 1000.0 / f,
        frequency_hz=f,
    )
    try:
        windows = make_windows(values, interval_ms=interval_ms, spec=spec, sensor_names=names)
    except DspError as exc:
        raise InputError(f"{path.name}: {exc}") from exc
    step = impulse.slice_samples / f
    return [
        Window(i * step, i * step + impulse.window_samples / f, w.ravel())
        for i, w in enumerate(windows)
    ]


def _axes(n: int) -> str:
    return f"{n} axis" if n == 1 else f"{n} axes"


def _image_window(path: Path, data: bytes, impulse: Impulse) -> Window:
    from app.ingestion.image import decode_image
    from workers.dsp import ImageInput
    from workers.dsp.windowing import prepare_image

    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"the impulse classifies images: give a .jpg or .png, not {path.name}")
    pixels, _ = decode_image(data)
    image = impulse.image or {}
    spec = ImageInput(
        width=image["width"],
        height=image["height"],
        resize_mode=image["resize_mode"],
        color_depth=image["color_depth"],
    )
    frame = prepare_image(pixels, spec=spec)
    return Window(0.0, 0.0, pack_pixels(frame.ravel(), frame.shape[2]))


def serial_slices(
    port: Serial, impulse: Impulse, *, warn: Callable[[str], None] = print
) -> Iterator[np.ndarray]:
    """Consecutive slices (`impulse.slice_samples` readings x axes) of what the device prints,
    forever. A line that is not numbers is skipped with a warning; another number of values per
    line, silence or a disconnect raise DeviceLost."""
    port.flush()
    timeout_s = max(1.0, 20.0 / impulse.frequency_hz)
    rows: list[list[float]] = []
    while True:
        line = port.read_line(timeout_s=timeout_s)
        if line is None:
            raise DeviceLost(f"the device on {port.path} stopped sending")
        values = parse_line(line)
        if values is None:
            warn(f"skipped a line that is not numbers: {line[:40]!r}")
            continue
        if len(values) != impulse.axes:
            raise DeviceLost(
                f"the device now sends {len(values)} values per line instead of {impulse.axes}"
            )
        rows.append(values)
        if len(rows) == impulse.slice_samples:
            yield np.asarray(rows, np.float32).ravel()
            rows = []
