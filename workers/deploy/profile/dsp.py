"""Measure a processing block's generated C (the same `emit_dsp_chain` output the library ships)
on an emulated Cortex-M core: instruction classes of one window, stack, code and table bytes."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workers.deploy.mcu import McuRunError, build_elf, run_elf

PROFILE_DSP_MAIN = Path(__file__).resolve().parent / "runtime" / "tinyforge_profile_dsp_main.c"
_STACK = re.compile(rb"TINYFORGE STACK (\d+) (\d+)")


@dataclass(frozen=True)
class DspMeasurement:
    target: str
    classes: dict[str, int]
    stack_used_bytes: int
    code_bytes: int  # text + data of the DSP objects, tables included
    table_bytes: int
    window_bytes: int  # the window buffer the application holds (input floats)
    scratch_bytes: int  # the block's static working memory

    @property
    def ram_bytes(self) -> int:
        return self.window_bytes + self.scratch_bytes + self.stack_used_bytes

    @property
    def flash_bytes(self) -> int:
        return self.code_bytes


def _object_bytes(objects: list[Path]) -> int:
    out = subprocess.run(
        ["arm-none-eabi-size", *map(str, objects)], capture_output=True, text=True, check=True
    ).stdout
    total = 0
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3 and parts[0].isdigit():
            total += int(parts[0]) + int(parts[1])  # text + data
    return total


def measure_dsp(emission, target: str, *, timeout_s: float = 300) -> DspMeasurement:
    """One window through `emission` (a `workers.deploy.dsp.DspEmission` with the default
    prefix) on `target`'s QEMU machine."""
    with tempfile.TemporaryDirectory(prefix="tf-profile-dsp-") as tmp:
        root = Path(tmp)
        src = root / "src"
        src.mkdir()
        for rel, text in emission.files.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_text(text)
        sources = [*(src / rel for rel in emission.files if rel.endswith(".c")), *emission.sources]
        elf = build_elf(
            target,
            sources=[PROFILE_DSP_MAIN, *sources],
            include_dirs=[src, *emission.include_dirs],
            out_dir=root / "build",
        )
        objects = [
            p
            for p in (root / "build").rglob("*.o")
            if "profile_dsp_main" not in p.name
            and "startup" not in p.name
            and "semihost" not in p.name
        ]
        code = _object_bytes(objects) if objects else 0
        run = run_elf(
            target,
            elf.path,
            timeout_s=timeout_s,
            count_instructions=True,
            count_mode="class",
            machine=elf.machine,
        )
    if run.exit_code != 0 or b"TINYFORGE DONE" not in run.stdout or len(run.classes) != 1:
        raise McuRunError(
            f"profiling the DSP on {target} failed (exit {run.exit_code}): "
            f"{run.stdout[-400:].decode(errors='replace')}"
        )
    stack = _STACK.search(run.stdout)
    return DspMeasurement(
        target=target,
        classes=run.classes[0],
        stack_used_bytes=int(stack.group(1)) if stack else 0,
        code_bytes=code,
        table_bytes=emission.table_bytes,
        window_bytes=emission.input_floats * 4,
        scratch_bytes=emission.scratch_bytes,
    )
