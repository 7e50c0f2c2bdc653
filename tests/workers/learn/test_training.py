"""Training: input checks, settings validation, determinism, cancellation, early stopping,
splits, class weighting, augmentation and regression."""

import numpy as np
import pytest

from workers.learn import LearnError, TrainingCancelled, TrainSettings, label_indices, train
from workers.learn.training import (
    BestEpoch,
    augment,
    class_weights,
    compiled_model,
    epoch_data,
    fit_epochs,
    prepare_training_data,
    sample_groups,
    set_determinism,
    split_indices,
    training_split,
    validation_metrics,
)

LAYERS = [{"type": "dense", "units": 8}]


def blobs(n_per_class=40, *, seed=0, n_features=6, n_classes=3, spread=1.5):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 2, (n_classes, n_features))
    X = np.concatenate([c + rng.normal(0, spread, (n_per_class, n_features)) for c in centres])
    return X.astype(np.float32), np.repeat(np.arange(n_classes), n_per_class)


def test_same_seed_same_metrics():
    X, y = blobs()
    settings = TrainSettings(
        epochs=4, learning_rate=0.02, batch_size=16, seed=7, augmentation={"noise_std": 0.1}
    )
    a = train(X, y, labels=["a", "b", "c"], layers=LAYERS, settings=settings)
    b = train(X, y, labels=["a", "b", "c"], layers=LAYERS, settings=settings)
    assert a.history == b.history
    assert a.validation == b.validation
    np.testing.assert_array_equal(a.validation_indices, b.validation_indices)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    c = train(
        X,
        y,
        labels=["a", "b", "c"],
        layers=LAYERS,
        settings=TrainSettings(epochs=4, learning_rate=0.02, batch_size=16, seed=8),
    )
    assert c.history != a.history


def test_history_and_progress_callback():
    X, y = blobs()
    seen = []
    result = train(
        X,
        y,
        labels=["a", "b", "c"],
        layers=LAYERS,
        settings=TrainSettings(epochs=3),
        on_epoch=lambda epoch, metrics: seen.append((epoch, metrics)),
    )
    assert [e for e, _ in seen] == [1, 2, 3]
    assert set(seen[0][1]) == {
        "epoch",
        "learning_rate",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
    }
    assert result.history == [m for _, m in seen]
    assert result.validation["n"] == len(result.validation_indices) == 24  # 20% of 40 per class
    assert set(result.validation_indices).isdisjoint(result.train_indices)
    assert len(result.validation["confusion_matrix"]) == 3


def test_cancellation_via_should_stop():
    X, y = blobs()
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] > 10  # a few batches into the second epoch (6 batches per epoch)

    with pytest.raises(TrainingCancelled) as err:
        train(
            X,
            y,
            labels=["a", "b", "c"],
            layers=LAYERS,
            settings=TrainSettings(epochs=50, batch_size=16),
            should_stop=should_stop,
        )
    assert err.value.epochs_completed == 1
    assert calls["n"] == 11  # stopped at the first poll that said so
    with pytest.raises(TrainingCancelled, match="after 0 completed epoch"):
        train(
            X,
            y,
            labels=["a", "b", "c"],
            layers=LAYERS,
            settings=TrainSettings(epochs=5),
            should_stop=lambda: True,
        )


def test_early_stopping_restores_best_weights():
    X, y = blobs(spread=3.0)
    result = train(
        X,
        y,
        labels=["a", "b", "c"],
        layers=[{"type": "dense", "units": 64}],
        settings=TrainSettings(epochs=60, learning_rate=0.05, early_stopping_patience=3),
    )
    losses = [h["val_loss"] for h in result.history]
    assert len(losses) < 60  # stopped early
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert len(losses) - result.best_epoch == 3
    val_loss = result.model.evaluate(
        X[result.validation_indices], y[result.validation_indices], verbose=0
    )[0]
    assert val_loss == pytest.approx(min(losses), rel=1e-5)


def test_split_by_metadata_keeps_groups_apart():
    X, y = blobs()
    groups = np.array([f"device{i % 6}" for i in range(len(y))])
    result = train(
        X,
        y,
        labels=["a", "b", "c"],
        layers=LAYERS,
        groups=groups,
        settings=TrainSettings(epochs=1, split_by_metadata="device"),
    )
    assert set(groups[result.train_indices]).isdisjoint(groups[result.validation_indices])
    with pytest.raises(LearnError, match="every sample has the same value"):
        split_indices(y, validation_split=0.2, seed=1, task="classification", groups=["d"] * len(y))
    with pytest.raises(LearnError, match="no metadata values were given"):
        train(
            X,
            y,
            labels=["a", "b", "c"],
            layers=LAYERS,
            settings=TrainSettings(split_by_metadata="device"),
        )


def test_stratified_split_and_no_validation():
    y = np.array([0] * 50 + [1] * 10)
    train_idx, val_idx = split_indices(y, validation_split=0.2, seed=3, task="classification")
    assert np.bincount(y[val_idx]).tolist() == [10, 2]
    assert sorted(np.concatenate([train_idx, val_idx]).tolist()) == list(range(60))
    train_idx, val_idx = split_indices(y, validation_split=0.0, seed=3, task="classification")
    assert len(val_idx) == 0 and len(train_idx) == 60


def test_class_weighting_helps_the_rare_class():
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(0, 1, (300, 2)), rng.normal(1.2, 1, (15, 2))]).astype(np.float32)
    y = np.array([0] * 300 + [1] * 15)
    kw = dict(labels=["common", "rare"], layers=[{"type": "dense", "units": 8}])
    plain = train(X, y, settings=TrainSettings(epochs=10, validation_split=0.0), **kw)
    weighted = train(
        X, y, settings=TrainSettings(epochs=10, validation_split=0.0, class_weighting=True), **kw
    )
    rare_plain = (plain.model.predict(X[y == 1], verbose=0).argmax(1) == 1).mean()
    rare_weighted = (weighted.model.predict(X[y == 1], verbose=0).argmax(1) == 1).mean()
    assert rare_weighted > rare_plain


def test_regression():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (300, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.5).astype(np.float32)
    result = train(
        X,
        y,
        labels=None,
        layers=[{"type": "dense", "units": 16}],
        settings=TrainSettings(epochs=25, learning_rate=0.02, task="regression"),
    )
    assert result.labels == ["value"]
    assert set(result.history[0]) == {
        "epoch",
        "learning_rate",
        "loss",
        "mae",
        "val_loss",
        "val_mae",
    }
    assert result.validation["mae"] < 0.25
    assert result.validation["rmse"] >= result.validation["mae"]


@pytest.mark.parametrize(
    ("X", "y", "labels", "message"),
    [
        (np.zeros((0, 4)), np.zeros(0, dtype=int), ["a", "b"], "no features"),
        (None, [0, 1], ["a", "b"], "no features"),
        (
            np.zeros((4, 3)),
            [0, 0, 0, 0],
            ["a", "b"],
            "only one class \\('a'\\) in the training data",
        ),
        (np.zeros((4, 3)), ["yes"] * 4, ["yes", "no"], "only one class \\('yes'\\)"),
        (np.zeros((4, 3)), [0, 1, 0], ["a", "b"], "4 feature vectors but 3 targets"),
        (np.zeros((4, 3)), [0, 1, 0, 1], ["a"], "at least two classes"),
        (np.zeros((4, 3)), [0, 1, 0, 5], ["a", "b"], "class index out of range"),
        (
            np.zeros((4, 3)),
            ["a", "b", "a", "c"],
            ["a", "b"],
            "label\\(s\\) 'c' not among the model's labels",
        ),
        (
            np.array([[0.0, np.nan], [1, 1], [2, 2]]),
            [0, 1, 0],
            ["a", "b"],
            "NaN or infinity \\(first: row 0\\)",
        ),
        (np.array([["x"], ["y"]]), [0, 1], ["a", "b"], "features must be numbers"),
    ],
)
def test_bad_training_data(X, y, labels, message):
    with pytest.raises(LearnError, match=message):
        train(X, y, labels=labels, layers=LAYERS, settings=TrainSettings(epochs=1))


def test_bad_architecture_for_the_features():
    X, y = blobs()
    with pytest.raises(LearnError, match=r"layer 0 \(conv1d\): needs a 2-D input"):
        train(X, y, labels=["a", "b", "c"], layers=[{"type": "conv1d"}, {"type": "flatten"}])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"epochs": 0}, "'epochs' must be an integer in \\[1, 10000\\], got 0"),
        ({"epochs": "10"}, "'epochs' must be an integer"),
        ({"learning_rate": 0}, "'learning_rate' must be a number in \\(0.0, 10.0\\]"),
        ({"validation_split": 0.95}, "'validation_split' must be a number in \\[0.0, 0.9\\]"),
        ({"batch_sz": 3}, "unknown training setting 'batch_sz'"),
        ({"task": "ranking"}, "'task' must be one of classification, regression"),
        ({"augmentation": {"pitch_shift": 1}}, "unknown augmentation 'pitch_shift'"),
        (
            {"augmentation": {"noise_std": -1}},
            "augmentation 'noise_std' must be a number in \\[0.0, 5.0\\], got -1",
        ),
        ({"early_stopping_patience": 0}, "early_stopping_patience"),
    ],
)
def test_bad_settings(data, message):
    with pytest.raises(LearnError, match=message):
        TrainSettings.from_dict(data)


def test_settings_schema_is_plain_data():
    import json

    from workers.learn.training import train_settings_schema

    schema = train_settings_schema()
    assert set(schema) == set(TrainSettings().as_dict())
    assert schema["epochs"] == {
        "kind": "int",
        "minimum": 1,
        "maximum": 10_000,
        "help": "training cycles",
        "default": 40,
    }
    assert "time_mask_max_frames" in schema["augmentation"]["options"]
    json.dumps(schema)


def test_settings_round_trip():
    s = TrainSettings.from_dict(
        {"epochs": 5, "augmentation": {"time_mask_max_frames": 4}, "seed": 3}
    )
    assert TrainSettings.from_dict(s.as_dict()) == s


def test_label_indices():
    assert label_indices(["b", "a", "b"], ["a", "b"]).tolist() == [1, 0, 1]


def test_audio_augmentation():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (8, 20, 5)).astype(np.float32)
    same = augment(X, augmentation={}, rng=rng)
    assert same is X
    a = augment(
        X,
        augmentation={"time_mask_max_frames": 20, "freq_mask_max_bins": 5},
        rng=np.random.default_rng(1),
    )
    b = augment(
        X,
        augmentation={"time_mask_max_frames": 20, "freq_mask_max_bins": 5},
        rng=np.random.default_rng(1),
    )
    np.testing.assert_array_equal(a, b)
    assert a.shape == X.shape and not np.array_equal(a, X)
    changed = a != X
    mean = X.mean(axis=0)
    np.testing.assert_allclose(
        a[changed], np.broadcast_to(mean, X.shape)[changed]
    )  # masked to the mean
    noisy = augment(X, augmentation={"noise_std": 0.5}, rng=np.random.default_rng(1))
    assert 0.3 < float((noisy - X).std()) < 0.7


def test_image_augmentation():
    X = np.tile(np.arange(6, dtype=np.float32), (4, 6, 1))[..., None]  # (4, 6, 6, 1), columns 0..5
    flipped = augment(X, augmentation={"flip_horizontal": True}, rng=np.random.default_rng(3))
    for img in flipped:
        row = img[0, :, 0].tolist()
        assert row in ([0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0])
    bright = augment(X, augmentation={"brightness_delta": 0.2}, rng=np.random.default_rng(3))
    shift = (bright - X).reshape(4, -1)
    assert np.allclose(shift, shift[:, :1]) and np.abs(shift).max() <= 0.2 * 5 + 1e-6
    cropped = augment(X, augmentation={"crop_fraction": 0.34}, rng=np.random.default_rng(3))
    assert cropped.shape == X.shape
    assert all(np.all(np.diff(img[0, :, 0]) >= 0) for img in cropped)  # still left-to-right order


def test_cosine_learning_rate_schedule():
    from workers.learn.training import epoch_learning_rate

    s = TrainSettings(epochs=4, learning_rate=0.01)
    assert [round(epoch_learning_rate(s, e), 6) for e in range(4)] == [
        0.01,
        0.008536,
        0.005,
        0.001464,
    ]
    s.learning_rate_schedule = "constant"
    assert epoch_learning_rate(s, 3) == 0.01
    with pytest.raises(LearnError, match="learning_rate_schedule"):
        TrainSettings.from_dict({"learning_rate_schedule": "step"})


# ------------------------------------------------------------- the steps of `train`, one by one


def test_prepare_training_data_names_regression_targets_and_fills_the_architecture():
    X = np.zeros((6, 3), dtype=np.float64)
    data = prepare_training_data(X, np.zeros((6, 2)), labels=None, layers=LAYERS, task="regression")
    assert data.labels == ["target_0", "target_1"] and data.n_outputs == 2
    assert data.X.dtype == np.float32 and data.y.dtype == np.float32
    assert data.input_shape == (3,)
    assert data.layers[0]["units"] == 8 and "activation" in data.layers[0]  # defaults filled in
    one = prepare_training_data(X, np.zeros(6), labels=None, layers=LAYERS, task="regression")
    assert one.labels == ["value"] and one.n_outputs == 1
    named = prepare_training_data(
        X, ["b", "a", "b", "a", "a", "a"], labels=["a", "b"], layers=LAYERS, task="classification"
    )
    assert named.y.tolist() == [1, 0, 1, 0, 0, 0] and named.n_outputs == 2


def test_training_split_follows_the_settings():
    y = np.repeat([0, 1], 10)
    train_idx, val_idx = training_split(y, settings=TrainSettings(validation_split=0.2, seed=4))
    expected = split_indices(y, validation_split=0.2, seed=4, task="classification")
    np.testing.assert_array_equal(train_idx, expected[0])
    np.testing.assert_array_equal(val_idx, expected[1])
    groups = np.array([f"g{i % 4}" for i in range(20)])
    # groups given = groups kept apart, whether or not a metadata key is named (the platform
    # always gives the windows' samples)
    by_default = training_split(
        y, settings=TrainSettings(validation_split=0.2, seed=4), groups=groups
    )
    assert set(groups[by_default[0]]).isdisjoint(groups[by_default[1]])
    by_group = training_split(
        y, settings=TrainSettings(split_by_metadata="device", seed=4), groups=groups
    )
    assert set(groups[by_group[0]]).isdisjoint(groups[by_group[1]])
    with pytest.raises(LearnError, match="no metadata values were given"):
        training_split(y, settings=TrainSettings(split_by_metadata="device"))


def test_class_weights_are_balanced():
    weights = class_weights(np.array([0, 0, 0, 1]), n_classes=3)
    # n / (classes present * count): 4 / (2 * 3) and 4 / (2 * 1); an absent class weighs 0
    assert weights == {0: pytest.approx(2 / 3), 1: 2.0, 2: 0.0}
    assert all(isinstance(k, int) and isinstance(v, float) for k, v in weights.items())


def test_epoch_data_shuffles_then_augments_from_one_generator():
    X = np.arange(24, dtype=np.float32).reshape(6, 4)
    y = np.arange(6)
    std = X.std(axis=0)
    X1, y1 = epoch_data(X, y, augmentation={}, rng=np.random.default_rng(5), feature_std=std)
    order = np.random.default_rng(5).permutation(6)
    np.testing.assert_array_equal(y1, order)
    np.testing.assert_array_equal(X1, X[order])  # pairs stay together
    rng = np.random.default_rng(5)
    X2, y2 = epoch_data(X, y, augmentation={"noise_std": 0.1}, rng=rng, feature_std=std)
    np.testing.assert_array_equal(y2, order)
    expected = augment(
        X[order], augmentation={"noise_std": 0.1}, rng=_after_permutation(5, 6), feature_std=std
    )
    np.testing.assert_array_equal(X2, expected)


def _after_permutation(seed, n):
    rng = np.random.default_rng(seed)
    rng.permutation(n)
    return rng


class _Model:
    def __init__(self):
        self.weights = None

    def set_weights(self, weights):
        self.weights = weights


def test_best_epoch_stops_after_patience_and_restores_the_best():
    best = BestEpoch(patience=2)
    snapshots = iter(["w1", "w2", "w3", "w4", "w5"])
    stops = [
        best.observe(e, v, lambda: next(snapshots)) for e, v in enumerate([3, 2, 2.5, 1, 4, 5], 1)
    ]
    assert stops == [False, False, False, False, False, True]  # epoch 6 is 2 after the best (4)
    assert (best.value, best.epoch, best.weights) == (
        1,
        4,
        "w3",
    )  # snapshots taken on improvement only
    model = _Model()
    assert best.restore(model, 6) == 4 and model.weights == "w3"


def test_best_epoch_without_patience_records_nothing():
    best = BestEpoch(patience=None)
    assert not any(
        best.observe(e, 1.0 / e, lambda: pytest.fail("no snapshot")) for e in range(1, 9)
    )
    model = _Model()
    assert best.restore(model, 8) == 8 and model.weights is None
    nan = BestEpoch(patience=1)  # a value that never improves: stop, nothing to restore
    assert [nan.observe(e, float("nan"), list) for e in (1, 2)] == [True, True]
    assert nan.restore(model, 1) == 1 and model.weights is None


def test_fit_epochs_and_validation_metrics_on_a_compiled_model():
    import keras

    X, y = blobs()
    settings = TrainSettings(epochs=3, batch_size=16, seed=2)
    data = prepare_training_data(X, y, labels=["a", "b", "c"], layers=LAYERS, task="classification")
    train_idx, val_idx = training_split(data.y, settings=settings)
    keras.backend.clear_session()
    set_determinism(settings.seed)
    model = compiled_model(data, settings)
    assert model.output_shape == (None, 3) and model.loss == "sparse_categorical_crossentropy"
    seen = []
    history, best_epoch = fit_epochs(
        model,
        train=(data.X[train_idx], data.y[train_idx]),
        validation=(data.X[val_idx], data.y[val_idx]),
        settings=settings,
        on_epoch=lambda epoch, metrics: seen.append(epoch),
    )
    assert seen == [1, 2, 3] and best_epoch == 3
    assert [round(h["learning_rate"], 6) for h in history] == [0.005, 0.00375, 0.00125]
    metrics = validation_metrics(
        model, data.X[val_idx], data.y[val_idx], labels=data.labels, task="classification"
    )
    assert metrics["accuracy"] == pytest.approx(history[-1]["val_accuracy"])
    assert metrics["n"] == len(val_idx)
    assert validation_metrics(model, X[:0], y[:0], labels=data.labels, task="classification") == {}


def test_split_by_sample_keeps_windows_of_a_sample_together_and_stratifies():
    # 3 classes, 10 samples each of 2..6 windows: validation is whole samples of every class
    rng = np.random.default_rng(0)
    y, groups = [], []
    for c in range(3):
        for s in range(10):
            n = int(rng.integers(2, 7))
            y += [c] * n
            groups += [f"{c}-{s}"] * n
    y, groups = np.array(y), np.array(groups)
    train_idx, val_idx = split_indices(
        y, validation_split=0.2, seed=1, task="classification", groups=groups
    )
    assert set(groups[train_idx]).isdisjoint(groups[val_idx])
    assert len(train_idx) + len(val_idx) == len(y)
    for c in range(3):
        val_samples = {g for g in groups[val_idx] if g.startswith(f"{c}-")}
        assert 1 <= len(val_samples) <= 3, (c, val_samples)  # ~20 % of 10 samples
    # a class with one sample keeps it for training
    y1 = np.array([0, 0, 1, 1, 1, 1])
    g1 = np.array(["a", "a", "b", "b", "c", "c"])
    tr, va = split_indices(y1, validation_split=0.5, seed=0, task="classification", groups=g1)
    assert set(g1[tr]) >= {"a"} and set(g1[va]) <= {"b", "c"} and len(va) == 2


def test_suggest_split_key():
    from workers.learn.training import suggest_split_key

    assert suggest_split_key([{"Speaker": "ann"}, {"Speaker": "bo"}]) == "Speaker"
    assert suggest_split_key([{"speaker": "ann"}, {"speaker": "ann"}]) is None  # one value
    assert suggest_split_key([{"speaker": "ann"}, {}]) is None  # not every sample has it
    assert suggest_split_key([{"mood": "a"}, {"mood": "b"}]) is None  # not a recording key
    assert (
        suggest_split_key([{"device": "x", "subject": "p"}, {"device": "y", "subject": "q"}])
        == "subject"
    )
    assert suggest_split_key([]) is None and suggest_split_key([None, None]) is None


def test_a_split_by_sample_groups_by_the_samples_rank_not_its_id():
    # as strings, ids sort "10" before "9"; ranks keep the samples' order (the tuner and the
    # training job group the same samples the same way, and a restored project splits alike)
    assert sample_groups([10, 9, 10, 2]).tolist() == [
        "000000002",
        "000000001",
        "000000002",
        "000000000",
    ]
