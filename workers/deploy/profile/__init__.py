"""Performance profile of a model on every Cortex-M board preset: cycles, latency, RAM, flash.

    profile_model(tflite_bytes, *, boards=None, estimate=False, model_name="model") -> dict

Two methods, one result shape (the contract of `tinyforge profile --json`):

- `measured`: the library the compiler emits is built for the board's core and run once under
  QEMU with the class counter (`measure.py`); `cycles.py` prices the classes with the core's
  TRM table and the board's flash wait states. Flash and RAM come from the linked program and
  the stack high-water mark. One QEMU run per core serves all its boards.
- `estimated`: `estimate.py`'s per-operator costs fitted on such measurements; memory from the
  compiler's own figures (arena, scratch, weights) plus the fitted code size and stack. Used
  when the Arm toolchain is absent or `estimate=True`; answers in milliseconds.

RAM is one definition everywhere: arena + kernel scratch + measured stack + other static data
(the library's own variables); flash: weights + code. Both come with their breakdown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from workers.deploy.compiler import CompiledModel, compile_model
from workers.deploy.profile.cycles import CORES, cycles_from_classes, latency_ms, taken_branches
from workers.deploy.reader import read_model
from workers.deploy.targets import BOARDS, Board, get_target

__all__ = ["PROFILE_BOARDS", "board_names", "profile_model", "resolve_boards"]

KIB = 1024
PROFILE_BOARDS: tuple[Board, ...] = tuple(b for b in BOARDS if b.target in CORES)


def board_names() -> list[str]:
    return [b.name for b in PROFILE_BOARDS]


def resolve_boards(names: Sequence[str] | None) -> list[Board]:
    """The presets called `names` (all Cortex-M presets when empty); ValueError naming the
    valid ones otherwise."""
    if not names:
        return list(PROFILE_BOARDS)
    by_name = {b.name: b for b in PROFILE_BOARDS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(
            f"unknown board{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"valid boards: {', '.join(by_name)}"
        )
    return [by_name[n] for n in dict.fromkeys(names)]


def _kib(n: int) -> str:
    return f"{n / KIB:,.1f} KiB" if n % KIB else f"{n // KIB:,} KiB"


def _fit_notes(board: Board, ram: int, flash: int) -> tuple[bool, list[str]]:
    notes = []
    if board.ram_bytes is not None and ram > board.ram_bytes:
        notes.append(f"does not fit: needs {_kib(ram)} RAM, board has {_kib(board.ram_bytes)}")
    if board.flash_bytes is not None and flash > board.flash_bytes:
        notes.append(
            f"does not fit: needs {_kib(flash)} flash, board has {_kib(board.flash_bytes)}"
        )
    return not notes, notes


def _model_info(compiled: CompiledModel, tflite_bytes: bytes, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "sha256": hashlib.sha256(tflite_bytes).hexdigest(),
        "dtype": "float32" if compiled.input.dtype == "float32" else compiled.input.dtype,
        "input": {"shape": list(compiled.input.shape), "dtype": compiled.input.dtype},
        "output": {"shape": list(compiled.output.shape), "dtype": compiled.output.dtype},
        "ops": list(compiled.ops),
        "macs": compiled.macs,
        "arena_bytes": compiled.arena_bytes,
        "scratch_bytes": compiled.scratch_bytes,
        "weights_bytes": compiled.weights_bytes,
    }


def _has_float(graph) -> bool:
    return any(
        graph.tensor(i).dtype == "float32"
        for op in graph.operators
        for i in (*op.inputs, *op.outputs)
        if i >= 0 and not graph.tensor(i).is_constant
    )


def _board_entry(
    board: Board,
    *,
    method: str,
    cycles0: float,
    taken: float,
    instructions: float,
    ram: dict[str, int],
    flash: dict[str, int],
    notes: list[str],
    tolerance: float,
) -> dict[str, Any]:
    cycles = int(round(cycles0 + board.flash_wait_states * taken))
    ram_total = sum(ram.values())
    flash_total = sum(flash.values())
    fits, fit_notes = _fit_notes(board, ram_total, flash_total)
    assert board.clock_hz is not None
    return {
        "board": board.name,
        "target": board.target,
        "mcu": board.mcu,
        "clock_hz": board.clock_hz,
        "cycles": cycles,
        "instructions": int(round(instructions)),
        "latency_ms": round(latency_ms(cycles, board.clock_hz), 4),
        "ram_bytes": ram_total,
        "flash_bytes": flash_total,
        "board_ram_bytes": board.ram_bytes,
        "board_flash_bytes": board.flash_bytes,
        "fits": fits,
        "method": method,
        "ram": ram,
        "flash": flash,
        "flash_wait_states": board.flash_wait_states,
        "cycle_model_tolerance": tolerance,
        "notes": [*fit_notes, *notes],
    }


def _core_notes(target: str, float_model: bool) -> list[str]:
    t = get_target(target)
    notes = []
    if float_model and t.fpu is None:
        notes.append(
            "float32 model on a core without an FPU: floating point runs in software "
            "(libgcc), which these figures include"
        )
    if CORES[target].tolerance:
        notes.append(
            f"cycle model approximate on this core (stated tolerance "
            f"±{CORES[target].tolerance:.0%}): {CORES[target].source}"
        )
    return notes


def profile_model(
    tflite_bytes: bytes,
    *,
    boards: Sequence[str] | None = None,
    estimate: bool = False,
    model_name: str = "model",
    measure_targets: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Profile `tflite_bytes` on `boards` (names of presets; all Cortex-M presets when empty).

    `estimate=True` forces the estimator; otherwise cores are measured under QEMU when the
    toolchain is installed. `measure_targets` limits QEMU to those cores (the others are
    estimated). Raises ValueError for an unknown board, CompileError (a ValueError) for a model
    the compiler cannot build (naming unsupported operators).
    """
    chosen = resolve_boards(boards)
    graph = read_model(tflite_bytes)
    compiled = compile_model(tflite_bytes, model_name=model_name)  # names unsupported ops
    float_model = _has_float(graph)
    result: dict[str, Any] = {"model": _model_info(compiled, tflite_bytes, model_name)}

    measured: dict[str, Any] = {}
    if not estimate:
        from workers.deploy.mcu import toolchain_available

        if toolchain_available():
            from workers.deploy.profile.measure import measure_model

            for target in dict.fromkeys(b.target for b in chosen):
                if measure_targets is None or target in measure_targets:
                    measured[target] = measure_model(tflite_bytes, target, compiled=compiled)

    estimates: dict[str, dict] = {}
    entries = []
    for board in chosen:
        notes = _core_notes(board.target, float_model)
        tolerance = CORES[board.target].tolerance
        m = measured.get(board.target)
        if m is not None:
            classes = m.classes
            report = cycles_from_classes(classes, board.target)
            ram_static = m.data_bytes + m.bss_bytes - m.io_buffer_bytes
            ram = {
                "arena": compiled.arena_bytes,
                "scratch": compiled.scratch_bytes,
                "stack": m.stack_used_bytes,
                "other": max(0, ram_static - compiled.arena_bytes - compiled.scratch_bytes),
            }
            flash_total = m.text_bytes + m.data_bytes
            flash = {
                "weights": compiled.weights_bytes,
                "code": max(0, flash_total - compiled.weights_bytes),
            }
            entries.append(
                _board_entry(
                    board,
                    method="measured",
                    cycles0=report.cycles,
                    taken=taken_branches(classes),
                    instructions=report.instructions,
                    ram=ram,
                    flash=flash,
                    notes=notes,
                    tolerance=tolerance,
                )
            )
            continue
        est = estimates.get(board.target)
        if est is None:
            est = estimates[board.target] = _estimate(graph, compiled, board.target)
        entries.append(
            _board_entry(
                board,
                method="estimated",
                cycles0=est["cycles"],
                taken=est["taken"],
                instructions=est["instructions"],
                ram=est["ram"],
                flash=est["flash"],
                notes=[*notes, *est["notes"]],
                tolerance=tolerance,
            )
        )
    result["boards"] = entries
    return result


def _estimate(graph, compiled: CompiledModel, target: str) -> dict[str, Any]:
    from workers.deploy.profile.estimate import estimate_graph, load_table

    table = load_table()
    est = estimate_graph(graph, target, table=table)
    memory = table["targets"][target].get("memory", {})
    ram = {
        "arena": compiled.arena_bytes,
        "scratch": compiled.scratch_bytes,
        "stack": int(memory.get("stack", 0)),
        "other": int(memory.get("other_ram", 0)),
    }
    code = memory.get("code_base", 0) + memory.get("code_per_op", 0) * len(graph.operators)
    flash = {"weights": compiled.weights_bytes, "code": int(code)}
    return {**est, "ram": ram, "flash": flash, "notes": []}
