"""The tuner's one door to the on-device profile (`workers.deploy.profile`, issue 11).

Everything the tuner needs from the profile goes through here, so a change of that API is a
one-file fix: the board names, a board's resources, the estimated latency / RAM / flash of an
int8 `.tflite` on one board, and the processing block's cost on it.

A candidate's cost is the impulse's, as the profile page shows it (`app.services.profiles.
shape_board`, whose primitives this module calls in the same way): the processing block(s)
measured under QEMU (`measure_dsp` of the library's own `emit_dsp_chain` C, priced with
`cycles_from_classes` at the board's flash wait states) plus the network's estimate; RAM and
flash are the impulse's totals (`impulse_memory`: window buffer, DSP scratch, arena, the
deepest stack, DSP tables and code, weights). Without the Arm toolchain the DSP cannot be
measured and the cost is the network's alone (`dsp_latency_ms` is None).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
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
        "ram": dict(entry["ram"]),
        "flash": dict(entry["flash"]),
        "clock_hz": int(entry["clock_hz"]),
        "target": entry["target"],
        "flash_wait_states": int(entry["flash_wait_states"]),
    }


def _latency_ms(cycles: int, clock_hz: int) -> float:
    return round(cycles / clock_hz * 1000, 4)  # as the profile's parts (profiles._part)


def _dsp_inputs(impulse: dict[str, Any], n_axes: int) -> tuple[int, int, float]:
    """(window_samples, n_axes, frequency_hz) the C DSP sees, as the deployment builder sets
    them (images: the frame's pixels and its channels)."""
    from workers.dsp import TimeSeriesInput

    inp = impulse["input"]
    if inp["type"] == "image":
        channels = 3 if impulse["dsp"]["params"].get("channels") == "RGB" else 1
        return int(inp["width"]) * int(inp["height"]), channels, 0.0
    window = TimeSeriesInput.window_samples(inp["window_size_ms"], inp["frequency_hz"])
    return window, n_axes, float(inp["frequency_hz"])


@lru_cache(maxsize=256)
def _emit(block: str, params_json: str, window: int, axes: int, hz: float) -> Any:
    from workers.deploy.dsp import emit_dsp_chain

    return emit_dsp_chain(
        [(block, json.loads(params_json))], window_samples=window, n_axes=axes, frequency_hz=hz
    )


@lru_cache(maxsize=256)
def _measure(key: tuple[str, str, int, int, float], target: str) -> Any:
    from workers.deploy.profile.dsp import measure_dsp

    return measure_dsp(_emit(*key), target)


def dsp_measurement(impulse: dict[str, Any], *, n_axes: int, target: str) -> Any:
    """The processing block of `impulse` (a tuner impulse definition) as the library emits it,
    measured on `target`'s core (`workers.deploy.profile.dsp.DspMeasurement`, cached per block
    configuration and core); None without the Arm toolchain. A block the C DSP cannot build
    raises `DspBuildError` (a ValueError naming the parameter): such a candidate cannot be
    deployed."""
    from workers.deploy.mcu import toolchain_available

    window, axes, hz = _dsp_inputs(impulse, n_axes)
    key = (
        impulse["dsp"]["block"],
        json.dumps(impulse["dsp"]["params"], sort_keys=True),
        window,
        axes,
        hz,
    )
    _emit(*key)  # raises for a block the C DSP cannot build, toolchain or not
    if not toolchain_available():
        return None
    return _measure(key, target)


def impulse_cost(model: dict[str, Any], dsp: Any) -> dict[str, Any]:
    """The impulse's profile on the board of `model` (an `estimate` result): {latency_ms (DSP +
    network), dsp_latency_ms, nn_latency_ms, ram_bytes, flash_bytes (the impulse's totals),
    cycles, method}; `dsp` a `DspMeasurement` or None (then the DSP part is None and the totals
    are the network's)."""
    from workers.deploy.profile.cycles import cycles_from_classes
    from workers.deploy.profile.memory import impulse_memory, memory_totals

    clock = model["clock_hz"]
    cycles = model["cycles"]
    dsp_latency = None
    if dsp is not None:
        dsp_cycles = cycles_from_classes(
            dsp.classes, model["target"], flash_wait_states=model["flash_wait_states"]
        ).cycles
        dsp_latency = _latency_ms(dsp_cycles, clock)
        cycles += dsp_cycles
    ram, flash = memory_totals(*impulse_memory(model["ram"], model["flash"], dsp=dsp))
    return {
        "latency_ms": _latency_ms(cycles, clock),
        "dsp_latency_ms": dsp_latency,
        "nn_latency_ms": model["latency_ms"],
        "ram_bytes": ram,
        "flash_bytes": flash,
        "cycles": int(cycles),
        "method": model["method"],
    }


def candidate_cost(
    tflite_bytes: bytes, impulse: dict[str, Any], *, board: str, n_axes: int
) -> dict[str, Any]:
    """`impulse_cost` of a candidate: its int8 model estimated on `board`, its processing block
    measured on the board's core. ValueError when the compiler cannot build the model."""
    model = estimate(tflite_bytes, board)
    return impulse_cost(model, dsp_measurement(impulse, n_axes=n_axes, target=model["target"]))


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
