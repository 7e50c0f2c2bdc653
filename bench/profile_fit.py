"""Fit the fast estimator (workers/deploy/profile/estimator_table.json) on QEMU measurements.

Builds small random networks of the layer kinds the compiler supports (DS-CNN, MobileNet-like,
ResNet-like blocks, MLPs; int8 and float32; seeded shapes), measures every operator of each on
every Cortex-M core with the class counter (workers.deploy.profile.measure), and fits per core
and kernel the non-negative linear costs of workers.deploy.profile.estimate. None of the
MLPerf Tiny models in ../shared/data/models is used: bench/profile.py measures the error there.

    PYTHONPATH=. python bench/profile_fit.py [--models N] [--targets cortex-m4f,...] [--out PATH]

Needs TensorFlow (to build the networks), arm-none-eabi-gcc and qemu-system-arm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workers.deploy.profile.cycles import CORES, cycles_from_classes, taken_branches
from workers.deploy.profile.estimate import TABLE_PATH, fit_table, op_features, op_key
from workers.deploy.profile.measure import measure_model
from workers.deploy.reader import read_model


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def build_network(kind: str, rng: np.random.Generator, tf):
    """A small Keras network of `kind` with seeded random shapes."""
    layers = tf.keras.layers
    if kind == "dscnn":
        h, w = int(rng.choice([20, 32, 49])), int(rng.choice([10, 16]))
        f = int(rng.choice([8, 16, 32]))
        x = inp = tf.keras.Input((h, w, 1), batch_size=1)
        x = layers.Conv2D(f, (int(rng.choice([3, 10])), 4), strides=2, padding="same")(x)
        x = layers.ReLU()(x)
        for _ in range(int(rng.integers(1, 3))):
            x = layers.DepthwiseConv2D(3, padding="same")(x)
            x = layers.ReLU()(x)
            x = layers.Conv2D(f, 1)(x)
            x = layers.ReLU()(x)
        x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
        x = layers.Flatten()(x)
        x = layers.Dense(int(rng.choice([4, 10, 12])))(x)
        x = layers.Softmax()(x)
    elif kind == "mobilenet":
        s = int(rng.choice([24, 32, 48]))
        c = int(rng.choice([1, 3]))
        f = int(rng.choice([8, 16]))
        x = inp = tf.keras.Input((s, s, c), batch_size=1)
        x = layers.Conv2D(f, 3, strides=2, padding="same")(x)
        x = layers.ReLU(6.0)(x)
        for stride, mult in ((1, 2), (2, 2), (1, 1)):
            x = layers.DepthwiseConv2D(3, strides=stride, padding="same")(x)
            x = layers.ReLU(6.0)(x)
            f *= mult
            x = layers.Conv2D(f, 1)(x)
            x = layers.ReLU(6.0)(x)
        x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
        x = layers.Flatten()(x)
        x = layers.Dense(2)(x)
        x = layers.Softmax()(x)
    elif kind == "resnet":
        s = int(rng.choice([16, 24, 32]))
        f = int(rng.choice([8, 16]))
        x = inp = tf.keras.Input((s, s, 3), batch_size=1)
        x = layers.Conv2D(f, 3, padding="same")(x)
        x = layers.ReLU()(x)
        y = layers.Conv2D(f, 3, padding="same")(x)
        y = layers.ReLU()(y)
        y = layers.Conv2D(f, 3, padding="same")(y)
        x = layers.ReLU()(layers.Add()([x, y]))
        x = layers.Conv2D(2 * f, 3, strides=2, padding="same")(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
        x = layers.Flatten()(x)
        x = layers.Dense(10)(x)
        x = layers.Softmax()(x)
    else:  # mlp
        n = int(rng.choice([64, 128, 320, 640]))
        x = inp = tf.keras.Input((n,), batch_size=1)
        for units in (int(rng.choice([32, 64, 128])), int(rng.choice([8, 16, 32]))):
            x = layers.Dense(units)(x)
            x = layers.ReLU()(x)
        x = layers.Dense(n if rng.random() < 0.5 else 4)(x)
    return tf.keras.Model(inp, x)


def convert(model, rng: np.random.Generator, tf, *, int8: bool) -> bytes:
    for w in model.weights:
        w.assign(rng.normal(0.0, 0.3, size=tuple(w.shape)).astype(np.float32))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        shape = tuple(model.inputs[0].shape)

        def representative():
            for _ in range(16):
                yield [rng.uniform(-2, 2, size=shape).astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def fit_models(n: int, seed: int) -> list[tuple[str, bytes]]:
    tf = _tf()
    rng = np.random.default_rng(seed)
    kinds = ("dscnn", "mobilenet", "resnet", "mlp")
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        tf.keras.utils.set_random_seed(seed + i)
        model = build_network(kind, rng, tf)
        int8 = i % 3 != 2  # two in three int8, one float32
        out.append((f"{kind}{i}-{'int8' if int8 else 'f32'}", convert(model, rng, tf, int8=int8)))
    return out


def samples_of(name: str, tflite: bytes, target: str) -> tuple[list[dict], dict, dict]:
    graph = read_model(tflite)
    m = measure_model(tflite, target)
    rows = []
    for op, meas in zip(graph.operators, m.operators, strict=True):
        report = cycles_from_classes(meas.classes, target)
        rows.append(
            {
                "model": name,
                "target": target,
                "key": op_key(graph, op),
                "features": op_features(graph, op),
                "cycles": report.cycles,
                "instructions": report.instructions,
                "taken": taken_branches(meas.classes),
            }
        )
    over = cycles_from_classes(m.overhead, target)
    overhead = {
        "cycles": over.cycles,
        "instructions": over.instructions,
        "taken": taken_branches(m.overhead),
    }
    memory = {
        "text": m.text_bytes,
        "data": m.data_bytes,
        "bss": m.bss_bytes,
        "io": m.io_buffer_bytes,
        "stack": m.stack_used_bytes,
        "ops": len(graph.operators),
    }
    return rows, overhead, memory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", type=int, default=12)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--targets", default=",".join(CORES))
    ap.add_argument("--out", type=Path, default=TABLE_PATH)
    ap.add_argument("--samples", type=Path, default=None, help="also write the raw samples here")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="replace only --targets in the existing --out table (their own fitted_on list)",
    )
    args = ap.parse_args()
    targets = args.targets.split(",")

    from workers.deploy.compiler import compile_model

    started = time.monotonic()
    models = fit_models(args.models, args.seed)
    print(f"built {len(models)} networks in {time.monotonic() - started:.0f} s", flush=True)
    samples: list[dict] = []
    overheads: dict[str, list[dict]] = {t: [] for t in targets}
    memories: dict[str, list[dict]] = {t: [] for t in targets}
    weights: dict[str, tuple[int, int, int]] = {}
    for name, tflite in models:
        c = compile_model(tflite)
        weights[name] = (c.weights_bytes, c.arena_bytes, c.scratch_bytes)
        for target in targets:
            t0 = time.monotonic()
            rows, overhead, memory = samples_of(name, tflite, target)
            samples += rows
            overheads[target].append(overhead)
            memories[target].append({**memory, "model": name})
            total = sum(r["cycles"] for r in rows) + overhead["cycles"]
            print(
                f"{name:18s} {target:14s} {len(rows):3d} ops {total:>12,} cycles "
                f"({time.monotonic() - t0:.1f} s)",
                flush=True,
            )
    overhead = {
        t: {
            q: float(np.median([o[q] for o in overheads[t]]))
            for q in ("cycles", "instructions", "taken")
        }
        for t in targets
    }
    table = fit_table(samples, overhead=overhead)
    for t in targets:
        rows = memories[t]
        # code = text + data - weights, fitted as base + per-operator (least squares)
        a = np.asarray([[1.0, r["ops"]] for r in rows])
        y = np.asarray([r["text"] + r["data"] - weights[r["model"]][0] for r in rows], float)
        (base, per_op), *_ = np.linalg.lstsq(a, y, rcond=None)
        other = [
            r["data"] + r["bss"] - r["io"] - weights[r["model"]][1] - weights[r["model"]][2]
            for r in rows
        ]
        table["targets"][t]["memory"] = {
            "code_base": round(float(base)),
            "code_per_op": round(float(per_op)),
            "stack": int(max(r["stack"] for r in rows)),
            "other_ram": int(np.median(other)),
        }
    names = [name for name, _ in models]
    if args.merge and args.out.is_file():
        base = json.loads(args.out.read_text())
        for t in targets:
            base["targets"][t] = {**table["targets"][t], "fitted_on": names}
        table = base
    else:
        table["fitted_on"] = names
    args.out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    if args.samples:
        args.samples.write_text(json.dumps(samples))
    print(f"wrote {args.out} ({len(samples)} operator samples, {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
