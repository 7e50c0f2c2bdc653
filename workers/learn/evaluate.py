"""Running .tflite models on feature matrices (TFLite Micro, what devices run, or LiteRT) and
the metrics reported for classification and regression."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from workers.learn.errors import LearnError
from workers.learn.quantize import tflite_io_details, verify_tflite

ENGINES = ("tflm", "litert")


def quantize_input(
    x: np.ndarray, *, scale: float, zero_point: int, dtype: str = "int8"
) -> np.ndarray:
    """float → int8 (or uint8) exactly as TFLite's QUANTIZE op: round half away from zero, clamp."""
    info = np.iinfo(np.dtype(dtype))
    v = np.asarray(x, dtype=np.float64) / scale
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, *, scale: float, zero_point: int) -> np.ndarray:
    return ((np.asarray(q, dtype=np.float32) - zero_point) * scale).astype(np.float32)


def _prepare_inputs(X: Any, in_shape: Sequence[int]) -> np.ndarray:
    X = np.asarray(X)
    if X.size == 0:
        raise LearnError("no features to classify")
    if not np.issubdtype(X.dtype, np.number):
        raise LearnError(f"features must be numbers, got dtype {X.dtype}")
    sample_shape = tuple(int(d) for d in in_shape[1:])
    n_values = math.prod(sample_shape)
    if X.ndim == len(sample_shape) and tuple(X.shape) == sample_shape:
        X = X[None]
    if X.ndim == 1 and X.shape[0] == n_values:
        X = X[None]
    if math.prod(X.shape[1:]) != n_values:
        raise LearnError(
            f"the model expects {n_values} values per sample (shape {list(sample_shape)}), "
            f"got shape {list(X.shape[1:])}"
        )
    return X.reshape((X.shape[0],) + sample_shape).astype(np.float32)


def predict_tflite(tflite_bytes: bytes, X: Any, *, engine: str = "tflm") -> np.ndarray:
    """Scores (N, outputs) as float32 for the feature matrix X.

    `engine="tflm"` runs the TensorFlow Lite Micro interpreter (the `tflite-micro` package),
    `"litert"` the LiteRT (TensorFlow Lite) interpreter with its builtin kernels (no XNNPACK),
    batched. For an int8 model the float
    features are quantized with the input tensor's scale/zero point and the output is
    dequantized, so callers always pass and receive floats.
    """
    if engine not in ENGINES:
        raise LearnError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    io = tflite_io_details(tflite_bytes)
    inp, out = io["input"], io["output"]
    X = _prepare_inputs(X, inp["shape"])
    if inp["dtype"] in ("int8", "uint8"):
        if inp["scale"] is None or isinstance(inp["scale"], list):
            raise LearnError("the model's quantized input has no single scale/zero point")
        Xq = quantize_input(X, scale=inp["scale"], zero_point=inp["zero_point"], dtype=inp["dtype"])
    elif inp["dtype"] == "float32":
        Xq = X
    else:
        raise LearnError(f"unsupported model input type {inp['dtype']}")

    if engine == "tflm":
        verify_tflite(tflite_bytes)  # TFLite Micro itself does not verify the flatbuffer
        from tflite_micro.python.tflite_micro import runtime

        try:
            interp = runtime.Interpreter.from_bytes(bytes(tflite_bytes))
        except Exception as exc:
            raise LearnError(
                "TFLite Micro cannot load the model: "
                f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc}"
            ) from exc
        rows = []
        for row in Xq:
            interp.set_input(row[None], 0)
            interp.invoke()
            rows.append(np.array(interp.get_output(0)).reshape(-1))
        raw = np.stack(rows)
    else:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        try:
            # builtin kernels without the XNNPACK delegate, whose int8 arithmetic differs
            # from the TFLite reference semantics that TFLite Micro (and our C) implement
            interp = Interpreter(
                model_content=bytes(tflite_bytes),
                num_threads=1,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
            in_index = interp.get_input_details()[0]["index"]
            out_index = interp.get_output_details()[0]["index"]
            interp.resize_tensor_input(in_index, list(Xq.shape))
            interp.allocate_tensors()
        except Exception as exc:
            raise LearnError(f"LiteRT cannot load the model: {exc}") from exc
        interp.set_tensor(in_index, Xq)
        interp.invoke()
        raw = np.array(interp.get_tensor(out_index)).reshape(len(Xq), -1)

    if out["dtype"] in ("int8", "uint8"):
        return dequantize(raw, scale=out["scale"], zero_point=out["zero_point"])
    return raw.astype(np.float32)


def classification_metrics(
    y_true: Any, scores: Any, labels: Sequence[str], *, min_confidence: float | None = None
) -> dict[str, Any]:
    """Accuracy, confusion matrix (rows: true label, columns: predicted), per-class
    precision/recall/F1/support, macro and weighted F1.

    `y_true`: class indices or label names. `scores`: (N, n_classes). With `min_confidence`,
    predictions whose top score is below it count as "uncertain" (wrong for accuracy, a
    separate column in the confusion matrix, excluded from precision)."""
    labels = list(labels)
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y_true)
    if y.dtype.kind in "USO":
        from workers.learn.training import label_indices

        y = label_indices(y, labels)
    y = y.astype(np.int64).ravel()
    if scores.ndim != 2 or scores.shape[0] != len(y):
        raise LearnError(f"{len(y)} targets but scores of shape {list(scores.shape)}")
    if scores.shape[1] != len(labels):
        raise LearnError(
            f"{len(labels)} labels but the model gives {scores.shape[1]} scores per sample"
        )
    if len(y) == 0:
        raise LearnError("no samples to evaluate")
    if y.min() < 0 or y.max() >= len(labels):
        raise LearnError(f"class index out of range 0..{len(labels) - 1}")
    n = len(labels)
    pred = scores.argmax(axis=1)
    uncertain = np.zeros(len(y), dtype=bool)
    if min_confidence is not None:
        uncertain = scores.max(axis=1) < min_confidence
    cm = np.zeros((n, n + (1 if min_confidence is not None else 0)), dtype=np.int64)
    for t, p, u in zip(y, pred, uncertain, strict=True):
        cm[t, n if u else p] += 1
    per_class = {}
    f1s, supports = [], []
    for i, name in enumerate(labels):
        tp = cm[i, i]
        predicted = cm[:n, i].sum()
        support = cm[i].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
            "support": int(support),
        }
        f1s.append(f1)
        supports.append(support)
    present = np.array(supports) > 0
    f1_arr = np.array(f1s)
    result: dict[str, Any] = {
        "n": int(len(y)),
        "accuracy": float(((pred == y) & ~uncertain).mean()),
        "labels": labels,
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
        "macro_f1": float(f1_arr[present].mean()) if present.any() else 0.0,
        "weighted_f1": float((f1_arr * np.array(supports)).sum() / len(y)),
        "loss": float(-np.mean(np.log(np.clip(scores[np.arange(len(y)), y], 1e-7, None)))),
    }
    if min_confidence is not None:
        result["uncertain"] = int(uncertain.sum())
        result["min_confidence"] = float(min_confidence)
    return result


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """MAE, RMSE, MSE, max absolute error and R² (per target, plus the mean over targets)."""
    yt = np.asarray(y_true, dtype=np.float64)
    yp = np.asarray(y_pred, dtype=np.float64)
    if yt.size == 0:
        raise LearnError("no samples to evaluate")
    if yp.size != yt.size:
        raise LearnError(f"{yt.size} targets but {yp.size} predictions")
    yp = yp.reshape(yt.shape)
    err = yp - yt
    ss_res = (err**2).sum(axis=0)
    ss_tot = ((yt - yt.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    mse = float((err**2).mean())
    return {
        "n": int(yt.shape[0]),
        "mae": float(np.abs(err).mean()),
        "mse": mse,
        "rmse": float(math.sqrt(mse)),
        "max_abs_error": float(np.abs(err).max()),
        "r2": float(np.mean(r2)),
    }
