"""The learning block's whole job on feature matrices: train, convert to float32 and int8
.tflite, and evaluate both with the TFLite Micro interpreter. The Celery task calls this
and stores what it returns; it needs no database."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workers.learn.errors import LearnError
from workers.learn.evaluate import classification_metrics, predict_tflite, regression_metrics
from workers.learn.quantize import model_card, require_supported_ops, tflite_io_details, to_tflite
from workers.learn.training import (
    TrainResult,
    TrainSettings,
    check_training_data,
    representative_sample,
    train,
)


@dataclass
class TrainedModels:
    result: TrainResult
    float32_tflite: bytes
    int8_tflite: bytes
    validation: dict[
        str, Any
    ]  # {"float32": metrics, "int8": metrics} on the validation split, via TFLite Micro
    card: dict[str, Any]  # model card of the int8 model (+ keras parameter count)
    io: dict[str, Any]  # int8 input/output details: shape, dtype, scale, zero_point
    stages_s: dict[str, float] = field(default_factory=dict)


def train_and_quantize(
    X: Any,
    y: Any,
    *,
    labels: Sequence[str] | None,
    layers: Any,
    settings: TrainSettings | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    groups: Any = None,
    supported_ops: set[str] | None = None,
    max_representative: int = 500,
    engine: str = "tflm",
) -> TrainedModels:
    """Train, then produce the float32 and full-int8 .tflite (representative data drawn from
    the training split) and their validation metrics. With `supported_ops`, fail with a
    clear `LearnError` when the int8 model uses an operator the deployment compiler lacks."""
    settings = settings or TrainSettings()
    stages: dict[str, float] = {}
    t = time.perf_counter()
    result = train(
        X,
        y,
        labels=labels,
        layers=layers,
        settings=settings,
        on_epoch=on_epoch,
        should_stop=should_stop,
        groups=groups,
    )
    stages["train"] = time.perf_counter() - t
    X, y = check_training_data(X, y, labels=labels, task=settings.task)

    t = time.perf_counter()
    float_bytes = to_tflite(result.model, int8=False)
    rep = representative_sample(
        X[result.train_indices], max_samples=max_representative, seed=settings.seed
    )
    int8_bytes = to_tflite(result.model, representative=rep, int8=True)
    stages["quantize"] = time.perf_counter() - t
    if supported_ops is not None:
        require_supported_ops(int8_bytes, supported_ops=supported_ops)

    t = time.perf_counter()
    validation: dict[str, Any] = {}
    if len(result.validation_indices):
        X_val, y_val = X[result.validation_indices], y[result.validation_indices]
        validation = evaluate_models(
            {"float32": float_bytes, "int8": int8_bytes},
            X_val,
            y_val,
            labels=result.labels,
            task=settings.task,
            engine=engine,
        )
    stages["evaluate"] = time.perf_counter() - t
    return TrainedModels(
        result=result,
        float32_tflite=float_bytes,
        int8_tflite=int8_bytes,
        validation=validation,
        card=model_card(int8_bytes, result.model),
        io=tflite_io_details(int8_bytes),
        stages_s=stages,
    )


def evaluate_models(
    models: dict[str, bytes],
    X: Any,
    y: Any,
    *,
    labels: Sequence[str],
    task: str = "classification",
    engine: str = "tflm",
) -> dict[str, Any]:
    """Metrics of each .tflite in `models` (name → bytes) on (X, y). Classification targets
    may be label names; a name the model does not know is a `LearnError`."""
    X = np.asarray(X)
    if X.size == 0:
        raise LearnError("no test features: generate features for the testing data first")
    out: dict[str, Any] = {}
    for name, data in models.items():
        scores = predict_tflite(data, X, engine=engine)
        if task == "classification":
            out[name] = classification_metrics(y, scores, labels)
        else:
            out[name] = regression_metrics(y, scores)
    return out
