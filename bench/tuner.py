"""Successive halving against random search on the same epoch budget (issue 12 item 3).

Both strategies draw from the same screened candidates (those the estimator says fit the
board's budget), in the same random order; successive halving trains many for a few epochs
and promotes the best third, random search trains as many as the same total number of epochs
allows at full length. Printed: the best int8 validation accuracy each finds (a split by
group: sample for motion, speaker for FSDD), its test accuracy and latency, and the ratio.

    PYTHONPATH=. python bench/tuner.py --data motion --candidates 9 --max-epochs 18 --repeats 2
    PYTHONPATH=. python bench/tuner.py --data fsdd --candidates 9 --max-epochs 9
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workers.tune import cost, strategy
from workers.tune import space as S
from workers.tune.trial import TuneData, load_fsdd, run_trial, screen, test_accuracy

FSDD = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fsdd"


def motion(n_per_label: int, seed: int) -> TuneData:
    from app.synthetic import motion_dataset

    ds = motion_dataset(n_per_label, seed=seed)
    return TuneData(
        "motion",
        [v for _, v in ds],
        [lab for lab, _ in ds],
        [f"s{seed}-{i}" for i in range(len(ds))],
        [16.0] * len(ds),
        sensors=["accX", "accY", "accZ"],
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=("motion", "fsdd"), default="motion")
    ap.add_argument("--board", default="Arduino Nano 33 BLE Sense")
    ap.add_argument("--max-latency-ms", type=float, default=None)
    ap.add_argument("--candidates", type=int, default=9)
    ap.add_argument("--max-epochs", type=int, default=18)
    ap.add_argument("--eta", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--speakers", default="george,jackson,lucas,nicolas,theo,yweweler")
    ap.add_argument("--per-digit", type=int, default=20)
    args = ap.parse_args()

    if args.data == "motion":
        train, test, kind = motion(8, 0), motion(4, 1), "motion"
    else:
        train, test = load_fsdd(FSDD, speakers=args.speakers.split(","), per_digit=args.per_digit)
        kind = "audio"
    limits = cost.limits_for(args.board, max_latency_ms=args.max_latency_ms)
    rungs = strategy.plan(args.candidates, max_epochs=args.max_epochs, eta=args.eta)
    budget = strategy.epoch_budget(rungs)
    n_random = max(1, budget // args.max_epochs)
    print(
        f"data {args.data}: {len(train.arrays)} training / {len(test.arrays)} test samples, "
        f"{len(train.classes)} classes, split by {train.split_key}; board {limits.board}"
    )
    print(
        f"halving rungs (count, epochs): {rungs}; budget {budget} epochs = "
        f"{n_random} random trials of {args.max_epochs} epochs"
    )
    space = S.narrow(kind, None)
    rows = []
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        pool, skipped = [], 0
        for p in S.sample_points(space, 4 * args.candidates, seed=100 + rep):
            s = screen(
                p,
                kind=kind,
                source_hz=train.source_hz,
                n_axes=train.n_axes,
                n_classes=len(train.classes),
                limits=limits,
            )
            if s.fits:
                pool.append(s)
            else:
                skipped += 1
            if len(pool) >= args.candidates:
                break
        random.Random(rep).shuffle(pool)
        t_screen = time.perf_counter() - t0
        cache: dict = {}

        def run(s, epochs, cache=cache):
            key = (id(s), epochs)
            if key not in cache:
                cache[key] = run_trial(train, s.impulse, epochs=epochs, board=limits.board)
            return cache[key]

        found = {}
        for name in strategy.STRATEGIES:
            t = time.perf_counter()
            if name == "halving":
                res = strategy.successive_halving(
                    pool, run, max_epochs=args.max_epochs, eta=args.eta
                )
            else:
                res = strategy.random_search(pool, run, epochs=args.max_epochs, n=n_random)
            b = strategy.best(res, final_epochs=args.max_epochs)
            acc_test = test_accuracy(test, pool[b["candidate"]].impulse, b["int8_tflite"])
            found[name] = b
            print(
                f"  repeat {rep} {name:8s}: {len(res)} trials, best val int8 "
                f"{b['accuracy']['int8']:.3f}, test int8 {acc_test:.3f}, latency "
                f"{b['profile']['latency_ms']:.2f} ms, RAM {b['profile']['ram_bytes']} B, "
                f"{time.perf_counter() - t:.0f} s (candidate {b['candidate']})"
            )
            rows.append((rep, name, b["accuracy"]["int8"], acc_test))
        print(
            f"  repeat {rep}: screened {len(pool) + skipped} ({skipped} skipped) in "
            f"{t_screen:.0f} s"
        )
    for name in strategy.STRATEGIES:
        vals = [r[2] for r in rows if r[1] == name]
        tests = [r[3] for r in rows if r[1] == name]
        print(
            f"{name:8s}: mean best val int8 {sum(vals) / len(vals):.3f}, "
            f"mean test int8 {sum(tests) / len(tests):.3f}"
        )
    h = [r[2] for r in rows if r[1] == "halving"]
    r_ = [r[2] for r in rows if r[1] == "random"]
    print(f"ratio halving/random (best val int8): {sum(h) / max(1e-9, sum(r_)):.3f}")


if __name__ == "__main__":
    main()
