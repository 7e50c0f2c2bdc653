"""Verify a model library on an emulated Cortex-M core: outputs, instructions, flash, RAM.

The library implements `tinyforge_model.h`:

    #define TINYFORGE_INPUT_BYTES  <n>
    #define TINYFORGE_OUTPUT_BYTES <m>
    int tinyforge_model_invoke(const void *input, void *output);   /* 0 = success */

`run_model_harness` links it with `runtime/tinyforge_harness_main.c` and the input vectors
(assembled from a binary file into the `.tinyforge_inputs` section: the machine's bulk memory
when it has one, flash otherwise), runs the program under QEMU with the instruction
counter, and parses the outputs the harness prints. When the inputs do not fit at once,
they are split into batches, one QEMU run each; the library is compiled only once.

A program too big for the target's preferred machine is laid out again: first with its
constants (`.rodata`) in the machine's bulk memory, then on the target's alternate
machines (the Cortex-M0+ moves from the micro:bit, 16 KB of RAM, to the MPS2 AN385 with its
M3 core, which runs ARMv6-M code unchanged). Instruction counts do not depend on where
code and data live: QEMU models no wait states.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workers.deploy import cgen
from workers.deploy.mcu.errors import McuDoesNotFitError, McuRunError
from workers.deploy.mcu.qemu import run_elf
from workers.deploy.mcu.toolchain import (
    HARNESS_MAIN,
    RUNTIME_SOURCES,
    ElfInfo,
    compile_objects,
    link_elf,
    mcu_target,
)
from workers.deploy.mcu.toolchain import require_toolchain as _require_toolchain

INPUT_ALIGN_BYTES = 16
HARNESS_SECTION = ".tinyforge_inputs"
# Memory kept free beside the probe build when sizing batches (alignment, veneers).
LAYOUT_MARGIN_BYTES = 256

_OUT = re.compile(r"^TINYFORGE OUT (\d+) ([0-9a-f]*)$")
_FAIL = re.compile(r"^TINYFORGE FAIL (\d+) (-?\d+)$")
_SIZES = re.compile(r"^TINYFORGE SIZES (\d+) (\d+)$")
_STACK = re.compile(r"^TINYFORGE STACK (\d+) (\d+)$")


@dataclass(frozen=True)
class HarnessResult:
    """Outputs and measurements of a model library run on an emulated core.

    `flash_bytes` (text + data) and `ram_bytes` (data + bss) are those of the whole harness
    program without its input vectors: the library plus the small runtime (start-up,
    semihosting, harness loop, ~1-2 KB flash) and the C library functions it pulls in.
    `stack_used_bytes` is the deepest stack use measured over all runs. `machine` is the
    QEMU machine that ran it and `constants_in_bulk` whether the model's constants had to
    move from its code memory to its bulk memory (see `run_model_harness`).
    """

    outputs: list[bytes]
    instructions: list[int]
    flash_bytes: int
    ram_bytes: int
    stack_used_bytes: int
    stack_reserved_bytes: int
    elf: ElfInfo
    runs: int
    machine: str = ""
    constants_in_bulk: bool = False
    # count_classes=True: one dict per inference, instruction class -> count (cycle model)
    classes: list[dict[str, int]] = field(default_factory=list)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _write_inputs(out_dir: Path, *, inputs: Sequence[bytes], stride: int, tag: str) -> Path:
    """Assembler source placing `inputs` (each padded to `stride`) in the .tinyforge_inputs
    section."""
    blob = out_dir / f"tinyforge_harness_inputs_{tag}.bin"
    with blob.open("wb") as f:
        for vector in inputs:
            f.write(vector)
            f.write(b"\0" * (stride - len(vector)))
    if '"' in str(blob) or "\\" in str(blob) or "\n" in str(blob):
        raise ValueError(f"out_dir path {out_dir} contains characters the assembler cannot quote")
    src = out_dir / f"tinyforge_harness_inputs_{tag}.S"
    src.write_text(
        f"{cgen.banner('workers/deploy/mcu/harness.py: the input vectors of the model harness')}\n"
        f'    .section {HARNESS_SECTION},"a"\n'
        f"    .balign {INPUT_ALIGN_BYTES}\n"
        "    .global tinyforge_harness_inputs\n"
        "tinyforge_harness_inputs:\n"
        f'    .incbin "{blob}"\n'
        '    .section .rodata.tinyforge_harness_meta,"a"\n'
        "    .balign 4\n"
        "    .global tinyforge_harness_input_count\n"
        "tinyforge_harness_input_count:\n"
        f"    .word {len(inputs)}\n"
        "    .global tinyforge_harness_input_stride\n"
        "tinyforge_harness_input_stride:\n"
        f"    .word {stride}\n"
    )
    return src


def _choose_layout(
    target: str,
    *,
    objects: Sequence[Path],
    inputs: Sequence[bytes],
    stride: int,
    out_dir: Path,
) -> tuple[str, bool, int]:
    """The first (machine, constants in bulk) layout that holds the program with one input,
    and how many inputs fit in one program with it."""
    t = mcu_target(target)
    probe_src = _write_inputs(out_dir, inputs=inputs[:1], stride=stride, tag="probe")
    probe_obj = compile_objects(target, sources=[probe_src], include_dirs=[], out_dir=out_dir)
    failures = []
    for machine in t.machines():
        for constants_in_bulk in (False, True) if machine.bulk else (False,):
            try:
                probe = link_elf(
                    target,
                    objects=[*objects, *probe_obj],
                    out_dir=out_dir,
                    name="probe",
                    machine=machine.name,
                    constants_in_bulk=constants_in_bulk,
                )
            except McuDoesNotFitError as exc:
                failures.append(str(exc).splitlines()[0])
                continue
            if machine.bulk is not None:  # inputs go to bulk memory, maybe beside constants
                used = probe.sections.get(".rodata", 0) if constants_in_bulk else 0
                free = machine.bulk.length_bytes - used - stride - LAYOUT_MARGIN_BYTES
            else:  # inputs share the flash with the program
                free = machine.flash.length_bytes - probe.flash_bytes - LAYOUT_MARGIN_BYTES
            return machine.name, constants_in_bulk, 1 + max(0, free) // stride
    raise McuDoesNotFitError(
        f"the model harness with one {len(inputs[0])}-byte input fits no QEMU machine of "
        f"{t.name}: " + "; ".join(failures)
    )


def _parse_harness_output(
    stdout: bytes, *, count: int, input_bytes: int, output_bytes: int, where: str
) -> tuple[list[bytes], int, int]:
    outputs: dict[int, bytes] = {}
    stack = (0, 0)
    sizes_seen = False
    for raw in stdout.decode(errors="replace").splitlines():
        line = raw.strip()
        if m := _SIZES.match(line):
            header_in, header_out = int(m.group(1)), int(m.group(2))
            if (header_in, header_out) != (input_bytes, output_bytes):
                raise ValueError(
                    f"the model library's tinyforge_model.h declares {header_in} input and "
                    f"{header_out} output bytes, but the caller passed inputs of {input_bytes} "
                    f"bytes and output_bytes={output_bytes}"
                )
            sizes_seen = True
        elif m := _OUT.match(line):
            payload = bytes.fromhex(m.group(2))
            if len(payload) != output_bytes:
                raise McuRunError(
                    f"{where}: output {m.group(1)} has {len(payload)} bytes, expected "
                    f"{output_bytes}"
                )
            outputs[int(m.group(1))] = payload
        elif m := _FAIL.match(line):
            raise McuRunError(
                f"{where}: tinyforge_model_invoke returned {m.group(2)} on input {m.group(1)}"
            )
        elif m := _STACK.match(line):
            stack = (int(m.group(1)), int(m.group(2)))
    if not sizes_seen or len(outputs) != count or sorted(outputs) != list(range(count)):
        raise McuRunError(
            f"{where}: expected {count} outputs, got {len(outputs)}; program output:\n"
            + stdout[-2000:].decode(errors="replace")
        )
    return [outputs[i] for i in range(count)], stack[0], stack[1]


@dataclass(frozen=True)
class HarnessLibrary:
    """The model library a harness program links, and how to compile it.

    `sources`: the library's .c files (its `tinyforge_model_invoke` and what that calls);
    `include_dirs`: where `tinyforge_model.h` and the library's headers are; `defines`,
    `opt` and `extra_cflags` go to every compile of the library.
    """

    sources: Sequence[Path]
    include_dirs: Sequence[Path] = ()
    defines: Mapping[str, str] = field(default_factory=dict)
    opt: str = "-O2"
    extra_cflags: Sequence[str] = ()


@dataclass(frozen=True)
class _Layout:
    """Where one harness program runs and how its inputs are packed."""

    target: str
    machine: str
    constants_in_bulk: bool
    per_run: int  # inputs that fit one program
    stride: int  # bytes per input vector in .tinyforge_inputs
    input_bytes: int
    output_bytes: int


@dataclass(frozen=True)
class _Batch:
    outputs: list[bytes]
    instructions: list[int]
    classes: list[dict[str, int]]
    stack_used: int
    stack_reserved: int
    elf: ElfInfo


def run_model_harness(
    target: str,
    library: HarnessLibrary,
    *,
    inputs: Sequence[bytes],
    output_bytes: int,
    out_dir: Path,
    timeout_s: float = 120,
    count_classes: bool = False,
) -> HarnessResult:
    """Run `library` once per input on `target`'s QEMU machine.

    Returns the outputs (one per input, in order), the instructions executed inside each
    `tinyforge_model_invoke` call, and flash/RAM/stack figures. Raises McuRunError when the
    model fails, faults, overflows its stack or prints something unexpected,
    McuTimeoutError when a run hangs, McuBuildError when the library does not compile or
    fit, ToolchainMissingError when the tools are absent. `count_classes` also counts the
    instructions of each inference by class (`HarnessResult.classes`, for the cycle model).
    """
    _require_toolchain()
    mcu_target(target)
    vectors = _check_inputs(inputs, output_bytes)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    objects = compile_objects(
        target,
        sources=[*RUNTIME_SOURCES, HARNESS_MAIN, *library.sources],
        include_dirs=list(library.include_dirs),
        defines=library.defines,
        out_dir=out_dir,
        opt=library.opt,
        extra_cflags=library.extra_cflags,
    )
    stride = _round_up(len(vectors[0]), INPUT_ALIGN_BYTES)
    machine, constants_in_bulk, per_run = _choose_layout(
        target, objects=objects, inputs=vectors, stride=stride, out_dir=out_dir
    )
    layout = _Layout(
        target, machine, constants_in_bulk, per_run, stride, len(vectors[0]), output_bytes
    )
    batches = [
        _run_batch(
            layout,
            objects,
            vectors,
            start,
            out_dir=out_dir,
            timeout_s=timeout_s,
            count_classes=count_classes,
        )
        for start in range(0, len(vectors), per_run)
    ]
    elf = batches[-1].elf
    return HarnessResult(
        outputs=[o for b in batches for o in b.outputs],
        instructions=[n for b in batches for n in b.instructions],
        flash_bytes=elf.text + elf.data - elf.sections.get(HARNESS_SECTION, 0),
        ram_bytes=elf.data + elf.bss,
        stack_used_bytes=max(b.stack_used for b in batches),
        stack_reserved_bytes=batches[-1].stack_reserved,
        elf=elf,
        runs=len(batches),
        machine=machine,
        constants_in_bulk=constants_in_bulk,
        classes=[c for b in batches for c in b.classes],
    )


def _check_inputs(inputs: Sequence[bytes], output_bytes: int) -> list[bytes]:
    """The input vectors as bytes, all of one non-zero size; ValueError/TypeError otherwise."""
    if not inputs:
        raise ValueError("inputs is empty: give at least one input vector")
    input_bytes = len(inputs[0])
    if input_bytes == 0:
        raise ValueError("input vectors must not be empty")
    for i, vector in enumerate(inputs):
        if not isinstance(vector, bytes | bytearray | memoryview):
            raise TypeError(f"inputs[{i}] is {type(vector).__name__}, expected bytes")
        if len(vector) != input_bytes:
            raise ValueError(f"inputs[{i}] has {len(vector)} bytes; inputs[0] has {input_bytes}")
    if output_bytes <= 0:
        raise ValueError(f"output_bytes must be positive, got {output_bytes}")
    return [bytes(v) for v in inputs]


def _run_batch(
    layout: _Layout,
    objects: Sequence[Path],
    inputs: Sequence[bytes],
    start: int,
    *,
    out_dir: Path,
    timeout_s: float,
    count_classes: bool = False,
) -> _Batch:
    """Link the inputs `start`.. (as many as fit) into the program, run it, parse what it
    printed."""
    batch = inputs[start : start + layout.per_run]
    src = _write_inputs(out_dir, inputs=batch, stride=layout.stride, tag="run")
    batch_obj = compile_objects(layout.target, sources=[src], include_dirs=[], out_dir=out_dir)
    elf = link_elf(
        layout.target,
        objects=[*objects, *batch_obj],
        out_dir=out_dir,
        name="harness",
        machine=layout.machine,
        constants_in_bulk=layout.constants_in_bulk,
    )
    where = (
        f"model harness on {mcu_target(layout.target).name} (QEMU {layout.machine}), "
        f"inputs {start}..{start + len(batch) - 1}"
    )
    result = run_elf(
        layout.target,
        elf.path,
        timeout_s=timeout_s,
        count_instructions=True,
        count_mode="class" if count_classes else "tb",
        machine=layout.machine,
    )
    if result.exit_code != 0:
        tail = result.stdout[-1500:].decode(errors="replace")
        # A failing invoke prints its return code; report that rather than the exit code.
        failures = [m for m in map(_FAIL.match, tail.splitlines()) if m]
        if failures:
            raise McuRunError(
                f"{where}: tinyforge_model_invoke returned {failures[-1].group(2)} on input "
                f"{start + int(failures[-1].group(1))}"
            )
        raise McuRunError(f"{where}: exited with code {result.exit_code}; output:\n{tail}")
    outputs, used, reserved = _parse_harness_output(
        result.stdout,
        count=len(batch),
        input_bytes=layout.input_bytes,
        output_bytes=layout.output_bytes,
        where=where,
    )
    if reserved and used >= reserved - 64:
        raise McuRunError(
            f"{where}: the stack overflowed its {reserved}-byte reservation "
            f"(results are unreliable); reduce stack use or the model's locals"
        )
    if len(result.instructions) != len(batch):
        raise McuRunError(
            f"{where}: counted {len(result.instructions)} regions for {len(batch)} inferences"
        )
    return _Batch(outputs, list(result.instructions), list(result.classes), used, reserved, elf)
