"""Training a Keras model on a feature matrix: settings, validation split, augmentation,
class weighting, early stopping with best-weights restore, progress and cancellation.

Reproducible: the same seed and the same data give the same metrics (Keras' global seed,
TensorFlow op determinism, a NumPy generator for the split and the augmentation).
TensorFlow is imported inside the functions that need it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from workers.learn.architectures import TASKS, build_keras_model, validate_architecture
from workers.learn.errors import LearnError, TrainingCancelled

AUGMENTATIONS: dict[str, tuple[str, float, float, str]] = {
    # name: (kind, minimum, maximum, help)
    "noise_std": (
        "float",
        0.0,
        5.0,
        "audio: Gaussian noise added to every feature, in units of that feature's std",
    ),
    "time_mask_max_frames": (
        "int",
        0,
        1000,
        "audio: zero (to the mean) up to this many consecutive frames (axis 0)",
    ),
    "freq_mask_max_bins": (
        "int",
        0,
        1000,
        "audio: zero (to the mean) up to this many consecutive coefficients (axis 1)",
    ),
    "flip_horizontal": ("bool", 0, 1, "image: mirror left-right with probability 0.5"),
    "crop_fraction": (
        "float",
        0.0,
        0.5,
        "image: random crop of up to this fraction per side, resized back (nearest)",
    ),
    "brightness_delta": (
        "float",
        0.0,
        1.0,
        "image: add a random offset in [-delta, delta] times the data range",
    ),
}


LR_SCHEDULES = ("cosine", "constant")


def epoch_learning_rate(settings: TrainSettings, epoch: int) -> float:
    """Learning rate for the 0-based `epoch`: constant, or a cosine decay from
    `learning_rate` (first epoch) towards zero (after the last)."""
    if settings.learning_rate_schedule == "constant":
        return settings.learning_rate
    return settings.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / settings.epochs))


# Each training setting declared once: kind, minimum, maximum, choices, help. Drives
# `TrainSettings.validate` and `train_settings_schema` (API schema, dashboard form).
SETTINGS: dict[str, dict[str, Any]] = {
    "epochs": {"kind": "int", "minimum": 1, "maximum": 10_000, "help": "training cycles"},
    "learning_rate": {
        "kind": "float",
        "minimum": 0.0,
        "exclusive_minimum": True,
        "maximum": 10.0,
        "help": "Adam learning rate (of the first epoch with the cosine schedule)",
    },
    "learning_rate_schedule": {
        "kind": "choice",
        "choices": LR_SCHEDULES,
        "help": "cosine: decays per epoch towards zero at the end; constant: fixed",
    },
    "batch_size": {"kind": "int", "minimum": 1, "maximum": 65_536, "help": "samples per step"},
    "validation_split": {
        "kind": "float",
        "minimum": 0.0,
        "maximum": 0.9,
        "help": "fraction of the training data held out for validation (whole samples, "
        "stratified per class)",
    },
    "split_by_metadata": {
        "kind": "str",
        "optional": True,
        "help": "metadata key (speaker, subject, device): keep all samples with one value on the "
        "same side of the split; default: such a key when every sample has one",
    },
    "class_weighting": {"kind": "bool", "help": "weight the loss by inverse class frequency"},
    "early_stopping_patience": {
        "kind": "int",
        "minimum": 1,
        "maximum": 10_000,
        "optional": True,
        "help": "stop after this many epochs without a lower validation loss; restore the best",
    },
    "seed": {
        "kind": "int",
        "minimum": 0,
        "maximum": 2**31 - 1,
        "help": "same seed + same data = same model",
    },
    "augmentation": {"kind": "augmentation", "help": "see AUGMENTATIONS"},
    "task": {"kind": "choice", "choices": TASKS, "help": "classification or regression"},
}


@dataclass
class TrainSettings:
    """How to train. Every field has a default that works; `from_dict` validates user input
    (each field is declared in `SETTINGS`)."""

    epochs: int = 40
    learning_rate: float = 0.005
    learning_rate_schedule: str = "cosine"
    batch_size: int = 32
    validation_split: float = 0.2
    split_by_metadata: str | None = None  # the metadata key whose values become `groups`
    class_weighting: bool = False
    early_stopping_patience: int | None = None  # restores the best epoch's weights
    seed: int = 1
    augmentation: dict[str, Any] = field(default_factory=dict)
    task: str = "classification"

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TrainSettings:
        data = dict(data or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise LearnError(
                f"unknown training setting '{unknown[0]}' (known: {', '.join(sorted(names))})"
            )
        settings = cls(**data)
        settings.validate()
        return settings

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> None:
        for name, spec in SETTINGS.items():
            _check_value(f"training setting '{name}'", getattr(self, name), spec)
        for name, value in self.augmentation.items():
            if name not in AUGMENTATIONS:
                raise LearnError(
                    f"unknown augmentation '{name}' (known: {', '.join(AUGMENTATIONS)})"
                )
            kind, lo, hi, _ = AUGMENTATIONS[name]
            spec = {"kind": kind, "minimum": lo, "maximum": hi}
            _check_value(f"augmentation '{name}'", value, spec)


def _check_value(what: str, value: Any, spec: dict[str, Any]) -> None:
    kind = spec["kind"]
    if value is None:
        if spec.get("optional"):
            return
        raise LearnError(f"{what} is required")
    if kind == "bool":
        if not isinstance(value, bool):
            raise LearnError(f"{what} must be true or false, got {value!r}")
    elif kind in ("int", "float"):
        lo, hi = spec["minimum"], spec["maximum"]
        ok = isinstance(value, int) if kind == "int" else isinstance(value, int | float)
        ok = ok and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            ok = (lo < value) if spec.get("exclusive_minimum") else (lo <= value)
            ok = ok and value <= hi
        if not ok:
            noun = "an integer" if kind == "int" else "a number"
            bracket = "(" if spec.get("exclusive_minimum") else "["
            raise LearnError(f"{what} must be {noun} in {bracket}{lo}, {hi}], got {value!r}")
    elif kind == "choice":
        if value not in spec["choices"]:
            raise LearnError(f"{what} must be one of {', '.join(spec['choices'])}, got {value!r}")
    elif kind == "str":
        if not isinstance(value, str) or not value:
            raise LearnError(f"{what} must be a non-empty string, got {value!r}")
    elif kind == "augmentation" and not isinstance(value, dict):
        raise LearnError(f"{what} must be an object, got {value!r}")


def train_settings_schema() -> dict[str, Any]:
    """The training settings and augmentations as JSON-able data, with their defaults."""
    defaults = TrainSettings().as_dict()
    out: dict[str, Any] = {}
    for name, spec in SETTINGS.items():
        entry = {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.items()}
        entry["default"] = defaults[name]
        out[name] = entry
    out["augmentation"]["options"] = {
        name: {"kind": kind, "minimum": lo, "maximum": hi, "help": help_text}
        for name, (kind, lo, hi, help_text) in AUGMENTATIONS.items()
    }
    return out


@dataclass
class TrainResult:
    model: Any  # keras.Model with the best (or last) weights
    labels: list[str]
    history: list[
        dict[str, float]
    ]  # one dict per completed epoch: epoch, loss, accuracy|mae, val_*
    validation: dict[str, Any]  # float32 metrics on the validation set (empty when there is none)
    train_indices: np.ndarray
    validation_indices: np.ndarray
    best_epoch: int  # 1-based epoch whose weights the model holds
    input_shape: tuple[int, ...]
    settings: TrainSettings
    seconds: float


# --------------------------------------------------------------------------- input checks


def check_training_data(
    X: Any, y: Any, *, labels: Sequence[str] | None, task: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate features and targets; return them as float32 X and int64 (or float32) y."""
    if X is None:
        raise LearnError("no features: generate features for the impulse before training")
    X = np.asarray(X)
    if X.size == 0 or X.ndim < 2 or X.shape[0] == 0:
        raise LearnError("no features: generate features for the impulse before training")
    if not np.issubdtype(X.dtype, np.number):
        raise LearnError(f"features must be numbers, got dtype {X.dtype}")
    X = X.astype(np.float32, copy=False)
    bad = ~np.isfinite(X).reshape(len(X), -1).all(axis=1)
    if bad.any():
        raise LearnError(
            f"{int(bad.sum())} feature vector(s) contain NaN or infinity (first: row "
            f"{int(np.argmax(bad))})"
        )
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise LearnError(f"{X.shape[0]} feature vectors but {y.shape[0]} targets")
    if task == "classification":
        if not labels or len(labels) < 2:
            raise LearnError(
                f"classification needs at least two classes, got labels {list(labels or [])!r}"
            )
        if len(set(labels)) != len(labels):
            raise LearnError(f"duplicate labels in {list(labels)!r}")
        if y.dtype.kind in "USO":
            y = label_indices(y, labels)
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise LearnError("classification targets must be class indices or label names")
        if y.min() < 0 or y.max() >= len(labels):
            raise LearnError(f"class index out of range 0..{len(labels) - 1}")
        present = np.unique(y)
        if len(present) < 2:
            raise LearnError(
                f"only one class ('{labels[int(present[0])]}') in the training data; "
                "classification needs samples of at least two classes"
            )
        return X, y.astype(np.int64)
    if y.dtype.kind not in "iuf":
        raise LearnError(f"regression targets must be numbers, got dtype {y.dtype}")
    y = y.astype(np.float32)
    if not np.isfinite(y).all():
        raise LearnError("regression targets contain NaN or infinity")
    return X, y


def label_indices(names: Any, labels: Sequence[str]) -> np.ndarray:
    """Map label names to class indices; `LearnError` names every label the model does not know."""
    index = {name: i for i, name in enumerate(labels)}
    names = [str(n) for n in np.asarray(names).ravel()]
    unknown = sorted({n for n in names if n not in index})
    if unknown:
        raise LearnError(
            f"label(s) {', '.join(repr(u) for u in unknown)} not among the model's labels "
            f"({', '.join(labels)})"
        )
    return np.array([index[n] for n in names], dtype=np.int64)


# --------------------------------------------------------------------------- split


# Metadata keys that name who or what recorded a sample: windows, and samples, of one speaker
# (subject, device, ...) resemble each other more than a new one will, so validation keeps them
# apart.
GROUP_KEYS = ("speaker", "subject", "participant", "person", "user", "patient", "device", "session")


def sample_groups(sample_ids: Sequence[int]) -> np.ndarray:
    """Per row, the group a split by sample keeps together: its sample's rank among the distinct
    ids, zero-padded, not the id itself. The split then depends on the samples' order only (ids as
    strings sort "10" before "9"), so a project restored from a version (new ids, same order)
    splits the same way with the same seed, and so does the tuner, which groups the same samples
    before it makes windows."""
    rank = {sid: r for r, sid in enumerate(sorted({int(i) for i in sample_ids}))}
    return np.array([f"{rank[int(i)]:09d}" for i in sample_ids])


def suggest_split_key(metadata: Sequence[dict[str, Any] | None]) -> str | None:
    """The metadata key to split validation by, when the samples carry one: the first of
    `GROUP_KEYS` (any case) that every sample has, non-empty, with at least two values."""
    if not metadata:
        return None
    present: dict[str, str] = {}  # lower-case name -> the key as spelled in the first sample
    for key in metadata[0] or {}:
        present.setdefault(str(key).lower(), str(key))
    for name in GROUP_KEYS:
        spelled = present.get(name)
        if spelled is None:
            continue
        values = [str((m or {}).get(spelled, "")).strip() for m in metadata]
        if all(values) and len(set(values)) >= 2:
            return spelled
    return None


def split_indices(
    y: np.ndarray, *, validation_split: float, seed: int, task: str, groups: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic train/validation split.

    Without groups (every row its own sample): classification is stratified (every class keeps
    about `validation_split` of its rows in validation, at least one when it has two or more).
    With `groups` (the sample each window came from, or the values of a metadata key): whole
    groups go to one side. When every group holds one class (windows of one sample) the groups
    are stratified per class the same way; otherwise groups are chosen at random until about
    `validation_split` of the rows are in validation.
    """
    n = len(y)
    rng = np.random.default_rng(seed)
    if validation_split <= 0:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape[0] != n:
            raise LearnError(
                f"{n} feature vectors but {groups.shape[0]} metadata values to split by"
            )
        group_str = groups.astype(str)
        keys, inverse = np.unique(group_str, return_inverse=True)
        if len(keys) < 2:
            raise LearnError(
                f"cannot split by metadata: every sample has the same value ({keys[0]!r}); "
                "need at least two"
            )
        if task == "classification" and len(np.unique(np.stack([inverse, y]), axis=1)[0]) == len(
            keys
        ):  # one class per group: stratify the groups
            val_groups: list[int] = []
            group_class = np.zeros(len(keys), dtype=y.dtype)
            group_class[inverse] = y
            sizes = np.bincount(inverse, minlength=len(keys))
            for c in np.unique(y):
                members = np.flatnonzero(group_class == c)
                members = members[rng.permutation(len(members))]
                target, taken = validation_split * sizes[members].sum(), 0
                for g in members[:-1]:  # at least one group of the class stays in training
                    if taken >= target or (taken and taken + sizes[g] / 2 > target):
                        break
                    val_groups.append(int(g))
                    taken += sizes[g]
            val_mask = np.isin(inverse, val_groups)
            return np.flatnonzero(~val_mask), np.flatnonzero(val_mask)
        order = rng.permutation(len(keys))
        val_mask = np.zeros(n, dtype=bool)
        target = validation_split * n
        for k in order[:-1]:  # never put every group in validation
            if val_mask.sum() >= target:
                break
            val_mask |= group_str == keys[k]
        if not val_mask.any():
            val_mask |= group_str == keys[order[0]]
        return np.flatnonzero(~val_mask), np.flatnonzero(val_mask)
    if task == "classification":
        val: list[np.ndarray] = []
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            idx = idx[rng.permutation(len(idx))]
            k = int(round(validation_split * len(idx)))
            k = min(max(k, 1 if len(idx) >= 2 else 0), len(idx) - 1)
            val.append(idx[:k])
        val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    else:
        perm = rng.permutation(n)
        k = min(max(int(round(validation_split * n)), 1), n - 1)
        val_idx = np.sort(perm[:k])
    train_mask = np.ones(n, dtype=bool)
    train_mask[val_idx] = False
    return np.flatnonzero(train_mask), val_idx


# --------------------------------------------------------------------------- augmentation


def augment(
    X: np.ndarray,
    *,
    augmentation: dict[str, Any],
    rng: np.random.Generator,
    feature_std: np.ndarray | None = None,
) -> np.ndarray:
    """Return an augmented copy of a batch (samples on axis 0). Audio options act on
    (frames, coefficients[, 1]) features, image options on (height, width[, channels])."""
    if not augmentation:
        return X
    X = X.copy()
    n = len(X)
    if augmentation.get("noise_std"):
        std = feature_std if feature_std is not None else X.std(axis=0)
        X += rng.standard_normal(X.shape).astype(np.float32) * (
            augmentation["noise_std"] * std
        ).astype(np.float32)
    mean = X.mean(axis=0)
    t_max = augmentation.get("time_mask_max_frames") or 0
    f_max = augmentation.get("freq_mask_max_bins") or 0
    if (t_max or f_max) and X.ndim >= 3:
        frames, bins = X.shape[1], X.shape[2]
        for i in range(n):
            if t_max:
                w = int(rng.integers(0, min(t_max, frames) + 1))
                s = int(rng.integers(0, frames - w + 1))
                X[i, s : s + w] = mean[s : s + w]
            if f_max:
                w = int(rng.integers(0, min(f_max, bins) + 1))
                s = int(rng.integers(0, bins - w + 1))
                X[i, :, s : s + w] = mean[:, s : s + w]
    if augmentation.get("flip_horizontal") and X.ndim >= 3:
        flip = rng.random(n) < 0.5
        X[flip] = X[flip][:, :, ::-1]
    crop = augmentation.get("crop_fraction") or 0.0
    if crop and X.ndim >= 3:
        h, w = X.shape[1], X.shape[2]
        for i in range(n):
            top, bottom, left, right = (
                int(rng.integers(0, int(crop * d) + 1)) for d in (h, h, w, w)
            )
            rows = np.linspace(top, h - 1 - bottom, h).round().astype(int)
            cols = np.linspace(left, w - 1 - right, w).round().astype(int)
            X[i] = X[i][rows][:, cols]
    delta = augmentation.get("brightness_delta") or 0.0
    if delta:
        span = float(X.max() - X.min()) or 1.0
        shift = (
            rng.uniform(-delta, delta, size=(n,) + (1,) * (X.ndim - 1)).astype(np.float32) * span
        )
        X += shift
    return X


# --------------------------------------------------------------------------- training

# Per task: the Keras loss, the Keras metric and the metric's name in the history.
TASK_METRICS: dict[str, tuple[str, str, str]] = {
    "classification": ("sparse_categorical_crossentropy", "accuracy", "accuracy"),
    "regression": ("mean_squared_error", "mean_absolute_error", "mae"),
}


@dataclass(frozen=True)
class TrainingData:
    """Checked features and targets, and what the model is built from."""

    X: np.ndarray  # float32 [n, *input_shape]
    y: np.ndarray  # int64 class indices, or float32 regression targets
    labels: list[str]  # class names, or target names (defaults for regression)
    n_outputs: int
    input_shape: tuple[int, ...]
    layers: list[dict[str, Any]]  # the architecture with every setting filled in


def prepare_training_data(
    X: Any, y: Any, *, labels: Sequence[str] | None, layers: Any, task: str
) -> TrainingData:
    """Check the data (`check_training_data`), name the outputs (regression targets without
    names become `value` or `target_<i>`) and validate the architecture against the features."""
    X, y = check_training_data(X, y, labels=labels, task=task)
    names = list(labels or [])
    if task == "regression":
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if not names:
            names = ["value"] if n_outputs == 1 else [f"target_{i}" for i in range(n_outputs)]
    else:
        n_outputs = len(names)
    input_shape = tuple(int(d) for d in X.shape[1:])
    return TrainingData(
        X=X,
        y=y,
        labels=names,
        n_outputs=n_outputs,
        input_shape=input_shape,
        layers=validate_architecture(layers, input_shape=input_shape),
    )


def training_split(
    y: np.ndarray, *, settings: TrainSettings, groups: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The train/validation indices (`split_indices`, by `groups` whenever they are given: the
    platform always gives them, the sample of every window or a metadata key's values).
    `LearnError` when `split_by_metadata` is set without its values or the split leaves
    nothing to train on."""
    if settings.split_by_metadata and groups is None:
        raise LearnError(
            f"split by metadata '{settings.split_by_metadata}' asked, but no metadata "
            "values were given"
        )
    train_idx, val_idx = split_indices(
        y,
        validation_split=settings.validation_split,
        seed=settings.seed,
        task=settings.task,
        groups=groups,
    )
    if len(train_idx) == 0:
        raise LearnError("the validation split leaves no samples to train on")
    return train_idx, val_idx


def class_weights(y: np.ndarray, *, n_classes: int) -> dict[int, float]:
    """Balanced class weights: n / (classes present · count of the class); 0 for an absent class."""
    counts = np.bincount(y, minlength=n_classes)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = len(y) / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and Keras and make TensorFlow ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def compiled_model(data: TrainingData, settings: TrainSettings) -> Any:
    """The Keras model for `data.layers` with its output head, compiled with Adam and the task's
    loss and metric. Its initial weights come from the global seed (`set_determinism`)."""
    import keras

    loss, metric, _ = TASK_METRICS[settings.task]
    model = build_keras_model(
        data.layers, input_shape=data.input_shape, n_outputs=data.n_outputs, task=settings.task
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=settings.learning_rate),
        loss=loss,
        metrics=[metric],
    )
    return model


def epoch_data(
    X: np.ndarray,
    y: np.ndarray,
    *,
    augmentation: dict[str, Any],
    rng: np.random.Generator,
    feature_std: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's training data, shuffled and then augmented from the seeded generator `rng`.

    Shuffling and augmentation happen in NumPy from one generator: reproducible, and a ready
    tf.data pipeline per epoch is much cheaper than Keras' NumPy adapter."""
    order = rng.permutation(len(X))
    X_epoch = augment(X[order], augmentation=augmentation, rng=rng, feature_std=feature_std)
    return X_epoch, y[order]


class BestEpoch:
    """Early stopping's bookkeeping: the lowest monitored value, its (1-based) epoch and the
    weights the model had then. Without a patience it records nothing and never stops."""

    def __init__(self, patience: int | None) -> None:
        self.patience = patience
        self.value = math.inf
        self.epoch = 0
        self.weights: Any = None

    def observe(self, epoch: int, value: float, weights: Callable[[], Any]) -> bool:
        """Record the end of `epoch`; True when `patience` epochs went by without a lower value.
        `weights()` is called only when the value improves."""
        if self.patience is None:
            return False
        if value < self.value:
            self.value, self.epoch, self.weights = value, epoch, weights()
            return False
        return epoch - self.epoch >= self.patience

    def restore(self, model: Any, epochs_run: int) -> int:
        """Give `model` the best epoch's weights; return the epoch whose weights it holds."""
        if self.patience is None or self.weights is None:
            return epochs_run
        model.set_weights(self.weights)
        return self.epoch


def _cancel_callback(should_stop: Callable[[], bool]) -> Any:
    """A Keras callback polling `should_stop()` after every batch; when it says so, the fit
    stops and the callback's `cancelled` is True."""
    import keras

    class CancelPoll(keras.callbacks.Callback):
        cancelled = False

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if should_stop():
                self.cancelled = True
                self.model.stop_training = True

    return CancelPoll()


def fit_epochs(
    model: Any,
    *,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    settings: TrainSettings,
    class_weight: dict[int, float] | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[dict[str, float]], int]:
    """Fit `model` epoch by epoch: learning-rate schedule, shuffling and augmentation, metrics
    (and validation metrics when there is a validation set), `on_epoch`, cancellation and early
    stopping. Returns the history and the 1-based epoch whose weights the model ends with."""
    import tensorflow as tf

    X_train, y_train = train
    X_val, y_val = validation
    _, metric, metric_name = TASK_METRICS[settings.task]
    poll = _cancel_callback(should_stop) if should_stop is not None else None
    rng = np.random.default_rng(settings.seed + 1)
    feature_std = X_train.std(axis=0)
    history: list[dict[str, float]] = []
    best = BestEpoch(settings.early_stopping_patience)
    monitor = "val_loss" if len(y_val) else "loss"
    for epoch in range(settings.epochs):
        if should_stop is not None and should_stop():
            raise TrainingCancelled(epochs_completed=epoch)
        learning_rate = epoch_learning_rate(settings, epoch)
        model.optimizer.learning_rate.assign(learning_rate)
        X_epoch, y_epoch = epoch_data(
            X_train, y_train, augmentation=settings.augmentation, rng=rng, feature_std=feature_std
        )
        dataset = tf.data.Dataset.from_tensor_slices((X_epoch, y_epoch)).batch(settings.batch_size)
        fitted = model.fit(
            dataset,
            epochs=epoch + 1,
            initial_epoch=epoch,
            class_weight=class_weight,
            callbacks=[poll] if poll is not None else [],
            shuffle=False,
            verbose=0,
        )
        if poll is not None and poll.cancelled:
            raise TrainingCancelled(epochs_completed=epoch)
        logs = fitted.history
        metrics: dict[str, float] = {"epoch": epoch + 1, "loss": float(logs["loss"][-1])}
        metrics["learning_rate"] = learning_rate
        metrics[metric_name] = float(logs[metric if metric in logs else "compile_metrics"][-1])
        if len(y_val):
            metrics["val_loss"], metrics[f"val_{metric_name}"] = _evaluate(
                model, X_val, y_val, task=settings.task
            )
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(epoch + 1, metrics)
        if best.observe(epoch + 1, metrics[monitor], model.get_weights):
            break
    return history, best.restore(model, len(history))


def validation_metrics(
    model: Any, X: np.ndarray, y: np.ndarray, *, labels: list[str], task: str
) -> dict[str, Any]:
    """Float32 metrics of `model` on the validation set; empty when there is none."""
    if not len(y):
        return {}
    from workers.learn.evaluate import classification_metrics, regression_metrics

    scores = predict_keras(model, X)
    if task == "classification":
        return classification_metrics(y, scores, labels)
    return regression_metrics(y, scores.reshape(y.shape))


def train(
    X: Any,
    y: Any,
    *,
    labels: Sequence[str] | None,
    layers: Any,
    settings: TrainSettings | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    groups: Any = None,
) -> TrainResult:
    """Train `layers` (an architecture, see `architectures`) on features X and targets y.

    - classification: y holds class indices into `labels` (or label names); regression: y
      holds numbers (one target, or one column per target) and `labels` names the targets.
    - `groups`: per row, the group validation keeps together (its sample, or the value of
      the metadata key `settings.split_by_metadata`); None: every row is its own sample.
    - `on_epoch(epoch, metrics)` is called after every epoch (1-based) with the loss/metric dict.
    - `should_stop()` is polled after every batch; when it returns True training stops and
      `TrainingCancelled` is raised.
    """
    settings = settings or TrainSettings()
    settings.validate()
    data = prepare_training_data(X, y, labels=labels, layers=layers, task=settings.task)
    train_idx, val_idx = training_split(data.y, settings=settings, groups=groups)

    import keras  # before the clock starts: `seconds` is training time, not import time

    t0 = time.perf_counter()
    keras.backend.clear_session()
    set_determinism(settings.seed)
    model = compiled_model(data, settings)
    X_train, y_train = data.X[train_idx], data.y[train_idx]
    X_val, y_val = data.X[val_idx], data.y[val_idx]
    class_weight = None
    if settings.task == "classification" and settings.class_weighting:
        class_weight = class_weights(y_train, n_classes=data.n_outputs)
    history, best_epoch = fit_epochs(
        model,
        train=(X_train, y_train),
        validation=(X_val, y_val),
        settings=settings,
        class_weight=class_weight,
        on_epoch=on_epoch,
        should_stop=should_stop,
    )
    validation = validation_metrics(model, X_val, y_val, labels=data.labels, task=settings.task)
    return TrainResult(
        model=model,
        labels=data.labels,
        history=history,
        validation=validation,
        train_indices=train_idx,
        validation_indices=val_idx,
        best_epoch=best_epoch,
        input_shape=data.input_shape,
        settings=settings,
        seconds=time.perf_counter() - t0,
    )


def predict_keras(model: Any, X: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """Model outputs for X in inference mode (direct calls: much cheaper than `model.predict`)."""
    if len(X) == 0:
        return np.zeros((0,) + tuple(int(d) for d in model.outputs[0].shape[1:]), dtype=np.float32)
    return np.concatenate(
        [
            np.asarray(model(X[i : i + batch_size], training=False))
            for i in range(0, len(X), batch_size)
        ]
    )


def _evaluate(model: Any, X: np.ndarray, y: np.ndarray, *, task: str) -> tuple[float, float]:
    """(loss, accuracy) or (mse, mae) as Keras computes them, without Keras' per-call overhead."""
    out = predict_keras(model, X).astype(np.float64)
    if task == "classification":
        p = np.clip(out[np.arange(len(y)), y], 1e-7, 1 - 1e-7)
        return float(-np.log(p).mean()), float((out.argmax(axis=1) == y).mean())
    err = out.reshape(y.shape) - y
    return float((err**2).mean()), float(np.abs(err).mean())


def representative_sample(X: np.ndarray, *, max_samples: int = 500, seed: int = 1) -> np.ndarray:
    """Up to `max_samples` rows of X, drawn without replacement with a fixed seed (the int8
    calibration set)."""
    X = np.asarray(X, dtype=np.float32)
    if len(X) <= max_samples:
        return X
    idx = np.sort(np.random.default_rng(seed).choice(len(X), size=max_samples, replace=False))
    return X[idx]
