"""The tuner's one door to the on-device profile (`workers.deploy.profile`, issue 11).

Everything the tuner needs from the profile goes through here, so a change of that API is a
one-file fix: the board names, a board's resources, and the estimated latency / RAM / flash
of an int8 `.tflite` on one board.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class BoardError(ValueError):
    """An unknown board (the message lists the valid ones)."""


@dataclass(frozen=True)
class Limits:
    """The budget a candidate must fit: the board and the user's limits (None: no limit)."""

    board: str
    max_latency_ms: float | None
    max_ram_bytes: int | None
    max_flash_bytes: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "max_latency_ms": self.max_latency_ms,
            "max_ram_bytes": self.max_ram_bytes,
            "max_flash_bytes": self.max_flash_bytes,
        }


def board_names() -> list[str]:
    from workers.deploy.profile import board_names as names

    return list(names())


def board_resources(board: str) -> dict[str, Any]:
    """{name, clock_hz, ram_bytes, flash_bytes} of a board preset; BoardError when unknown."""
    from workers.deploy.profile import resolve_boards

    try:
        (b,) = resolve_boards([board])
    except ValueError as exc:
        raise BoardError(str(exc)) from exc
    return {
        "name": b.name,
        "clock_hz": b.clock_hz,
        "ram_bytes": b.ram_bytes,
        "flash_bytes": b.flash_bytes,
    }


def limits_for(
    board: str,
    *,
    max_latency_ms: float | None = None,
    max_ram_bytes: int | None = None,
    max_flash_bytes: int | None = None,
) -> Limits:
    """The budget: the user's limits, RAM and flash defaulting to the board's resources."""
    res = board_resources(board)
    return Limits(
        board=res["name"],
        max_latency_ms=max_latency_ms,
        max_ram_bytes=max_ram_bytes if max_ram_bytes is not None else res["ram_bytes"],
        max_flash_bytes=max_flash_bytes if max_flash_bytes is not None else res["flash_bytes"],
    )


def estimate(tflite_bytes: bytes, board: str) -> dict[str, Any]:
    """{latency_ms, ram_bytes, flash_bytes, cycles, method} of the model on `board`, from the
    fast estimator (milliseconds, no QEMU). Raises ValueError when the deployment compiler
    cannot build the model (the message names the unsupported operators)."""
    result = _profile(tflite_bytes, board)
    (entry,) = result["boards"]
    return {
        "latency_ms": float(entry["latency_ms"]),
        "ram_bytes": int(entry["ram_bytes"]),
        "flash_bytes": int(entry["flash_bytes"]),
        "cycles": int(entry["cycles"]),
        "method": entry["method"],
    }


def violations(profile: dict[str, Any], limits: Limits) -> list[str]:
    """Why a profiled model does not fit `limits` (empty: it fits)."""
    out = []
    if limits.max_latency_ms is not None and profile["latency_ms"] > limits.max_latency_ms:
        out.append(
            f"latency {profile['latency_ms']:.2f} ms > {limits.max_latency_ms:g} ms "
            f"on {limits.board}"
        )
    if limits.max_ram_bytes is not None and profile["ram_bytes"] > limits.max_ram_bytes:
        out.append(f"RAM {profile['ram_bytes']:,} B > {limits.max_ram_bytes:,} B")
    if limits.max_flash_bytes is not None and profile["flash_bytes"] > limits.max_flash_bytes:
        out.append(f"flash {profile['flash_bytes']:,} B > {limits.max_flash_bytes:,} B")
    return out


def _profile(tflite_bytes: bytes, board: str) -> dict[str, Any]:
    from workers.deploy.profile import profile_model

    return profile_model(tflite_bytes, boards=[board], estimate=True)
