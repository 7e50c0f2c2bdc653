"""Search strategies: successive halving on epochs (the tuner's), and random search (the baseline).

Successive halving (Jamieson & Talwalkar 2016; the synchronous core of Hyperband/ASHA): train
many candidates for a few epochs, keep the best 1/eta, train those eta times longer, and so on
up to the full number of epochs. The ranking after a few epochs is noisy but cheap, so for
the same epoch budget it looks at eta-times more candidates than random search does at full
length. It needs no model of the space (the space is small, discrete and conditional, where a
TPE's density estimates have little to learn from 10–30 trials), and its rungs map directly
onto Celery fan-out: every trial of a rung runs in parallel, a rung waits for its slowest.

Everything here is pure: `plan` says how many candidates each rung trains for how many
epochs; `promote` picks who goes on; `successive_halving` / `random_search` drive a `run`
callable in-process (the benchmark); the tuner job drives the same plan through Celery.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

STRATEGIES = ("halving", "random")


def plan(n_candidates: int, *, max_epochs: int, eta: int = 3, min_epochs: int = 2) -> list:
    """[(count, epochs), ...] per rung: rung r trains n // eta^r candidates for
    max_epochs / eta^(R-r) epochs (at least `min_epochs`), the last rung at `max_epochs`."""
    if n_candidates < 1:
        return []
    rungs = 0
    while n_candidates // eta ** (rungs + 1) >= 1 and max_epochs / eta ** (rungs + 1) >= min_epochs:
        rungs += 1
    out = []
    for r in range(rungs + 1):
        count = max(1, n_candidates // eta**r)
        epochs = max(min_epochs, int(round(max_epochs / eta ** (rungs - r))))
        out.append((count, epochs))
    return out


def epoch_budget(rungs: Sequence[tuple[int, int]]) -> int:
    return sum(c * e for c, e in rungs)


def score(result: dict[str, Any]) -> tuple[float, float]:
    """Higher is better: int8 validation accuracy, then lower latency."""
    acc = (result.get("accuracy") or {}).get("int8")
    lat = (result.get("profile") or {}).get("latency_ms")
    return (
        -1.0 if acc is None else float(acc),
        -(float(lat) if lat is not None else math.inf),
    )


def promote(results: Sequence[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The best `k` finished results (by `score`)."""
    done = [r for r in results if (r.get("accuracy") or {}).get("int8") is not None]
    return sorted(done, key=score, reverse=True)[:k]


Run = Callable[[Any, int], dict[str, Any]]


def successive_halving(
    candidates: Sequence[Any], run: Run, *, max_epochs: int, eta: int = 3, min_epochs: int = 2
) -> list[dict[str, Any]]:
    """Drive `run(candidate, epochs) -> result` rung by rung; returns every result with its
    `candidate` index and `rung`."""
    rungs = plan(len(candidates), max_epochs=max_epochs, eta=eta, min_epochs=min_epochs)
    alive = list(range(len(candidates)))
    out: list[dict[str, Any]] = []
    for r, (count, epochs) in enumerate(rungs):
        rung = []
        for i in alive[:count]:
            res = dict(run(candidates[i], epochs), candidate=i, rung=r, epochs=epochs)
            rung.append(res)
        out += rung
        if r + 1 < len(rungs):
            alive = [res["candidate"] for res in promote(rung, rungs[r + 1][0])]
    return out


def random_search(
    candidates: Sequence[Any], run: Run, *, epochs: int, n: int
) -> list[dict[str, Any]]:
    """The baseline: the first `n` candidates (already in random order), each at full length."""
    return [
        dict(run(c, epochs), candidate=i, rung=0, epochs=epochs)
        for i, c in enumerate(candidates[:n])
    ]


def best(results: Sequence[dict[str, Any]], *, final_epochs: int | None = None) -> dict | None:
    """The best result; with `final_epochs`, among those trained that long (a candidate's
    short-rung score is not its final one)."""
    pool = [r for r in results if final_epochs is None or r.get("epochs") == final_epochs]
    top = promote(pool, 1)
    return top[0] if top else None


def pareto_front(points: Sequence[tuple[Any, float, float]]) -> set[Any]:
    """Ids of the points `(id, accuracy, latency_ms)` no other point beats on both (at least as
    accurate and at least as fast, better on one)."""
    front = set()
    for pid, acc, lat in points:
        dominated = any(
            a >= acc and la <= lat and (a > acc or la < lat) for q, a, la in points if q != pid
        )
        if not dominated:
            front.add(pid)
    return front
