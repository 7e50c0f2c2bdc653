"""Warnings about results that are not what they seem (workers/learn/checks.py)."""

from __future__ import annotations

import numpy as np

from workers.learn.checks import constant_prediction, evaluation_warnings, training_warnings
from workers.learn.evaluate import classification_metrics

LABELS = ["no", "yes"]


def _metrics(y, pred):
    scores = np.eye(2)[np.asarray(pred)] * 0.6 + 0.2
    return classification_metrics(np.asarray(y), scores, LABELS)


def _history(val_losses, losses):
    return [
        {"epoch": i + 1, "loss": t, "val_loss": v}
        for i, (v, t) in enumerate(zip(val_losses, losses, strict=True))
    ]


FALLING = _history([0.6, 0.5, 0.4, 0.35, 0.3], [0.7, 0.5, 0.4, 0.3, 0.2])


def test_a_good_model_has_no_warning():
    y = [0] * 10 + [1] * 10
    m = _metrics(y, y)
    assert training_warnings(FALLING, {"float32": m, "int8": m}, n_classes=2) == []
    assert evaluation_warnings({"int8": m}, {"int8": 0.95}, {"int8": m}) == []


def test_constant_model_at_chance():
    y = [0] * 4 + [1] * 16  # 80 % 'yes': always 'yes' scores 0.80
    m = _metrics(y, [1] * 20)
    assert constant_prediction(m) == "yes"
    w = training_warnings(FALLING, {"float32": m, "int8": m}, n_classes=2)
    assert any("at chance level (80.0 %" in x for x in w), w
    assert any("float32 model predicts 'yes' for every validation window" in x for x in w), w
    assert any("too small per class ('no' 4 windows" in x for x in w), w
    t = evaluation_warnings({"int8": m}, {"int8": 0.8}, {"int8": m})
    assert t == ["the int8 model predicts 'yes' for every test window: it ignores its input"]


def test_overfitting_and_test_far_below_validation():
    y = [0] * 10 + [1] * 10
    m = _metrics(y, y)
    rising = _history([0.5, 0.3, 0.35, 0.5, 0.7], [0.6, 0.4, 0.2, 0.1, 0.05])
    w = training_warnings(rising, {"float32": m}, n_classes=2)
    assert w == [
        "validation loss rose from 0.300 (epoch 2) to 0.700 (epoch 5) while the training loss "
        "fell from 0.400 to 0.050: the model is overfitting; try fewer epochs, "
        "early_stopping_patience, augmentation or more data"
    ]
    t = evaluation_warnings({"int8": m}, {"int8": 0.77}, {"int8": {"accuracy": 0.987}})
    assert len(t) == 1 and t[0].startswith(
        "int8 test accuracy 77.0 % is far below the validation accuracy 98.7 %"
    )
    assert training_warnings(FALLING, {}, n_classes=2)[0].startswith("no validation set")
