"""Fast estimator: per-operator costs fitted on QEMU measurements, no toolchain needed.

Every operator is described by a kernel key (opcode, data type and the kernel variant the
compiler picks: pointwise or general convolution, 3x3 or general depthwise) and a feature
vector: multiply-accumulates, output elements, input elements, im2col elements (the inner
rows a convolution packs) and a constant. Per core and key, three non-negative linear models
predict the operator's cycles (zero wait states), executed instructions and taken branches
(which the board's flash wait states cost). `bench/profile_fit.py` measures many layer shapes
under QEMU (`measure.measure_model`) and writes the coefficients to `estimator_table.json`
beside this file; `bench/profile.py` measures the error on models the fit never saw.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.deploy.ir import Graph, Operator

TABLE_PATH = Path(__file__).resolve().parent / "estimator_table.json"
QUANTITIES = ("cycles", "instructions", "taken")
FEATURES = ("macs", "out_elements", "in_elements", "im2col_elements", "one")


def op_key(graph: Graph, op: Operator) -> str:
    """The kernel an operator runs: opcode, output dtype and the variant the compiler picks."""
    out = graph.tensor(op.outputs[0])
    dtype = "int8" if out.dtype in ("int8", "uint8", "int16", "int32") else out.dtype
    if op.opcode == "QUANTIZE":
        dtype = f"{graph.tensor(op.inputs[0]).dtype}->{out.dtype}"
    variant = ""
    if op.opcode == "CONV_2D":
        flt = graph.tensor(op.inputs[1])
        variant = ":1x1" if flt.shape[1] == 1 and flt.shape[2] == 1 else ":kxk"
    elif op.opcode == "DEPTHWISE_CONV_2D":
        flt = graph.tensor(op.inputs[1])
        variant = ":3x3" if flt.shape[1] == 3 and flt.shape[2] == 3 else ":kxk"
    return f"{op.opcode}:{dtype}{variant}"


def op_features(graph: Graph, op: Operator) -> list[float]:
    out = graph.tensor(op.outputs[0])
    inputs = [graph.tensor(i) for i in op.inputs if i >= 0]
    in_elements = sum(t.num_elements for t in inputs if not t.is_constant)
    macs = 0
    im2col = 0
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        flt = graph.tensor(op.inputs[1])
        if op.opcode == "CONV_2D":
            row = int(np.prod(flt.shape[1:]))
            macs = out.num_elements * row
            im2col = (out.num_elements // max(1, out.shape[-1])) * row
        elif op.opcode == "DEPTHWISE_CONV_2D":
            macs = out.num_elements * int(flt.shape[1] * flt.shape[2])
            im2col = macs
        else:
            macs = out.num_elements * int(flt.shape[-1])
            im2col = int(flt.shape[-1])
    return [float(macs), float(out.num_elements), float(in_elements), float(im2col), 1.0]


@functools.lru_cache(maxsize=1)
def load_table(path: str = str(TABLE_PATH)) -> dict:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"no fitted estimator table at {p}: run bench/profile_fit.py (needs the Arm toolchain)"
        )
    return json.loads(p.read_text())


def _coefficients(table: dict, target: str, key: str, quantity: str) -> list[float]:
    per_target = table["targets"].get(target)
    if per_target is None:
        raise ValueError(f"the estimator has no fit for {target!r}; fitted: {', '.join(table)}")
    # exact kernel, then the opcode/dtype without variant, then the opcode, then the fallback
    parts = key.split(":")
    for candidate in (key, ":".join(parts[:2]), parts[0], "*"):
        entry = per_target["ops"].get(candidate)
        if entry is not None:
            return entry[quantity]
    return [0.0] * len(FEATURES)


@dataclass(frozen=True)
class OperatorEstimate:
    index: int
    opcode: str
    key: str
    cycles: float
    instructions: float
    taken: float


def estimate_graph(graph: Graph, target: str, *, table: dict | None = None) -> dict:
    """Per-operator and total estimates (cycles at zero wait states, instructions, taken
    branches) of one inference of `graph` on `target`'s core."""
    table = table if table is not None else load_table()
    per_target = table["targets"].get(target)
    if per_target is None:
        raise ValueError(f"the estimator has no fit for {target!r}")
    ops = []
    totals = dict(per_target["overhead"])
    for op in graph.operators:
        key = op_key(graph, op)
        x = np.asarray(op_features(graph, op))
        values = {
            q: float(x @ np.asarray(_coefficients(table, target, key, q))) for q in QUANTITIES
        }
        ops.append(OperatorEstimate(op.index, op.opcode, key, **values))
        for q in QUANTITIES:
            totals[q] = totals.get(q, 0.0) + values[q]
    return {"operators": ops, **{q: totals.get(q, 0.0) for q in QUANTITIES}}


def fit_table(samples: Sequence[dict], *, overhead: dict[str, dict[str, float]]) -> dict:
    """Fit the coefficients from measured operator samples.

    `samples`: dicts with target, key, features (FEATURES order) and the QUANTITIES measured.
    Non-negative least squares on relative error (rows weighted by 1 / measured value), per
    target and key, and per target and opcode/dtype as a fallback for unseen variants.
    """
    from scipy.optimize import nnls

    targets: dict[str, dict] = {}
    groups: dict[tuple[str, str], list[dict]] = {}
    for s in samples:
        parts = s["key"].split(":")
        for k in {s["key"], ":".join(parts[:2]), parts[0], "*"}:
            groups.setdefault((s["target"], k), []).append(s)
    for (target, key), rows in sorted(groups.items()):
        entry: dict[str, Any] = {}
        a = np.asarray([r["features"] for r in rows], dtype=np.float64)
        used = a.any(axis=0)  # drop all-zero feature columns
        for q in QUANTITIES:
            y = np.asarray([r[q] for r in rows], dtype=np.float64)
            w = 1.0 / np.maximum(y, 1.0)
            coef = np.zeros(a.shape[1])
            if used.any():
                sol, _ = nnls(a[:, used] * w[:, None], y * w)
                coef[used] = sol
            entry[q] = [float(f"{c:.6g}") for c in coef]
        entry["samples"] = len(rows)
        targets.setdefault(target, {"ops": {}, "overhead": overhead.get(target, {})})
        targets[target]["ops"][key] = entry
    return {"features": list(FEATURES), "quantities": list(QUANTITIES), "targets": targets}
