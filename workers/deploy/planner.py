"""Static memory planner: place buffers with known lifetimes in one arena, greedy by size.

Lifetimes are inclusive operator steps `[first_use, last_use]`; two buffers may share
bytes only when their lifetimes are disjoint. Placement is first fit (lowest offset
that fits) over a few orders -- largest first, as TFLite Micro's greedy planner does, and
by first use, which suits chains of layers -- keeping the smallest arena. The lower bound
is the largest total size of buffers alive at one step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Buffer:
    size_bytes: int
    first_use: int
    last_use: int

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first_use <= other.last_use and other.first_use <= self.last_use


@dataclass(frozen=True)
class MemoryPlan:
    offsets: tuple[int, ...]  # per buffer, in the order they were added
    arena_bytes: int
    lower_bound_bytes: int


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


class MemoryPlanner:
    """Collect buffers with `add_buffer`, then `plan()` assigns aligned arena offsets."""

    def __init__(self, *, alignment_bytes: int = 16) -> None:
        if alignment_bytes <= 0 or alignment_bytes & (alignment_bytes - 1):
            raise ValueError(f"alignment must be a positive power of two, got {alignment_bytes}")
        self.alignment_bytes = alignment_bytes
        self.buffers: list[Buffer] = []

    def add_buffer(self, size_bytes: int, first_use: int, last_use: int) -> int:
        """Register a buffer alive from step `first_use` to `last_use` (inclusive); return its
        id."""
        if size_bytes < 0:
            raise ValueError(f"buffer size must be >= 0, got {size_bytes}")
        if last_use < first_use:
            raise ValueError(f"buffer last_use {last_use} precedes first_use {first_use}")
        self.buffers.append(Buffer(size_bytes, first_use, last_use))
        return len(self.buffers) - 1

    def lower_bound_bytes(self) -> int:
        """Largest total size of buffers alive at the same step (no placement can do better)."""
        steps = sorted({b.first_use for b in self.buffers})
        best = 0
        for step in steps:  # the live set only grows at some buffer's first use
            live = sum(b.size_bytes for b in self.buffers if b.first_use <= step <= b.last_use)
            best = max(best, live)
        return best

    def _place(self, order: list[int]) -> dict[int, int]:
        """First fit: each buffer in `order` goes to the lowest offset clear of placed,
        time-overlapping ones."""
        offsets: dict[int, int] = {}
        for i in order:
            buf = self.buffers[i]
            size = _align(buf.size_bytes, self.alignment_bytes)
            conflicts = sorted(
                (offsets[j], offsets[j] + _align(self.buffers[j].size_bytes, self.alignment_bytes))
                for j in offsets
                if self.buffers[j].overlaps_in_time(buf)
            )
            candidate = 0
            for start, end in conflicts:
                if candidate + size <= start:
                    break
                candidate = max(candidate, end)
            offsets[i] = candidate
        return offsets

    def plan(self) -> MemoryPlan:
        """Try a few placement orders (largest first, as TFLM does; then by first use) and keep the
        best."""
        ids = range(len(self.buffers))
        b = self.buffers
        orders = [
            sorted(ids, key=lambda i: (-b[i].size_bytes, b[i].first_use, i)),
            sorted(ids, key=lambda i: (b[i].first_use, -b[i].size_bytes, i)),
            sorted(ids, key=lambda i: (-(b[i].last_use - b[i].first_use), -b[i].size_bytes, i)),
            sorted(ids, key=lambda i: (-b[i].last_use, -b[i].size_bytes, i)),
        ]
        best: tuple[int, dict[int, int]] | None = None
        for order in orders:
            offsets = self._place(order)
            arena = max(
                (offsets[i] + _align(b[i].size_bytes, self.alignment_bytes) for i in ids), default=0
            )
            if best is None or arena < best[0]:
                best = (arena, offsets)
        assert best is not None
        arena, offsets = best
        return MemoryPlan(
            offsets=tuple(offsets[i] for i in ids),
            arena_bytes=arena,
            lower_bound_bytes=self.lower_bound_bytes(),
        )
