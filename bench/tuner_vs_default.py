"""Issue 12's "done when": does the tuner find, under the Arduino Nano 33 BLE Sense's limits, a
configuration whose test accuracy beats the default impulse's at equal or lower latency?

1. the default impulse (the demo's: motion = spectral + dense 20/10, 30 epochs; FSDD = MFCC +
   DS-CNN, 40 epochs) is trained on the training split, its int8 test accuracy measured with
   TFLite Micro and its model latency estimated on the board;
2. the tuner (successive halving, this process, the same pure code the trial jobs run) searches
   the default space for the data's kind with maxLatencyMs = the default's latency;
3. the best final-rung trial's int8 test accuracy and latency are printed beside the default's.

    PYTHONPATH=. python bench/tuner_vs_default.py --data motion
    PYTHONPATH=. python bench/tuner_vs_default.py --data fsdd --per-digit 15 --candidates 9
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.tuner import FSDD, motion
from workers.dsp import get_block
from workers.learn import default_architecture
from workers.tune import cost, strategy
from workers.tune import space as S
from workers.tune.trial import load_fsdd, run_trial, screen, test_accuracy

BOARD = "Arduino Nano 33 BLE Sense"


def default_impulse(kind: str, n_classes: int) -> tuple[dict, int]:
    if kind == "motion":
        inp = {
            "type": "time-series",
            "window_size_ms": 1000,
            "window_increase_ms": 500,
            "frequency_hz": 62.5,
            "pad_short": True,
        }
        block, feature_kind, epochs, n_axes = "spectral", "spectral", 30, 3
    else:
        inp = {
            "type": "time-series",
            "window_size_ms": 1000,
            "window_increase_ms": 1000,
            "frequency_hz": 8000,
            "pad_short": True,
        }
        block, feature_kind, epochs, n_axes = "mfcc", "mfcc", 40, 1
    b = get_block(block)
    params = b.validate({})
    samples = int(inp["window_size_ms"] * inp["frequency_hz"] / 1000 + 0.5)
    shape = b.output_shape(
        window_samples=samples, n_axes=n_axes, frequency_hz=inp["frequency_hz"], params=params
    )
    layers = default_architecture(input_shape=shape, feature_kind=feature_kind, n_outputs=n_classes)
    return {
        "input": inp,
        "dsp": {"block": block, "params": params},
        "learn": {"layers": layers},
        "feature_shape": list(shape),
    }, epochs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=("motion", "fsdd"), default="motion")
    ap.add_argument("--candidates", type=int, default=9)
    ap.add_argument("--max-epochs", type=int, default=None, help="default: the default's")
    ap.add_argument("--per-digit", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.data == "motion":
        train, test, kind = motion(20, 0), motion(5, 1), "motion"  # the demo's data set sizes
    else:
        train, test = load_fsdd(FSDD, per_digit=args.per_digit)
        kind = "audio"
    print(
        f"{args.data}: {len(train.arrays)} training / {len(test.arrays)} test samples, "
        f"validation split by {train.split_key}"
    )
    t = time.perf_counter()
    imp, epochs = default_impulse(kind, len(train.classes))
    d = run_trial(train, imp, epochs=epochs, board=BOARD, seed=args.seed)
    d_test = test_accuracy(test, imp, d["int8_tflite"])
    print(
        f"default ({imp['dsp']['block']}, {epochs} epochs): val int8 "
        f"{d['accuracy']['int8']:.4f}, test int8 {d_test:.4f}, latency "
        f"{d['profile']['latency_ms']:.3f} ms, RAM {d['profile']['ram_bytes']} B, "
        f"flash {d['profile']['flash_bytes']} B ({time.perf_counter() - t:.0f} s)"
    )

    limits = cost.limits_for(BOARD, max_latency_ms=d["profile"]["latency_ms"])
    max_epochs = args.max_epochs or epochs
    t0 = time.perf_counter()
    pool, skipped = [], []
    for p in S.sample_points(S.narrow(kind, None), 4 * args.candidates, seed=args.seed):
        s = screen(
            p,
            kind=kind,
            source_hz=train.source_hz,
            n_axes=train.n_axes,
            n_classes=len(train.classes),
            limits=limits,
        )
        (pool if s.fits else skipped).append(s)
        if len(pool) >= args.candidates:
            break
    random.Random(args.seed).shuffle(pool)
    t_screen = time.perf_counter() - t0
    print(
        f"screened {len(pool) + len(skipped)} candidates in {t_screen:.0f} s: "
        f"{len(pool)} fit, {len(skipped)} skipped (latency > {limits.max_latency_ms:.3f} ms "
        f"or memory)"
    )

    def run(s, ep):
        return run_trial(train, s.impulse, epochs=ep, board=BOARD, seed=args.seed)

    res = strategy.successive_halving(pool, run, max_epochs=max_epochs)
    b = strategy.best(res, final_epochs=max_epochs)
    b_test = test_accuracy(test, pool[b["candidate"]].impulse, b["int8_tflite"])
    search_s = time.perf_counter() - t0
    print(
        f"tuner best ({pool[b['candidate']].point}): val int8 {b['accuracy']['int8']:.4f}, "
        f"test int8 {b_test:.4f}, latency {b['profile']['latency_ms']:.3f} ms, RAM "
        f"{b['profile']['ram_bytes']} B, flash {b['profile']['flash_bytes']} B"
    )
    print(
        f"search: {len(res)} trials, {strategy.plan(len(pool), max_epochs=max_epochs)}, "
        f"{search_s:.0f} s in one process on this 2-core machine (shared, loaded)"
    )
    beats = b_test > d_test and b["profile"]["latency_ms"] <= d["profile"]["latency_ms"]
    print(
        f"tuner beats the default at equal or lower latency: {beats} "
        f"(test int8 {b_test:.4f} vs {d_test:.4f}, latency "
        f"{b['profile']['latency_ms']:.3f} vs {d['profile']['latency_ms']:.3f} ms)"
    )


if __name__ == "__main__":
    main()
