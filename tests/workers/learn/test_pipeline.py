"""train_and_quantize / evaluate_models: the whole learning job on features, as the Celery
task calls it."""

import numpy as np
import pytest

from workers.learn import LearnError, TrainSettings
from workers.learn.pipeline import evaluate_models, train_and_quantize


def features(n_per_class, *, seed):
    """(frames, coefficients) features of two 'words' differing in where their energy sits."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (2 * n_per_class, 10, 4)).astype(np.float32)
    X[:n_per_class, :5, :2] += 3.0
    X[n_per_class:, 5:, 2:] += 3.0
    return X, np.repeat([0, 1], n_per_class)


def test_train_and_quantize_then_test():
    X, y = features(60, seed=1)
    layers = [
        {"type": "reshape", "shape": [10, 4, 1]},
        {"type": "conv2d", "filters": 4},
        {"type": "global_avg_pool"},
    ]
    epochs_seen = []
    trained = train_and_quantize(
        X,
        y,
        labels=["yes", "no"],
        layers=layers,
        settings=TrainSettings(epochs=8, learning_rate=0.02),
        on_epoch=lambda e, m: epochs_seen.append(e),
    )
    assert epochs_seen == list(range(1, 9))
    assert trained.io["input"]["dtype"] == "int8" and trained.io["output"]["dtype"] == "int8"
    assert trained.card["operators"] == [
        "RESHAPE",
        "CONV_2D",
        "AVERAGE_POOL_2D",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ]
    assert set(trained.validation) == {"float32", "int8"}
    assert trained.validation["float32"]["accuracy"] >= 0.9
    assert (
        abs(trained.validation["int8"]["accuracy"] - trained.validation["float32"]["accuracy"])
        <= 0.05
    )
    assert set(trained.stages_s) == {"train", "quantize", "evaluate"}

    X_test, y_test = features(20, seed=2)
    names = np.array(["yes", "no"])[y_test]
    results = evaluate_models(
        {"float32": trained.float32_tflite, "int8": trained.int8_tflite},
        X_test,
        names,
        labels=["yes", "no"],
    )
    assert results["int8"]["accuracy"] >= 0.9
    with pytest.raises(
        LearnError, match=r"label\(s\) 'maybe' not among the model's labels \(yes, no\)"
    ):
        evaluate_models(
            {"int8": trained.int8_tflite}, X_test, ["maybe"] + list(names[1:]), labels=["yes", "no"]
        )
    with pytest.raises(LearnError, match="no test features"):
        evaluate_models(
            {"int8": trained.int8_tflite}, np.zeros((0, 10, 4)), [], labels=["yes", "no"]
        )


def test_unsupported_op_fails_early_and_clearly():
    X, y = features(30, seed=3)
    with pytest.raises(LearnError, match="does not support: SOFTMAX"):
        train_and_quantize(
            X,
            y,
            labels=["yes", "no"],
            layers=[{"type": "flatten"}],
            settings=TrainSettings(epochs=1),
            supported_ops={"FULLY_CONNECTED", "RESHAPE"},
        )


def test_regression_pipeline_reports_mae_for_both_models():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (240, 3)).astype(np.float32)
    y = (2 * X[:, 0] - X[:, 1]).astype(np.float32)
    trained = train_and_quantize(
        X,
        y,
        labels=None,
        layers=[{"type": "dense", "units": 16}],
        settings=TrainSettings(epochs=20, learning_rate=0.02, task="regression"),
    )
    assert trained.result.labels == ["value"]
    assert trained.validation["float32"]["mae"] < 0.3
    # int8 adds at most a few output quantization steps of error
    assert trained.validation["int8"]["mae"] < trained.validation["float32"]["mae"] + 0.1
