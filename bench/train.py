"""Keyword spotting on the Free Spoken Digit Dataset with the default MFCC learning block.

Stages timed on this machine: MFCC features, training, float32 + int8 conversion, testing
(TFLite Micro). Baseline measured in the same run: a scikit-learn logistic regression on the
same features; the script prints each stage's time as a ratio to the baseline's fit time, and
the accuracies of float32, int8 and the baseline on the test set (recordings with index 0-4).

    .venv/bin/python bench/train.py [--data ../shared/data/fsdd] [--seed 1] [--epochs N] [--json]

The features here are python_speech_features' MFCC with Edge Impulse's defaults (13
coefficients, 20 ms frames and stride, 32 filters, FFT 256, 1 s windows zero-padded → 50×13),
close to what the platform's MFCC block computes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from workers.learn import TrainSettings, default_architecture  # noqa: E402
from workers.learn.pipeline import evaluate_models, train_and_quantize  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "fsdd"
LABELS = [str(d) for d in range(10)]
SAMPLE_RATE_HZ = 8000


def mfcc_features(
    signal: np.ndarray, *, sample_rate_hz: int = SAMPLE_RATE_HZ, window_s: float = 1.0
) -> np.ndarray:
    """(50, 13) MFCC of the first `window_s` of a recording, zero-padded."""
    from python_speech_features import mfcc

    n = int(round(window_s * sample_rate_hz))
    sig = np.zeros(n, dtype=np.float64)
    sig[: min(n, len(signal))] = signal[:n]
    return mfcc(
        sig,
        sample_rate_hz,
        winlen=0.02,
        winstep=0.02,
        numcep=13,
        nfilt=32,
        nfft=256,
        preemph=0.98,
        appendEnergy=True,
        winfunc=lambda length: np.ones((length,)),
    ).astype(np.float32)


def load_fsdd(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Features, digit labels, is-test mask (index 0-4) and speakers for every recording."""
    from scipy.io import wavfile

    files = sorted(Path(data_dir).glob("*.wav"))
    if not files:
        raise SystemExit(f"no .wav files in {data_dir}")
    X, y, is_test, speakers = [], [], [], []
    for path in files:
        digit, speaker, index = path.stem.split("_")
        rate, signal = wavfile.read(path)
        if rate != SAMPLE_RATE_HZ:
            raise SystemExit(f"{path.name}: {rate} Hz, expected {SAMPLE_RATE_HZ}")
        X.append(mfcc_features(signal.astype(np.float64)))
        y.append(int(digit))
        is_test.append(int(index) <= 4)
        speakers.append(speaker)
    return np.stack(X), np.array(y), np.array(is_test), speakers


def run(
    data_dir: Path = DEFAULT_DATA, *, seed: int = 1, epochs: int | None = None, verbose: bool = True
) -> dict:
    stages: dict[str, float] = {}
    t = time.perf_counter()
    X, y, is_test, _ = load_fsdd(data_dir)
    stages["features"] = time.perf_counter() - t
    X_train, y_train, X_test, y_test = X[~is_test], y[~is_test], X[is_test], y[is_test]

    layers = default_architecture(
        input_shape=X.shape[1:], feature_kind="mfcc", n_outputs=len(LABELS)
    )
    settings = TrainSettings(seed=seed)
    if epochs is not None:
        settings.epochs = epochs

    def on_epoch(epoch: int, m: dict) -> None:
        if verbose and (epoch % 10 == 0 or epoch == settings.epochs):
            print(
                f"  epoch {epoch:3d}  loss {m['loss']:.4f}  acc {m['accuracy']:.4f}  "
                f"val_loss {m.get('val_loss', float('nan')):.4f}  val_acc "
                f"{m.get('val_accuracy', float('nan')):.4f}",
                flush=True,
            )

    trained = train_and_quantize(
        X_train, y_train, labels=LABELS, layers=layers, settings=settings, on_epoch=on_epoch
    )
    stages.update(trained.stages_s)
    t = time.perf_counter()
    test = evaluate_models(
        {"float32": trained.float32_tflite, "int8": trained.int8_tflite},
        X_test,
        y_test,
        labels=LABELS,
    )
    stages["test"] = time.perf_counter() - t

    from sklearn.linear_model import LogisticRegression

    t = time.perf_counter()
    mean, std = (
        X_train.reshape(len(X_train), -1).mean(0),
        X_train.reshape(len(X_train), -1).std(0) + 1e-6,
    )
    baseline = LogisticRegression(max_iter=2000).fit(
        (X_train.reshape(len(X_train), -1) - mean) / std, y_train
    )
    baseline_s = time.perf_counter() - t
    baseline_acc = float(
        (baseline.predict((X_test.reshape(len(X_test), -1) - mean) / std) == y_test).mean()
    )

    return {
        "n_train": int(len(y_train)),
        "n_test": int(len(y_test)),
        "seed": seed,
        "epochs": settings.epochs,
        "test_accuracy": {"float32": test["float32"]["accuracy"], "int8": test["int8"]["accuracy"]},
        "validation_accuracy": {k: v["accuracy"] for k, v in trained.validation.items()},
        "baseline": {
            "name": "logistic regression (sklearn)",
            "test_accuracy": baseline_acc,
            "fit_s": baseline_s,
        },
        "stages": stages,
        "int8_input": {
            "scale": trained.io["input"]["scale"],
            "zero_point": trained.io["input"]["zero_point"],
        },
        "model": {
            k: trained.card[k]
            for k in ("keras_parameters", "parameters", "macs", "operators", "file_bytes")
        },
        "confusion_matrix_int8": test["int8"]["confusion_matrix"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON only")
    args = parser.parse_args()
    summary = run(args.data, seed=args.seed, epochs=args.epochs, verbose=not args.json)
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    base = summary["baseline"]["fit_s"]
    print(
        f"FSDD: {summary['n_train']} train / {summary['n_test']} test recordings, seed "
        f"{summary['seed']}, {summary['epochs']} epochs"
    )
    print(
        f"model: {summary['model']['keras_parameters']} Keras parameters "
        f"({summary['model']['parameters']} after batch-norm folding), {summary['model']['macs']} "
        f"MACs, ops {', '.join(summary['model']['operators'])}, int8 .tflite "
        f"{summary['model']['file_bytes']} bytes"
    )
    print(
        f"int8 input scale {summary['int8_input']['scale']:.4f} zero point "
        f"{summary['int8_input']['zero_point']}"
    )
    print(f"{'stage':<10} {'seconds':>9} {'x baseline fit':>15}")
    for name, seconds in summary["stages"].items():
        print(f"{name:<10} {seconds:9.2f} {seconds / base:15.1f}")
    print(f"{'baseline':<10} {base:9.2f} {1.0:15.1f}   ({summary['baseline']['name']})")
    acc = summary["test_accuracy"]
    print(
        f"test accuracy: float32 {acc['float32']:.4f}  int8 {acc['int8']:.4f}  "
        f"(int8 - float32 {100 * (acc['int8'] - acc['float32']):+.2f} points)  baseline "
        f"{summary['baseline']['test_accuracy']:.4f}"
    )


if __name__ == "__main__":
    main()
