"""A small real impulse for the Linux runner tests, trained once per test session: spectral features
of the synthetic motion data set, a dense int8 classifier and a K-means anomaly block. "The
platform" is the Python pipeline the platform classifies with (workers.dsp features, the TFLite
Micro interpreter, workers.learn.anomaly)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.synthetic import MOTION_LABELS, motion_dataset
from workers.deploy.package import ImpulseSpec
from workers.dsp import TimeSeriesInput, get_block, make_windows

FREQ, WINDOW, SLICE, INTERVAL_MS = 62.5, 63, 31, 16.0  # 1 s windows every 0.5 s of 16 ms readings
AXES = ["accX", "accY", "accZ"]
LABELS = list(MOTION_LABELS)
SPEC = TimeSeriesInput(axes=None, window_size_ms=1000, window_increase_ms=500, frequency_hz=FREQ)


@dataclass(frozen=True)
class MotionImpulse:
    tflite: bytes
    spec: ImpulseSpec
    kmeans: dict[str, Any]
    windows: np.ndarray  # the test windows
    expected: np.ndarray  # the platform's scores on them
    anomaly: np.ndarray  # the platform's anomaly scores on them
    model_inputs: np.ndarray  # their features, quantized as the model takes them

    def platform_scores(self, windows: np.ndarray) -> np.ndarray:
        from workers.learn.evaluate import predict_tflite

        return predict_tflite(self.tflite, _features(windows), engine="tflm")


def windows_of(samples: list[tuple[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    out, labels = [], []
    for label, values in samples:
        w = make_windows(values, interval_ms=INTERVAL_MS, spec=SPEC)
        out.append(w)
        labels += [LABELS.index(label)] * len(w)
    return np.concatenate(out).astype(np.float32), np.array(labels)


def _features(windows: np.ndarray) -> np.ndarray:
    block = get_block("spectral")
    return block.run(windows, frequency_hz=FREQ, params=block.validate({})).features


@functools.cache
def motion_impulse() -> MotionImpulse:
    from workers.learn import TrainSettings, anomaly
    from workers.learn.evaluate import predict_tflite, quantize_input
    from workers.learn.pipeline import train_and_quantize

    train_w, train_y = windows_of(motion_dataset(6, seed=5))
    test_w, _ = windows_of(motion_dataset(2, seed=6))
    x_train, x_test = _features(train_w), _features(test_w)
    trained = train_and_quantize(
        x_train,
        train_y,
        labels=LABELS,
        layers=[{"type": "dense", "units": 16}],
        settings=TrainSettings(epochs=30, seed=3),
    )
    kmeans = anomaly.fit_kmeans(x_train, n_clusters=4)
    io_ = trained.io["input"]
    spec = ImpulseSpec(
        labels=LABELS,
        dsp_block="spectral",
        dsp_params=get_block("spectral").validate({}),
        window_samples=WINDOW,
        axes=AXES,
        frequency_hz=FREQ,
        slice_samples=SLICE,
        anomaly=kmeans,
        title="motion",
    )
    return MotionImpulse(
        tflite=trained.int8_tflite,
        spec=spec,
        kmeans=kmeans,
        windows=test_w,
        expected=predict_tflite(trained.int8_tflite, x_test, engine="tflm"),
        anomaly=anomaly.score_kmeans(kmeans, x_test),
        model_inputs=quantize_input(x_test, scale=io_["scale"], zero_point=io_["zero_point"]),
    )
