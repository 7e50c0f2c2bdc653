"""Measure a model library on an emulated Cortex-M core: classes per operator, flash, RAM, stack.

One QEMU run per target: the library is built with `-D<PREFIX>PROFILE_OPERATORS` (the model
template puts two SEV markers after every tensor an operator writes) and linked with
`runtime/tinyforge_profile_main.c`, which runs one inference on a seeded pseudo-random input.
The plugin's class mode then gives the instruction classes of the input copy, of every
operator and of the output copy; `cycles.cycles_from_classes` prices them per core.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from workers.deploy.compiler import CompiledModel, compile_model
from workers.deploy.mcu import McuDoesNotFitError, McuRunError, build_elf, run_elf
from workers.deploy.reader import read_model
from workers.deploy.targets import get_target

PROFILE_MAIN = Path(__file__).resolve().parent / "runtime" / "tinyforge_profile_main.c"
_STACK = re.compile(rb"TINYFORGE STACK (\d+) (\d+)")


@dataclass(frozen=True)
class OperatorMeasurement:
    index: int
    opcode: str
    classes: dict[str, int]


@dataclass(frozen=True)
class ModelMeasurement:
    """What one inference of a compiled model does on `target` (QEMU `machine`)."""

    target: str
    machine: str
    operators: list[OperatorMeasurement]
    overhead: dict[str, int]  # input and output copies, call and return
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    stack_used_bytes: int
    io_buffer_bytes: int  # the profiling program's own input/output buffers (not the model's)
    constants_in_bulk: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def classes(self) -> dict[str, int]:
        """The whole inference's class counts."""
        total: Counter[str] = Counter(self.overhead)
        for op in self.operators:
            total.update(op.classes)
        return dict(total)

    @property
    def instructions(self) -> int:
        from workers.deploy.profile.cycles import INSTRUCTION_CLASSES

        return sum(self.classes.get(c, 0) for c in INSTRUCTION_CLASSES)


def _build(target: str, compiled: CompiledModel, src: Path, out_dir: Path, float_input: bool):
    """Link the profiling program on the first machine / layout it fits."""
    t = get_target(target)
    prefix = compiled.prefix.upper()
    defines = {f"{prefix}PROFILE_OPERATORS": "1"}
    if float_input:
        defines["TINYFORGE_PROFILE_FLOAT_INPUT"] = "1"
    last: McuDoesNotFitError | None = None
    for machine in t.machines():
        for bulk in (False, True) if machine.bulk is not None else (False,):
            try:
                return build_elf(
                    target,
                    sources=[PROFILE_MAIN, *(src / s for s in compiled.sources)],
                    include_dirs=[src],
                    defines=defines,
                    out_dir=out_dir / f"{machine.name}{'-bulk' if bulk else ''}",
                    machine=machine.name,
                    constants_in_bulk=bulk,
                )
            except McuDoesNotFitError as exc:
                last = exc
    assert last is not None
    raise last


def measure_model(
    tflite_bytes: bytes,
    target: str,
    *,
    compiled: CompiledModel | None = None,
    work_dir: Path | None = None,
    timeout_s: float = 600,
) -> ModelMeasurement:
    """Build the model for `target` and count one inference's instructions by class."""
    graph = read_model(tflite_bytes)
    with tempfile.TemporaryDirectory(prefix="tf-profile-") as tmp:
        root = Path(work_dir) if work_dir is not None else Path(tmp)
        src = root / f"src-{target}"
        if compiled is None:
            compiled = compile_model(tflite_bytes, out_dir=src)
        else:
            from workers.deploy.compiler import write_files

            write_files(compiled, src)
        float_input = compiled.input.dtype == "float32"
        elf = _build(target, compiled, src, root / f"build-{target}", float_input)
        run = run_elf(
            target,
            elf.path,
            timeout_s=timeout_s,
            count_instructions=True,
            count_mode="class",
            machine=elf.machine,
        )
    if run.exit_code != 0 or b"TINYFORGE DONE" not in run.stdout:
        raise McuRunError(
            f"profiling {target} (QEMU {elf.machine}) failed with exit code {run.exit_code}: "
            f"{run.stdout[-600:].decode(errors='replace')}"
        )
    stack = _STACK.search(run.stdout)
    regions = run.classes
    # regions: one per graph input copy, then one per tensor each operator writes, then the
    # output copy (after the closing marker of the last DUMP until the invoke's end)
    n_inputs = len(graph.inputs)
    expected = n_inputs + sum(len(op.outputs) for op in graph.operators) + 1
    if len(regions) != expected:
        raise McuRunError(
            f"profiling {target}: counted {len(regions)} regions, expected {expected} "
            "(one per input copy, operator output and the output copy)"
        )
    overhead: Counter[str] = Counter()
    for r in regions[:n_inputs]:
        overhead.update(r)
    overhead.update(regions[-1])
    operators = []
    k = n_inputs
    for op in graph.operators:
        merged: Counter[str] = Counter()
        for r in regions[k : k + len(op.outputs)]:
            merged.update(r)
        k += len(op.outputs)
        operators.append(OperatorMeasurement(op.index, op.opcode, dict(merged)))
    io_bytes = compiled.input.nbytes + compiled.output.nbytes
    return ModelMeasurement(
        target=target,
        machine=elf.machine,
        operators=operators,
        overhead=dict(overhead),
        text_bytes=elf.text,
        data_bytes=elf.data,
        bss_bytes=elf.bss,
        stack_used_bytes=int(stack.group(1)) if stack else 0,
        io_buffer_bytes=io_bytes,
        constants_in_bulk=elf.constants_in_bulk,
    )
