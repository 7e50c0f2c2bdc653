"""Cross-compile C sources into a bare-metal ELF for a Cortex-M target's QEMU machine.

Every program is linked with the runtime in `runtime/` (vector table, reset handler,
semihosting) and a linker script rendered from `templates/link.ld.j2` for the target's
QEMU memory map. Floats are built with `-ffp-contract=off` so that results compare
bit for bit with a host build.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workers.deploy import cgen
from workers.deploy.mcu.errors import (
    INSTALL_HINT,
    McuBuildError,
    McuDoesNotFitError,
    ToolchainMissingError,
)
from workers.deploy.targets import Target, get_target

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
RUNTIME_SOURCES: tuple[Path, ...] = (
    RUNTIME_DIR / "tinyforge_startup.c",
    RUNTIME_DIR / "tinyforge_semihost.c",
)
HARNESS_MAIN = RUNTIME_DIR / "tinyforge_harness_main.c"

CROSS_CC = "arm-none-eabi-gcc"
CROSS_SIZE = "arm-none-eabi-size"
QEMU = "qemu-system-arm"
REQUIRED_TOOLS = (CROSS_CC, CROSS_SIZE, QEMU, "timeout")

# Flags every object gets; the target adds -mcpu/-mthumb/-mfloat-abi/-mfpu.
COMMON_CFLAGS = (
    "-ffunction-sections",
    "-fdata-sections",
    "-ffp-contract=off",
    "-fno-common",
    "-Wall",
    "-Wextra",
)
LINK_LIBS = ("-Wl,--start-group", "-lc", "-lm", "-lgcc", "-lnosys", "-Wl,--end-group")


@dataclass(frozen=True)
class ElfInfo:
    """A linked program and its sizes in bytes, as `arm-none-eabi-size` reports them.

    `text` counts every read-only allocated section (vectors, code, constants), `data` the
    initialised variables (stored in flash, copied to RAM), `bss` the zeroed variables.
    The stack is not included. `sections` maps each allocated section to its size.
    `machine` is the QEMU machine whose memory map it was linked for; `constants_in_bulk`
    tells that `.rodata` was placed in that machine's bulk memory instead of its flash.
    """

    path: Path
    text: int
    data: int
    bss: int
    sections: Mapping[str, int] = field(default_factory=dict)
    machine: str = ""
    constants_in_bulk: bool = False

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss


def missing_tools() -> list[str]:
    return [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]


def toolchain_available() -> bool:
    """True when the Arm cross compiler and qemu-system-arm are installed."""
    return not missing_tools()


def require_toolchain() -> None:
    missing = missing_tools()
    if missing:
        raise ToolchainMissingError(
            f"the Cortex-M toolchain is not installed (missing: {', '.join(missing)}); "
            + INSTALL_HINT
        )


def mcu_target(name: str) -> Target:
    """The Cortex-M preset called `name`, refusing Linux targets with a clear message."""
    target = get_target(name)
    if not target.is_mcu or target.qemu is None:
        raise ValueError(
            f"target {name!r} is not a Cortex-M target; the QEMU build-and-run layer serves "
            f"cortex-m targets only (the host toolchain builds Linux targets)"
        )
    return target


def render_linker_script(
    target: str,
    *,
    machine: str | None = None,
    use_bulk: bool = True,
    constants_in_bulk: bool = False,
) -> str:
    """The linker script for `target` on a QEMU machine (default: its preferred one).

    `use_bulk` puts the harness inputs (`.tinyforge_inputs`) in the machine's bulk memory when it
    has one; `constants_in_bulk` puts `.rodata` (model weights) there too, for programs whose
    constants outgrow the machine's code memory.
    """
    t = mcu_target(target)
    m = t.machine(machine)
    bulk = m.bulk if use_bulk else None
    if constants_in_bulk and bulk is None:
        raise ValueError(f"QEMU machine {m.name} has no bulk memory for constants")
    return cgen.render(
        "mcu/link.ld.j2",
        target=t.name,
        machine=m.name,
        flash=m.flash,
        ram=m.ram,
        bulk=bulk,
        constants_in_bulk=constants_in_bulk,
        stack_bytes=m.stack_bytes,
    )


def _run(cmd: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise McuBuildError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return proc


def _define_flags(defines: Mapping[str, str] | None) -> list[str]:
    flags = []
    for key, value in (defines or {}).items():
        if not cgen.is_identifier(key):
            raise ValueError(f"define name {key!r} is not a C identifier")
        flags.append(f"-D{key}={value}")
    return flags


def compile_objects(
    target: str,
    *,
    sources: Sequence[Path],
    include_dirs: Sequence[Path],
    defines: Mapping[str, str] | None = None,
    out_dir: Path,
    opt: str = "-O2",
    extra_cflags: Sequence[str] = (),
) -> list[Path]:
    """Compile each C (or assembler) source to an object in `out_dir/obj`; objects pass through."""
    require_toolchain()
    t = mcu_target(target)
    if not opt.startswith("-O"):
        raise ValueError(f"opt must be a -O level such as -O2 or -Os, got {opt!r}")
    obj_dir = Path(out_dir) / "obj"
    obj_dir.mkdir(parents=True, exist_ok=True)
    incs = [f"-I{d}" for d in [RUNTIME_DIR, *include_dirs]]
    flags = [*t.gcc_flags, opt, *COMMON_CFLAGS, *_define_flags(defines), *incs, *extra_cflags]
    objects = []
    for src in sources:
        src = Path(src)
        if src.suffix == ".o":
            objects.append(src)
            continue
        if not src.is_file():
            raise FileNotFoundError(f"source file not found: {src}")
        if src.suffix not in (".c", ".S", ".s"):
            raise ValueError(f"cannot compile {src}: expected a .c, .S, .s or .o file")
        tag = hashlib.sha256(str(src.resolve()).encode()).hexdigest()[:8]
        obj = obj_dir / f"{src.stem}-{tag}.o"
        _run(
            [CROSS_CC, *flags, "-c", str(src), "-o", str(obj)],
            what=f"compiling {src.name} for {t.name}",
        )
        objects.append(obj)
    return objects


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")


def link_elf(
    target: str,
    *,
    objects: Sequence[Path],
    out_dir: Path,
    name: str = "app",
    machine: str | None = None,
    use_bulk: bool = True,
    constants_in_bulk: bool = False,
) -> ElfInfo:
    """Link objects (the runtime's included by the caller) into `out_dir/<name>.elf`.

    Raises McuDoesNotFitError, naming the region and the overflow, when the program does
    not fit the machine's memory.
    """
    require_toolchain()
    t = mcu_target(target)
    m = t.machine(machine)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    script = out_dir / f"{name}.ld"
    script.write_text(
        render_linker_script(
            target, machine=m.name, use_bulk=use_bulk, constants_in_bulk=constants_in_bulk
        )
    )
    elf = out_dir / f"{name}.elf"
    cmd = [
        CROSS_CC,
        *t.gcc_flags,
        "-nostartfiles",
        "--specs=nano.specs",
        "-T",
        str(script),
        "-Wl,--gc-sections",
        f"-Wl,-Map={out_dir / (name + '.map')}",
        "-Wl,--no-warn-rwx-segments",
        "-o",
        str(elf),
        *[str(o) for o in objects],
        *LINK_LIBS,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        regions = {"FLASH": m.flash, "RAM": m.ram, "BULK": m.bulk}
        problems = []
        for region, over in _OVERFLOW.findall(proc.stderr):
            mem = regions.get(region)
            size = f" ({mem.length_bytes} bytes at 0x{mem.origin:08x})" if mem else ""
            problems.append(f"{region}{size} overflowed by {over} bytes")
        if "TINYFORGE_RAM_OVERFLOW" in proc.stderr:
            problems.append(
                f"RAM ({m.ram.length_bytes} bytes) cannot hold .data + .bss and the "
                f"{m.stack_bytes}-byte stack"
            )
        if problems:
            raise McuDoesNotFitError(
                f"program does not fit target {t.name} (QEMU {m.name}): "
                + "; ".join(problems)
                + f"\n{proc.stderr.strip()}"
            )
        raise McuBuildError(f"linking {elf.name} for {t.name} failed:\n{proc.stderr.strip()}")
    info = elf_info(elf)
    return dataclasses.replace(info, machine=m.name, constants_in_bulk=constants_in_bulk)


def elf_info(elf: Path) -> ElfInfo:
    """Sizes of a linked ELF from `arm-none-eabi-size` (Berkeley totals, per-section sizes)."""
    require_toolchain()
    berkeley = _run([CROSS_SIZE, "-B", str(elf)], what=f"{CROSS_SIZE} {elf}").stdout.splitlines()
    text, data, bss = (int(v) for v in berkeley[1].split()[:3])
    sections: dict[str, int] = {}
    for line in _run(
        [CROSS_SIZE, "-A", str(elf)], what=f"{CROSS_SIZE} -A {elf}"
    ).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    return ElfInfo(path=Path(elf), text=text, data=data, bss=bss, sections=sections)


def build_elf(
    target: str,
    *,
    sources: list[Path],
    include_dirs: list[Path],
    defines: dict[str, str] | None = None,
    out_dir: Path,
    opt: str = "-O2",
    extra_cflags: Sequence[str] = (),
    name: str = "app",
    machine: str | None = None,
    constants_in_bulk: bool = False,
) -> ElfInfo:
    """Compile `sources` (C files with a `main`, or objects) with the runtime and link an ELF.

    `main`'s return value becomes the emulator's exit code. Programs may use
    `tinyforge_semihost.h` (output to the host) and `tinyforge_startup.h` (SEV markers, stack use).
    The ELF is laid out for `machine` (default: the target's preferred QEMU machine); pass
    the same machine to `run_elf`.
    """
    objects = compile_objects(
        target,
        sources=[*RUNTIME_SOURCES, *sources],
        include_dirs=include_dirs,
        defines=defines,
        out_dir=out_dir,
        opt=opt,
        extra_cflags=extra_cflags,
    )
    return link_elf(
        target,
        objects=objects,
        out_dir=out_dir,
        name=name,
        machine=machine,
        constants_in_bulk=constants_in_bulk,
    )
