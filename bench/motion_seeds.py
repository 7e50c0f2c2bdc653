"""The motion demo's classifier across seeds, validation split by window vs by sample.

The demo's small dense network on unnormalised spectral features sometimes stalls (training
accuracy ~50 %) depending on the seed, whichever way validation is split; this prints, per seed,
the final training and validation accuracy for both splits of the demo's synthetic data
(20 samples per label, 1000/500 ms windows at 62.5 Hz, spectral features, 30 epochs).

    PYTHONPATH=. python bench/motion_seeds.py [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from app.synthetic import motion_dataset  # noqa: E402
from workers.dsp import TimeSeriesInput, get_block, make_windows  # noqa: E402
from workers.learn import TrainSettings, default_architecture  # noqa: E402
from workers.learn.training import train  # noqa: E402

LABELS = ["circle", "idle", "shake", "wave"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    spec = TimeSeriesInput(
        axes=None, window_size_ms=1000, window_increase_ms=500, frequency_hz=62.5, pad_short=True
    )
    block = get_block("spectral")
    X, y, groups = [], [], []
    for i, (label, values) in enumerate(motion_dataset(20, seed=0)):
        windows = make_windows(np.asarray(values, dtype=np.float64), interval_ms=16, spec=spec)
        for f in block.run(windows, frequency_hz=62.5, params={}).features:
            X.append(f)
            y.append(LABELS.index(label))
            groups.append(str(i))
    X, y, g = np.array(X, dtype=np.float32), np.array(y), np.array(groups)
    layers = default_architecture(
        input_shape=X.shape[1:], feature_kind="spectral", n_outputs=4, task="classification"
    )
    print(f"{len(X)} windows of {len(set(groups))} samples")
    for seed in args.seeds:
        for name, grouping in (("by window", None), ("by sample", g)):
            r = train(
                X,
                y,
                labels=LABELS,
                layers=layers,
                settings=TrainSettings(epochs=30, seed=seed),
                groups=grouping,
            )
            h = r.history[-1]
            print(
                f"seed {seed} {name}: train accuracy {h['accuracy']:.3f}, "
                f"validation accuracy {h['val_accuracy']:.3f}"
            )


if __name__ == "__main__":
    main()
