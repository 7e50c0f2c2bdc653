"""One candidate, end to end: screening before training, and a trial (features → train →
float32 + int8 → validation accuracy of both by TFLite Micro → profile of the impulse, DSP and
network, on the board).

The data a tuner works on is a `TuneData`: the project's training samples as arrays (one per
sample) with their labels and a group per sample (a metadata value such as the speaker, or the
sample itself), so the validation split is by sample, never by window.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workers.tune import cost
from workers.tune.space import SpaceError, impulse_for

# a trial's profile on the board: the impulse's latency (DSP + network) and its two parts, the
# impulse's RAM and flash (window, DSP, model)
PROFILE_KEYS = ("latency_ms", "dsp_latency_ms", "nn_latency_ms", "ram_bytes", "flash_bytes")


@dataclass
class TuneData:
    kind: str  # motion | audio | image
    arrays: list[np.ndarray]  # time series [rows, axes] or image [h, w, c] uint8, one per sample
    labels: list[str]
    groups: list[str]  # per sample: the validation-split key's value (or the sample id)
    interval_ms: list[float] = field(default_factory=list)  # time series only
    sensors: list[str] | None = None
    split_key: str = "sample"

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))

    @property
    def source_hz(self) -> float | None:
        if self.kind == "image" or not self.interval_ms:
            return None
        return round(1000.0 / float(np.median(self.interval_ms)), 6)

    @property
    def n_axes(self) -> int:
        return 1 if self.kind == "image" else int(self.arrays[0].shape[1])

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        arrays = {f"a{i}": a for i, a in enumerate(self.arrays)}
        np.savez_compressed(
            buf,
            kind=np.array(self.kind),
            labels=np.array(self.labels),
            groups=np.array(self.groups),
            interval_ms=np.array(self.interval_ms, np.float64),
            sensors=np.array(self.sensors or []),
            split_key=np.array(self.split_key),
            **arrays,  # type: ignore[arg-type]
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TuneData:
        z = np.load(io.BytesIO(data), allow_pickle=False)
        n = len(z["labels"])
        return cls(
            kind=str(z["kind"]),
            arrays=[z[f"a{i}"] for i in range(n)],
            labels=[str(s) for s in z["labels"]],
            groups=[str(s) for s in z["groups"]],
            interval_ms=[float(v) for v in z["interval_ms"]],
            sensors=[str(s) for s in z["sensors"]] or None,
            split_key=str(z["split_key"]),
        )


def check_data(data: TuneData) -> None:
    """ValueError with the reason when a tuner cannot run on this data (the API makes it 409)."""
    if not data.arrays:
        raise ValueError("the project has no labelled training samples: the tuner needs labels")
    if any(not lab for lab in data.labels):
        raise ValueError("some training samples have no label: the tuner needs every label")
    if len(data.classes) < 2:
        raise ValueError(
            f"the training data has one class ({data.classes[0]!r}): a classifier needs two or more"
        )
    if len(set(data.groups)) < 2:
        raise ValueError(
            f"every sample has the same {data.split_key!r}: the validation split needs two or more"
        )


def _windows(data: TuneData, inp: dict[str, Any]) -> tuple[list[np.ndarray], list[int]]:
    from workers.dsp import (
        DspError,
        ImageInput,
        ParamError,
        TimeSeriesInput,
        make_windows,
        prepare_image,
    )

    out, owners = [], []
    for i, arr in enumerate(data.arrays):
        try:
            if inp["type"] == "image":
                image_spec = ImageInput(
                    width=inp["width"],
                    height=inp["height"],
                    resize_mode=inp["resize_mode"],
                    color_depth=inp["color_depth"],
                )
                w = prepare_image(arr, spec=image_spec)[None]
            else:
                spec = TimeSeriesInput(
                    axes=None,
                    window_size_ms=inp["window_size_ms"],
                    window_increase_ms=inp["window_increase_ms"],
                    frequency_hz=inp["frequency_hz"],
                    pad_short=inp.get("pad_short", True),
                )
                w = make_windows(arr, interval_ms=data.interval_ms[i], spec=spec)
        except (DspError, ParamError):
            continue
        out.append(w)
        owners.append(i)
    return out, owners


def features(data: TuneData, impulse: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X shaped [n, *feature_shape], label names per row, group per row) for an impulse."""
    from workers.dsp import get_block

    windows, owners = _windows(data, impulse["input"])
    if not windows:
        raise ValueError("no sample could be windowed with this input block")
    block = get_block(impulse["dsp"]["block"])
    stacked = np.concatenate(windows)
    freq = impulse["input"].get("frequency_hz", 0.0)
    out = block.run(stacked, frequency_hz=freq, params=impulse["dsp"]["params"])
    X = out.features.reshape((len(stacked), *out.shape)).astype(np.float32)
    counts = [len(w) for w in windows]
    y = np.repeat(np.array([data.labels[i] for i in owners]), counts)
    groups = np.repeat(np.array([data.groups[i] for i in owners]), counts)
    return X, y, groups


def untrained_int8(layers: Any, *, input_shape: Sequence[int], n_classes: int, seed: int = 0):
    """An untrained model's full-int8 .tflite, calibrated on random data: enough for the size
    and latency estimate (weights' values do not change either)."""
    import keras

    from workers.learn import build_keras_model
    from workers.learn.quantize import to_tflite

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build_keras_model(layers, input_shape=list(input_shape), n_outputs=n_classes)
    rep = np.random.default_rng(seed).normal(size=(16, *input_shape)).astype(np.float32)
    return to_tflite(model, representative=rep, int8=True)


@dataclass
class Screened:
    point: dict[str, Any]
    impulse: dict[str, Any] | None
    profile: dict[str, Any] | None
    reason: str | None  # why it is skipped (None: it fits)

    @property
    def fits(self) -> bool:
        return self.reason is None


def screen(
    point: dict[str, Any],
    *,
    kind: str,
    source_hz: float | None,
    n_axes: int,
    n_classes: int,
    limits: cost.Limits,
) -> Screened:
    """Build the candidate's untrained int8 model and estimate it on the board: a candidate that
    cannot fit (or cannot be built) is skipped with the reason, before any training."""
    try:
        impulse = impulse_for(kind, point, source_hz=source_hz, n_axes=n_axes)
    except SpaceError as exc:
        return Screened(point, None, None, f"invalid combination: {exc}")
    try:
        tfl = untrained_int8(
            impulse["learn"]["layers"], input_shape=impulse["feature_shape"], n_classes=n_classes
        )
        profile = cost.candidate_cost(tfl, impulse, board=limits.board, n_axes=n_axes)
    except ValueError as exc:
        return Screened(point, impulse, None, f"cannot be built: {exc}")
    bad = cost.violations(profile, limits)
    return Screened(point, impulse, profile, "; ".join(bad) if bad else None)


def run_trial(
    data: TuneData,
    impulse: dict[str, Any],
    *,
    epochs: int,
    board: str,
    seed: int = 1,
    validation_split: float = 0.2,
    should_stop: Callable[[], bool] | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train the candidate for `epochs`; float32 and int8 validation accuracy (TFLite Micro) on
    a split by group, and the int8 model's profile on `board`."""
    from workers.learn import TrainSettings
    from workers.learn.pipeline import train_and_quantize

    t0 = time.perf_counter()
    X, y, groups = features(data, impulse)
    settings = TrainSettings(
        epochs=int(epochs),
        seed=int(seed),
        validation_split=validation_split,
        split_by_metadata=data.split_key,
    )
    models = train_and_quantize(
        X,
        y,
        labels=data.classes,
        layers=impulse["learn"]["layers"],
        settings=settings,
        groups=groups,
        should_stop=should_stop,
        on_epoch=on_epoch,
    )
    profile = cost.candidate_cost(models.int8_tflite, impulse, board=board, n_axes=data.n_axes)
    return {
        "accuracy": {
            "float32": models.validation["float32"]["accuracy"],
            "int8": models.validation["int8"]["accuracy"],
        },
        "profile": {k: profile[k] for k in PROFILE_KEYS},
        "epochs": int(epochs),
        "windows": {
            "train": len(models.result.train_indices),
            "validation": len(models.result.validation_indices),
        },
        "seconds": round(time.perf_counter() - t0, 2),
        "int8_tflite": models.int8_tflite,
    }


def test_accuracy(data: TuneData, impulse: dict[str, Any], tflite: bytes) -> float:
    """Accuracy of a trained .tflite (int8 or float32) on held-out data, by TFLite Micro."""
    from workers.learn.evaluate import classification_metrics, predict_tflite

    X, y, _ = features(data, impulse)
    scores = predict_tflite(tflite, X)
    return float(classification_metrics(y, scores, sorted(set(data.labels) | set(y)))["accuracy"])


def load_fsdd(folder: Any, *, speakers: Sequence[str] | None = None, per_digit: int | None = None):
    """(train, test) TuneData of the Free Spoken Digit Dataset in `folder`
    (`{digit}_{speaker}_{index}.wav`, index 0-4 is the test set), grouped by speaker."""
    from pathlib import Path

    from scipy.io import wavfile

    train: dict[str, list] = {"arrays": [], "labels": [], "groups": [], "interval_ms": []}
    test: dict[str, list] = {"arrays": [], "labels": [], "groups": [], "interval_ms": []}
    for f in sorted(Path(folder).glob("*.wav")):
        digit, speaker, index = f.stem.split("_")
        if speakers and speaker not in speakers:
            continue
        if per_digit is not None and int(index) >= 5 + per_digit:
            continue
        rate, pcm = wavfile.read(f)
        part = test if int(index) <= 4 else train
        part["arrays"].append(np.asarray(pcm, np.float32).reshape(-1, 1))
        part["labels"].append(digit)
        part["groups"].append(speaker)
        part["interval_ms"].append(1000.0 / rate)
    return (
        TuneData("audio", sensors=["audio"], split_key="speaker", **train),
        TuneData("audio", sensors=["audio"], split_key="speaker", **test),
    )
