"""Warnings about results that look better, or worse, than they are (pure: history and metrics in,
sentences out). The training and test jobs log them and the pages show them."""

from __future__ import annotations

from typing import Any

MIN_VALIDATION_PER_CLASS = 5  # windows of a class below which its validation accuracy says little
CHANCE_MARGIN = 0.05  # accuracy within this of the majority-class share counts as chance
OVERFIT_RATIO = 1.25  # final validation loss this far above its best, training loss still falling
TEST_GAP = 0.10  # test accuracy this far below validation


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def constant_prediction(metrics: dict[str, Any]) -> str | None:
    """The label a model predicts for every window of `metrics` (a classification_metrics
    result), or None when it predicts at least two."""
    cm = metrics.get("confusion_matrix") or []
    labels = metrics.get("labels") or []
    if not cm or metrics.get("n", 0) < 2 or len(labels) < 2:
        return None
    predicted = [j for j in range(len(labels)) if any(row[j] for row in cm)]
    return labels[predicted[0]] if len(predicted) == 1 else None


def training_warnings(
    history: list[dict[str, float]], validation: dict[str, Any], *, n_classes: int
) -> list[str]:
    """Warnings about a classifier's training: validation at chance level, a validation set
    too small per class, validation loss rising while training loss falls, constant predictions."""
    out: list[str] = []
    v = validation.get("float32") or {}
    if not v:
        return ["no validation set: nothing tells how the model does on data it did not see"]
    rows = [sum(r) for r in v.get("confusion_matrix", [])]
    n = sum(rows)
    if n:
        majority = max(rows) / n
        chance = max(majority, 1 / max(n_classes, 1))
        if v["accuracy"] <= chance + CHANCE_MARGIN:
            out.append(
                f"validation accuracy {_pct(v['accuracy'])} is at chance level ({_pct(chance)} "
                f"by always answering the most common class of {n_classes}): the model has not "
                "learnt anything that carries over to new samples"
            )
    small = {
        name: c["support"]
        for name, c in (v.get("per_class") or {}).items()
        if c["support"] < MIN_VALIDATION_PER_CLASS
    }
    if small:
        listed = ", ".join(f"'{k}' {n}" for k, n in sorted(small.items()))
        out.append(
            f"the validation set is too small per class ({listed} windows; fewer than "
            f"{MIN_VALIDATION_PER_CLASS}): its accuracy says little; add samples or raise "
            "validation_split"
        )
    with_val = [h for h in history if "val_loss" in h]
    if len(with_val) >= 4:
        best = min(with_val, key=lambda h: h["val_loss"])
        last = with_val[-1]
        if (
            last["epoch"] > best["epoch"]
            and last["val_loss"] > OVERFIT_RATIO * best["val_loss"] + 1e-3
            and last["loss"] < best["loss"]
        ):
            out.append(
                f"validation loss rose from {best['val_loss']:.3f} (epoch {int(best['epoch'])}) to "
                f"{last['val_loss']:.3f} (epoch {int(last['epoch'])}) while the training loss fell "
                f"from {best['loss']:.3f} to {last['loss']:.3f}: the model is overfitting; try "
                "fewer epochs, early_stopping_patience, augmentation or more data"
            )
    for name in ("float32", "int8"):
        label = constant_prediction(validation.get(name) or {})
        if label is not None:
            out.append(
                f"the {name} model predicts '{label}' for every validation window: it ignores "
                "its input"
            )
    return out


def evaluation_warnings(
    per_window: dict[str, dict[str, Any]], accuracy: dict[str, float], validation: dict[str, Any]
) -> list[str]:
    """Warnings about a classifier's test: constant predictions, test accuracy far below the
    validation accuracy training reported."""
    out: list[str] = []
    for name, metrics in per_window.items():
        label = constant_prediction(metrics)
        if label is not None:
            out.append(
                f"the {name} model predicts '{label}' for every test window: it ignores its input"
            )
    for name, acc in accuracy.items():
        val = (validation.get(name) or {}).get("accuracy")
        if val is not None and acc < val - TEST_GAP:
            out.append(
                f"{name} test accuracy {_pct(acc)} is far below the validation accuracy "
                f"{_pct(val)}: the test data differs from what validation saw (another speaker, "
                "subject or device?); split validation by that metadata key"
            )
    return out
