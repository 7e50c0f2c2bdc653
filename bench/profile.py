"""The fast estimator's error against QEMU measurements, on models it was not fitted on.

For every model in ../shared/data/models (the MLPerf Tiny models: published by others, never
used by bench/profile_fit.py) and every Cortex-M core: the cycles measured under QEMU with the
class counter and the core's cycle model (the baseline), the estimator's cycles, and the time
one estimate takes. Prints per core the mean absolute percentage error (MAPE) and the mean and
worst time per estimate (goal: <= 5 % and < 50 ms per board).

    PYTHONPATH=. python bench/profile.py [--models kws_ref_model,...] [--targets cortex-m4f,...]

Needs arm-none-eabi-gcc and qemu-system-arm (for the measurements).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workers.deploy.profile.cycles import CORES, cycles_from_classes
from workers.deploy.profile.estimate import estimate_graph, load_table
from workers.deploy.profile.measure import measure_model
from workers.deploy.reader import read_model

MODELS_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "models"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", default="", help="comma-separated stems (default: all)")
    ap.add_argument("--targets", default=",".join(CORES))
    ap.add_argument("--repeat", type=int, default=20, help="estimates timed per model and core")
    args = ap.parse_args()
    paths = sorted(MODELS_DIR.glob("*.tflite"))
    if args.models:
        wanted = set(args.models.split(","))
        paths = [p for p in paths if p.stem in wanted]
    targets = args.targets.split(",")
    table = load_table()
    fitted = set(table.get("fitted_on", []))
    for entry in table["targets"].values():  # a core refitted alone (profile_fit.py --merge)
        fitted |= set(entry.get("fitted_on", []))
    errors: dict[str, list[float]] = {t: [] for t in targets}
    times: dict[str, list[float]] = {t: [] for t in targets}
    print(
        f"{'model':24s} {'core':14s} {'QEMU cycles':>14s} {'estimate':>14s} {'error':>8s} "
        f"{'ms/est':>7s}"
    )
    for path in paths:
        assert path.stem not in fitted, f"{path.stem} was used by the fit"
        data = path.read_bytes()
        for target in targets:
            measured = measure_model(data, target)
            baseline = cycles_from_classes(measured.classes, target).cycles
            started = time.perf_counter()
            for _ in range(args.repeat):
                graph = read_model(data)  # the estimate includes reading the model
                est = estimate_graph(graph, target, table=table)
            per_estimate_ms = (time.perf_counter() - started) / args.repeat * 1000
            err = (est["cycles"] - baseline) / baseline
            errors[target].append(abs(err))
            times[target].append(per_estimate_ms)
            print(
                f"{path.stem:24s} {target:14s} {baseline:>14,} {round(est['cycles']):>14,} "
                f"{100 * err:>+7.1f}% {per_estimate_ms:>7.1f}",
                flush=True,
            )
    print()
    print(f"{'core':14s} {'MAPE':>7s} {'worst':>7s} {'mean ms/estimate':>17s} {'max ms':>7s}")
    for target in targets:
        e, t = np.asarray(errors[target]), np.asarray(times[target])
        if len(e):
            print(
                f"{target:14s} {100 * e.mean():>6.1f}% {100 * e.max():>6.1f}% "
                f"{t.mean():>17.1f} {t.max():>7.1f}"
            )


if __name__ == "__main__":
    main()
