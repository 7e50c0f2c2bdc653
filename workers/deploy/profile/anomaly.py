"""Cost of the anomaly scorer (`anomaly_score` in package/runtime/tinyforge_classifier.c) per core,
computed from the block's dimensions (features D, clusters K, kind) and a per-core table of what
one float operation costs.

`FLOAT_OP_CYCLES` was measured under QEMU with `measure_float_ops` (one operation per SEV region of
runtime/tinyforge_profile_float_ops.c, priced by the cycle model `cycles.py`; on cores without an
FPU each operation is a libgcc/libm call). `expf`/`logf` depend on their argument: the table holds
one argument's cost (expf(-1.2345), logf(1.2345)). Loads, stores and loop overhead are priced from
the cycle model's tables: a load/store `costs["load"]`, one loop iteration `alu + b_cond + refill`
plus the board's flash wait states (a taken branch). `tests/workers/deploy/profile/test_anomaly.py`
re-measures the table under QEMU and checks it.

RAM: the scorer's stack (z[D] floats, lp[K] floats for a GMM, and `FRAME_BYTES` of saved
registers); flash: its parameter tables as `impulse.c.j2` lays them out. The scorer's code and the
libm routines it calls are not counted (a note says so).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from workers.deploy.profile.cycles import CORES

FLOAT_OPS_MAIN = Path(__file__).resolve().parent / "runtime" / "tinyforge_profile_float_ops.c"
OPS = ("add", "mul", "mac", "div", "sqrt", "exp", "log")

# Measured: PYTHONPATH=. python -c "from workers.deploy.profile.anomaly import measure_float_ops as
# m; print({t: m(t) for t in ('cortex-m0plus', 'cortex-m3', 'cortex-m4f', 'cortex-m33',
# 'cortex-m7', 'cortex-m55')})" (2026-12-03, QEMU 7.2 class counts, cycles.py).
FLOAT_OP_CYCLES: dict[str, dict[str, int]] = {
    "cortex-m0plus": dict(add=98, mul=148, mac=236, div=452, sqrt=391, exp=3362, log=3061),
    "cortex-m3": dict(add=60, mul=40, mac=98, div=163, sqrt=392, exp=1453, log=1295),
    "cortex-m4f": dict(add=1, mul=1, mac=2, div=15, sqrt=17, exp=145, log=131),
    "cortex-m33": dict(add=1, mul=1, mac=2, div=15, sqrt=17, exp=143, log=137),
    "cortex-m7": dict(add=0, mul=0, mac=1, div=14, sqrt=17, exp=100, log=89),
    "cortex-m55": dict(add=1, mul=1, mac=2, div=17, sqrt=19, exp=60, log=66),
}
FRAME_BYTES = 32  # saved registers and locals besides the arrays (an assumption)
NOTE = "anomaly: computed from the block's dimensions; the scorer's code and libm are not counted"


def measure_float_ops(target: str, *, timeout_s: float = 60) -> dict[str, int]:
    """Cycles of each float operation of `OPS` on `target` (QEMU class counts priced by the
    cycle model), the empty region's cost subtracted."""
    from workers.deploy.mcu import McuRunError, build_elf, run_elf
    from workers.deploy.profile.cycles import cycles_from_classes

    with tempfile.TemporaryDirectory(prefix="tf-profile-ops-") as tmp:
        elf = build_elf(target, sources=[FLOAT_OPS_MAIN], include_dirs=[], out_dir=Path(tmp))
        run = run_elf(
            target,
            elf.path,
            timeout_s=timeout_s,
            count_instructions=True,
            count_mode="class",
            machine=elf.machine,
        )
    if run.exit_code != 0 or len(run.classes) != len(OPS) + 1:
        raise McuRunError(f"measuring float operations on {target} failed (exit {run.exit_code})")
    cycles = [cycles_from_classes(c, target).cycles for c in run.classes]
    return {op: max(0, c - cycles[-1]) for op, c in zip(OPS, cycles, strict=False)}


def anomaly_counts(kind: str, features: int, clusters: int, full: bool = False) -> dict[str, int]:
    """Operations of one `anomaly_score` call: float ops of `OPS`, `mem` (loads and stores) and
    `loop` (loop iterations), read off the C source."""
    d, k = features, clusters
    # z[i] = (x[index[i]] - mean[i]) / scale[i]: loads index, x, mean, scale; store z
    n = dict.fromkeys(OPS, 0) | {"mem": 5 * d, "loop": d}
    n["add"] += d
    n["div"] += d
    if kind == "kmeans":
        # d2 += (z - c)^2 per feature; ratio = sqrtf(d2) / radius; min
        n["mem"] += k * (2 * d + 1)
        n["add"] += k * (d + 1)
        n["mac"] += k * d
        n["sqrt"] += k
        n["div"] += k
        n["loop"] += k * (d + 1)
        return n
    if kind != "gmm":
        raise ValueError(f"no cost model for anomaly blocks of kind {kind!r} (kmeans, gmm)")
    inner = d * (d + 1) // 2 if full else d
    # y += (z - mean) * u (full: per j, i <= j) ; q += y * y ; lp = const - q / 2
    n["mem"] += k * (3 * inner + 2)
    n["add"] += k * inner
    n["mac"] += k * (inner + d + 1)
    n["loop"] += k * (inner + (d if full else 0) + 1)
    # top = max lp (K loads, compares), sum += expf(lp - top), -(top + logf(sum))
    n["mem"] += 2 * k
    n["add"] += 3 * k + 1
    n["exp"] += k
    n["log"] += 1
    n["loop"] += 2 * k
    return n


def anomaly_cost(model: dict[str, Any], target: str, *, flash_wait_states: int = 0) -> dict:
    """{"cycles", "ram_bytes", "flash_bytes", "counts"} of scoring one window with the trained
    anomaly block `model` (as `_anomaly_ctx` reads it: kind, mean, radii or weights,
    covariance_type, features) on `target`."""
    kind = model.get("kind")
    d = len(model["mean"])
    if kind == "kmeans":
        k, full = len(model["radii"]), False
    elif kind == "gmm":
        k, full = len(model["weights"]), model.get("covariance_type") == "full"
    else:
        raise ValueError(f"no cost model for anomaly blocks of kind {kind!r} (kmeans, gmm)")
    counts = anomaly_counts(kind, d, k, full)
    t = CORES[target]
    ops = FLOAT_OP_CYCLES[target]
    per_loop = t.costs["alu"] + t.costs["b_cond"] + t.refill + flash_wait_states
    cycles: float = sum(counts[op] * ops[op] for op in OPS)
    cycles += counts["mem"] * t.costs["load"] + counts["loop"] * per_loop
    stack = 4 * d + (4 * k if kind == "gmm" else 0) + FRAME_BYTES
    flash = 2 * d + 4 * d + 4 * d  # feature index (uint16), mean, scale
    if kind == "kmeans":
        flash += 4 * k * d + 4 * k  # centres, radii
    else:
        flash += 4 * k * d + 4 * k + 4 * k * (d * (d + 1) // 2 if full else d)
    return {"cycles": round(cycles), "ram_bytes": stack, "flash_bytes": flash, "counts": counts}
