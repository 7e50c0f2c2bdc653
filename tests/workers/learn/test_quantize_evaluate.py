"""Conversion to .tflite, int8 quantization, the two interpreters, model cards, uploaded
models and the metrics."""

import json

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from workers.learn import LearnError, TrainSettings, train
from workers.learn.evaluate import (
    classification_metrics,
    predict_tflite,
    quantize_input,
    regression_metrics,
)
from workers.learn.quantize import (
    inspect_tflite,
    model_card,
    require_supported_ops,
    tflite_io_details,
    to_tflite,
)
from workers.learn.training import representative_sample


def blobs(
    n_per_class: int, *, seed: int, n_features: int = 12, n_classes: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters far enough apart to be separable, with features on different scales
    (as spectral features are)."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(0, 3, (n_classes, n_features))
    scales = np.linspace(0.5, 20, n_features)
    X = np.concatenate([c + rng.normal(0, 1, (n_per_class, n_features)) for c in centres]) * scales
    y = np.repeat(np.arange(n_classes), n_per_class)
    return X.astype(np.float32), y


LAYERS = [{"type": "dense", "units": 16}, {"type": "dense", "units": 8}]
LABELS = ["idle", "wave", "shake"]


@pytest.fixture(scope="module")
def trained():
    X, y = blobs(80, seed=1)
    result = train(
        X,
        y,
        labels=LABELS,
        layers=LAYERS,
        settings=TrainSettings(epochs=15, learning_rate=0.01, seed=3),
    )
    float_bytes = to_tflite(result.model, int8=False)
    int8_bytes = to_tflite(
        result.model, representative=representative_sample(X[result.train_indices]), int8=True
    )
    return result, float_bytes, int8_bytes


def test_int8_model_has_int8_input_and_output(trained):
    _, float_bytes, int8_bytes = trained
    io = tflite_io_details(int8_bytes)
    assert io["input"]["dtype"] == "int8" and io["output"]["dtype"] == "int8"
    assert io["input"]["shape"] == [1, 12] and io["output"]["shape"] == [1, 3]
    assert io["input"]["scale"] > 0 and -128 <= io["input"]["zero_point"] <= 127
    # softmax output: TFLite fixes scale 1/256, zero point -128
    assert io["output"]["scale"] == pytest.approx(1 / 256) and io["output"]["zero_point"] == -128
    fio = tflite_io_details(float_bytes)
    assert fio["input"]["dtype"] == "float32" and fio["input"]["scale"] is None


def test_int8_accuracy_close_to_float(trained):
    result, float_bytes, int8_bytes = trained
    X_test, y_test = blobs(50, seed=2)
    keras_scores = result.model.predict(X_test, verbose=0)
    float_scores = predict_tflite(float_bytes, X_test, engine="tflm")
    int8_scores = predict_tflite(int8_bytes, X_test, engine="tflm")
    np.testing.assert_allclose(float_scores, keras_scores, atol=1e-5)
    acc_float = classification_metrics(y_test, float_scores, LABELS)["accuracy"]
    acc_int8 = classification_metrics(y_test, int8_scores, LABELS)["accuracy"]
    assert acc_float >= 0.95
    assert abs(acc_float - acc_int8) <= 0.02
    assert np.abs(int8_scores - float_scores).max() < 0.1


def test_tflm_and_litert_agree(trained):
    _, float_bytes, int8_bytes = trained
    X_test, _ = blobs(20, seed=4)
    a = predict_tflite(int8_bytes, X_test, engine="tflm")
    b = predict_tflite(int8_bytes, X_test, engine="litert")
    # same int8 reference semantics: at most one output quantization step apart
    assert np.abs(a - b).max() <= 1 / 256 + 1e-7
    np.testing.assert_allclose(
        predict_tflite(float_bytes, X_test, engine="tflm"),
        predict_tflite(float_bytes, X_test, engine="litert"),
        atol=1e-5,
    )
    with pytest.raises(LearnError, match="unknown engine"):
        predict_tflite(int8_bytes, X_test, engine="onnx")
    with pytest.raises(
        LearnError,
        match=r"the model expects 12 values per sample \(shape \[12\]\), got shape \[5\]",
    ):
        predict_tflite(int8_bytes, np.zeros((2, 5)))


def test_quantize_input_rounds_half_away_from_zero():
    q = quantize_input(np.array([0.5, -0.5, 1.5, 1000.0, -1000.0]), scale=1.0, zero_point=0)
    assert q.tolist() == [1, -1, 2, 127, -128]


def test_model_card(trained):
    result, float_bytes, int8_bytes = trained
    card = model_card(int8_bytes, keras_model=result.model)
    assert card["kind"] == "int8"
    assert card["operators"] == ["FULLY_CONNECTED", "SOFTMAX"]
    assert card["operator_counts"] == {"FULLY_CONNECTED": 3, "SOFTMAX": 1}
    assert card["macs"] == 12 * 16 + 16 * 8 + 8 * 3
    assert card["parameters"] == card["keras_parameters"] == 12 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3
    assert card["weight_bytes"] == (12 * 16 + 16 * 8 + 8 * 3) + 4 * (
        16 + 8 + 3
    )  # int8 weights, int32 biases
    json.dumps(card)
    assert model_card(float_bytes)["kind"] == "float32"


def test_to_tflite_needs_representative_data(trained):
    result, _, _ = trained
    with pytest.raises(LearnError, match="representative data set"):
        to_tflite(result.model, representative=np.zeros((0, 12)), int8=True)
    with pytest.raises(LearnError, match="representative data has shape"):
        to_tflite(result.model, representative=np.zeros((4, 5)), int8=True)


def test_unsupported_ops_reported(trained):
    _, _, int8_bytes = trained
    card = inspect_tflite(int8_bytes, supported_ops={"FULLY_CONNECTED", "CONV_2D"})
    assert card["unsupported_ops"] == ["SOFTMAX"]
    with pytest.raises(LearnError, match="does not support: SOFTMAX"):
        require_supported_ops(int8_bytes, supported_ops={"FULLY_CONNECTED"})
    assert (
        require_supported_ops(int8_bytes, supported_ops={"FULLY_CONNECTED", "SOFTMAX"})[
            "unsupported_ops"
        ]
        == []
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "only 0 bytes long"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "identifier 'TFL3' is missing"),
        ("model.tflite", "expected the bytes of a .tflite file, got str"),
        (b"\x00\x00\x00\x00TFL3" + bytes(8), "corrupt .tflite model"),
        (b"\xff\xff\xff\x7fTFL3" + bytes(64), "corrupt .tflite model"),
    ],
)
def test_corrupt_tflite_gives_clear_error(data, message):
    with pytest.raises(LearnError, match=message):
        inspect_tflite(data)


def test_truncated_tflite_gives_clear_error(trained):
    _, _, int8_bytes = trained
    for cut in (20, 64, len(int8_bytes) // 2, len(int8_bytes) - 1):
        with pytest.raises(LearnError, match="corrupt .tflite model"):
            inspect_tflite(int8_bytes[:cut])
        with pytest.raises(LearnError, match="corrupt .tflite model"):
            predict_tflite(int8_bytes[:cut], np.zeros((1, 12)))


def test_damaged_tables_give_clear_error(trained):
    _, _, int8_bytes = trained
    damaged = int8_bytes[:8] + b"\xff" * 64 + int8_bytes[72:]
    with pytest.raises(LearnError, match="corrupt .tflite model"):
        inspect_tflite(damaged)


@pytest.mark.parametrize("name", ["kws_ref_model", "ad01_fp32", "vww_96_int8"])
def test_uploaded_reference_models(name):
    path = require_shared(MODELS_DIR / f"{name}.tflite")
    ref = json.loads((MODELS_DIR / f"{name}.json").read_text())
    card = inspect_tflite(
        path.read_bytes(), supported_ops={"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
    )
    assert card["input"]["shape"] == ref["input"]["shape"]
    assert card["input"]["dtype"] == ref["input"]["dtype"]
    assert card["output"]["shape"] == ref["output"]["shape"]
    assert sorted(card["operators"]) == sorted(ref["tflite_ops"])
    assert sum(card["operator_counts"].values()) == ref["num_operators"]
    if "quantization" in ref["input"]:
        assert card["input"]["scale"] == pytest.approx(ref["input"]["quantization"]["scale"])
        assert card["input"]["zero_point"] == ref["input"]["quantization"]["zero_point"]
    assert card["kind"] == ("float32" if ref["input"]["dtype"] == "float32" else "int8")
    assert card["macs"] > 0
    assert set(card["unsupported_ops"]) == set(ref["tflite_ops"]) - {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
    }


def test_uploaded_int8_model_runs_on_both_engines():
    path = require_shared(MODELS_DIR / "kws_ref_model.tflite")
    data = path.read_bytes()
    X = np.random.default_rng(0).normal(0, 20, (3, 49, 10, 1)).astype(np.float32)
    a = predict_tflite(data, X, engine="tflm")
    b = predict_tflite(data, X, engine="litert")
    assert a.shape == (3, 12)
    assert np.abs(a - b).max() <= 1 / 256 + 1e-7
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=0.05)


def test_classification_metrics_by_hand():
    labels = ["a", "b", "c"]
    y = np.array([0, 0, 1, 1, 2, 2])
    scores = np.eye(3)[[0, 1, 1, 1, 2, 0]] * 0.9 + 0.03
    m = classification_metrics(y, scores, labels)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert (
        m["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
        and m["per_class"]["b"]["recall"] == 1.0
    )
    assert m["per_class"]["c"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
    }
    m2 = classification_metrics(["a", "a", "b", "b", "c", "c"], scores, labels, min_confidence=0.95)
    assert m2["uncertain"] == 6 and m2["accuracy"] == 0.0
    with pytest.raises(LearnError, match=r"label\(s\) 'd' not among the model's labels"):
        classification_metrics(["a", "d", "b", "b", "c", "c"], scores, labels)
    with pytest.raises(LearnError, match="3 labels but the model gives 2 scores"):
        classification_metrics(y, scores[:, :2], labels)


def test_regression_metrics_by_hand():
    m = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 4.0])
    assert m["mae"] == pytest.approx(0.375)
    assert m["mse"] == pytest.approx((0.25 + 1.0) / 4)
    assert m["rmse"] == pytest.approx(np.sqrt(1.25 / 4))
    assert m["max_abs_error"] == 1.0
    assert m["r2"] == pytest.approx(1 - 1.25 / 5)
