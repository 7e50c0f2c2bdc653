"""Deployment target presets: what a build for each target may assume.

Pure data. A `Target` names a CPU core and its floating-point / SIMD features, the compiler
flags that select them, and the resources of a representative board (clock, RAM, flash)
that the compiler checks a model against. Cortex-M targets also name the QEMU machine that
verifies builds (`workers.deploy.mcu`) and that machine's memory map, from which the linker
script is rendered.

Board presets (`BOARDS`) map boards a user knows to a target, for the dashboard's picker.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class MemoryRegion:
    """One contiguous block of the emulated machine's address space."""

    origin: int
    length_bytes: int

    @property
    def end(self) -> int:
        return self.origin + self.length_bytes


@dataclass(frozen=True)
class QemuMachine:
    """A `qemu-system-arm -M <name>` board and the memory map the linker script uses.

    `flash` holds the vector table, code, read-only data and the load image of `.data`;
    `ram` holds `.data`, `.bss` and the stack (at its top). `bulk`, when the machine has
    one, is a large extra memory where the verification harness puts its input vectors so
    that many of them fit beside a model.
    """

    name: str
    cpu: str
    flash: MemoryRegion
    ram: MemoryRegion
    bulk: MemoryRegion | None
    stack_bytes: int
    notes: str = ""


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # "cortex-m" or "linux"
    core: str  # e.g. "cortex-m4"
    arch: str  # e.g. "armv7e-m"
    fpu: str | None  # gcc -mfpu value, None when floats are emulated in software
    fpu_double: bool  # hardware double precision
    dsp: bool  # SIMD/DSP extension (SMLAD, SXTB16, QADD...)
    helium: bool  # M-profile Vector Extension (MVE)
    cc: str  # compiler driver
    gcc_flags: tuple[str, ...]
    clock_hz: int | None
    ram_bytes: int | None
    flash_bytes: int | None
    boards: tuple[str, ...]
    qemu: QemuMachine | None
    description: str
    # Machines that also run this target's code, tried in order when a program does not fit
    # `qemu` (the micro:bit's 16 KB of RAM hold no real model).
    qemu_alternates: tuple[QemuMachine, ...] = ()

    def machines(self) -> tuple[QemuMachine, ...]:
        """The QEMU machines that verify this target, preferred first."""
        return () if self.qemu is None else (self.qemu, *self.qemu_alternates)

    def machine(self, name: str | None = None) -> QemuMachine:
        """The QEMU machine called `name` (default: the preferred one) for this target."""
        machines = self.machines()
        if not machines:
            raise ValueError(f"target {self.name!r} has no QEMU machine (not a Cortex-M target)")
        if name is None:
            return machines[0]
        for m in machines:
            if m.name == name:
                return m
        raise ValueError(
            f"QEMU machine {name!r} does not run target {self.name!r}; "
            f"valid: {', '.join(m.name for m in machines)}"
        )

    @property
    def is_mcu(self) -> bool:
        return self.kind == "cortex-m"


@dataclass(frozen=True)
class Board:
    """A board a user knows, mapped to the target that builds for it."""

    name: str
    target: str
    mcu: str
    clock_hz: int | None
    flash_bytes: int | None
    ram_bytes: int | None
    notes: str = ""
    # Flash wait states at `clock_hz` (vendor reference manuals' flash latency tables). The cycle
    # model charges them once per taken branch: sequential fetches are assumed hidden by the
    # part's prefetch buffer / flash accelerator / cache (docs/profile.md).
    flash_wait_states: int = 0


_MPS2_FLASH = MemoryRegion(0x0000_0000, 4 * MIB)  # ZBT SSRAM1
_MPS2_RAM = MemoryRegion(0x2000_0000, 4 * MIB)  # ZBT SSRAM2/3

QEMU_MACHINES: dict[str, QemuMachine] = {
    m.name: m
    for m in (
        QemuMachine(
            name="microbit",
            cpu="cortex-m0",
            flash=MemoryRegion(0x0000_0000, 256 * KIB),
            ram=MemoryRegion(0x2000_0000, 16 * KIB),
            bulk=None,
            stack_bytes=2 * KIB,
            notes="nRF51822: a Cortex-M0 (ARMv6-M, same instruction set as the M0+)",
        ),
        QemuMachine(
            name="mps2-an385",
            cpu="cortex-m3",
            flash=_MPS2_FLASH,
            ram=_MPS2_RAM,
            bulk=MemoryRegion(0x2100_0000, 16 * MIB),  # PSRAM
            stack_bytes=64 * KIB,
        ),
        QemuMachine(
            name="mps2-an386",
            cpu="cortex-m4",
            flash=_MPS2_FLASH,
            ram=_MPS2_RAM,
            bulk=MemoryRegion(0x2100_0000, 16 * MIB),  # PSRAM
            stack_bytes=64 * KIB,
        ),
        QemuMachine(
            name="mps2-an500",
            cpu="cortex-m7",
            flash=_MPS2_FLASH,
            ram=_MPS2_RAM,
            bulk=MemoryRegion(0x6000_0000, 16 * MIB),  # PSRAM
            stack_bytes=64 * KIB,
            notes="QEMU's M7 has a double-precision FPU; the preset uses single precision only",
        ),
        QemuMachine(
            name="mps2-an505",
            cpu="cortex-m33",
            flash=MemoryRegion(0x1000_0000, 4 * MIB),  # SSRAM1, secure alias
            ram=MemoryRegion(0x3800_0000, 4 * MIB),  # SSRAM2+3, secure alias
            bulk=MemoryRegion(0x8000_0000, 16 * MIB),  # PSRAM
            stack_bytes=64 * KIB,
            notes="boots in the secure state; code and data use the secure aliases",
        ),
        QemuMachine(
            name="mps3-an547",
            cpu="cortex-m55",
            flash=MemoryRegion(0x1000_0000, 512 * KIB),  # ITCM, secure alias
            ram=MemoryRegion(0x3000_0000, 512 * KIB),  # DTCM, secure alias
            bulk=MemoryRegion(0x3800_0000, 8 * MIB),  # QSPI flash (behind an MPC), secure alias
            stack_bytes=32 * KIB,
            notes="Corstone-300 FPGA image; boots in the secure state",
        ),
    )
}


BOARDS: tuple[Board, ...] = (
    Board(
        "Raspberry Pi Pico",
        "cortex-m0plus",
        "RP2040",
        133_000_000,
        2 * MIB,
        264 * KIB,
        "dual Cortex-M0+, external QSPI flash",
    ),
    Board(
        "BBC micro:bit v1",
        "cortex-m0plus",
        "nRF51822",
        16_000_000,
        256 * KIB,
        16 * KIB,
        "Cortex-M0 (ARMv6-M, runs Cortex-M0+ code); the QEMU verification machine",
    ),
    Board(
        "Arduino Due",
        "cortex-m3",
        "SAM3X8E",
        84_000_000,
        512 * KIB,
        96 * KIB,
        flash_wait_states=4,
    ),
    Board(
        'STM32F103 "Blue Pill"',
        "cortex-m3",
        "STM32F103C8",
        72_000_000,
        64 * KIB,
        20 * KIB,
        flash_wait_states=2,
    ),
    Board("Arduino Nano 33 BLE Sense", "cortex-m4f", "nRF52840", 64_000_000, 1 * MIB, 256 * KIB),
    Board(
        "STM32F4 Discovery",
        "cortex-m4f",
        "STM32F407VG",
        168_000_000,
        1 * MIB,
        192 * KIB,
        flash_wait_states=5,
    ),
    Board(
        "STM32F746G Discovery",
        "cortex-m7",
        "STM32F746NG",
        216_000_000,
        1 * MIB,
        320 * KIB,
        flash_wait_states=7,
    ),
    Board(
        "Arduino Portenta H7",
        "cortex-m7",
        "STM32H747XI",
        480_000_000,
        2 * MIB,
        1 * MIB,
        "M7 core; its double-precision FPU is not used by the preset",
        flash_wait_states=4,
    ),
    Board("Teensy 4.1", "cortex-m7", "i.MX RT1062", 600_000_000, 8 * MIB, 1 * MIB),
    Board(
        "Nordic nRF5340 DK",
        "cortex-m33",
        "nRF5340",
        128_000_000,
        1 * MIB,
        512 * KIB,
        "application core",
    ),
    Board(
        "Arm Corstone-300 (MPS3 AN547)",
        "cortex-m55",
        "SSE-300",
        32_000_000,
        512 * KIB,
        512 * KIB,
        "FPGA image: 512 KB ITCM for code, 512 KB DTCM for data",
    ),
    Board(
        "Alif Ensemble E7",
        "cortex-m55",
        "AE722F80F55D5",
        400_000_000,
        5632 * KIB,
        13824 * KIB,
        "high-performance M55 core; MRAM as flash",
    ),
    Board("x86-64 PC or server", "linux-x86_64", "x86-64", None, None, None),
    Board("Raspberry Pi 4 / 5 (64-bit OS)", "linux-aarch64", "BCM2711 / BCM2712", None, None, None),
)


def _primary_board(target: str) -> Board:
    return next(b for b in BOARDS if b.target == target)


def _mcu(
    name: str,
    *,
    core: str,
    arch: str,
    fpu: str | None,
    fpu_double: bool,
    dsp: bool,
    helium: bool,
    machine: str,
    description: str,
    alternates: tuple[str, ...] = (),
) -> Target:
    flags = [f"-mcpu={core}", "-mthumb"]
    if fpu is None:
        flags.append("-mfloat-abi=soft")
    else:
        flags += ["-mfloat-abi=hard", f"-mfpu={fpu}"]
    board = _primary_board(name)
    return Target(
        name=name,
        kind="cortex-m",
        core=core,
        arch=arch,
        fpu=fpu,
        fpu_double=fpu_double,
        dsp=dsp,
        helium=helium,
        cc="arm-none-eabi-gcc",
        gcc_flags=tuple(flags),
        clock_hz=board.clock_hz,
        ram_bytes=board.ram_bytes,
        flash_bytes=board.flash_bytes,
        boards=tuple(b.name for b in BOARDS if b.target == name),
        qemu=QEMU_MACHINES[machine],
        description=description,
        qemu_alternates=tuple(QEMU_MACHINES[m] for m in alternates),
    )


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            name="linux-x86_64",
            kind="linux",
            core="x86-64",
            arch="x86-64",
            fpu=None,
            fpu_double=True,
            dsp=False,
            helium=False,
            cc="cc",
            gcc_flags=("-m64",),
            clock_hz=None,
            ram_bytes=None,
            flash_bytes=None,
            boards=tuple(b.name for b in BOARDS if b.target == "linux-x86_64"),
            qemu=None,
            description="64-bit Linux on x86-64 (the host build that verifies every deployment)",
        ),
        Target(
            name="linux-aarch64",
            kind="linux",
            core="armv8-a",
            arch="armv8-a",
            fpu=None,
            fpu_double=True,
            dsp=False,
            helium=False,
            cc="aarch64-linux-gnu-gcc",
            gcc_flags=("-march=armv8-a",),
            clock_hz=None,
            ram_bytes=None,
            flash_bytes=None,
            boards=tuple(b.name for b in BOARDS if b.target == "linux-aarch64"),
            qemu=None,
            description="64-bit Linux on Arm (Raspberry Pi, Jetson)",
        ),
        _mcu(
            "cortex-m0plus",
            core="cortex-m0plus",
            arch="armv6-m",
            fpu=None,
            fpu_double=False,
            dsp=False,
            helium=False,
            machine="microbit",
            # ARMv6-M code runs unchanged on the M3 (the start-up code turns on unaligned
            # access traps there, as on an M0+); used when a program outgrows the micro:bit.
            alternates=("mps2-an385",),
            description="Cortex-M0+: ARMv6-M, no FPU, no DSP, no hardware divide",
        ),
        _mcu(
            "cortex-m3",
            core="cortex-m3",
            arch="armv7-m",
            fpu=None,
            fpu_double=False,
            dsp=False,
            helium=False,
            machine="mps2-an385",
            description="Cortex-M3: ARMv7-M, no FPU, no DSP extension",
        ),
        _mcu(
            "cortex-m4f",
            core="cortex-m4",
            arch="armv7e-m",
            fpu="fpv4-sp-d16",
            fpu_double=False,
            dsp=True,
            helium=False,
            machine="mps2-an386",
            description="Cortex-M4F: ARMv7E-M with DSP and a single-precision FPU",
        ),
        _mcu(
            "cortex-m7",
            core="cortex-m7",
            arch="armv7e-m",
            fpu="fpv5-sp-d16",
            fpu_double=False,
            dsp=True,
            helium=False,
            machine="mps2-an500",
            description="Cortex-M7: ARMv7E-M with DSP and a single-precision FPU (FPv5)",
        ),
        _mcu(
            "cortex-m33",
            core="cortex-m33",
            arch="armv8-m.main",
            fpu="fpv5-sp-d16",
            fpu_double=False,
            dsp=True,
            helium=False,
            machine="mps2-an505",
            description="Cortex-M33: ARMv8-M Mainline with DSP and a single-precision FPU",
        ),
        _mcu(
            "cortex-m55",
            core="cortex-m55",
            arch="armv8.1-m.main",
            fpu="auto",
            fpu_double=True,
            dsp=True,
            helium=True,
            machine="mps3-an547",
            description="Cortex-M55: ARMv8.1-M with DSP, Helium (MVE) and a double-precision FPU",
        ),
    )
}

MCU_TARGETS: tuple[str, ...] = tuple(n for n, t in TARGETS.items() if t.is_mcu)


def get_target(name: str) -> Target:
    """The preset called `name`; a ValueError listing the valid names otherwise."""
    try:
        return TARGETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown target {name!r}; valid targets: {', '.join(TARGETS)}") from None


def get_board(name: str) -> Board:
    for board in BOARDS:
        if board.name == name:
            return board
    raise ValueError(f"unknown board {name!r}; valid boards: {', '.join(b.name for b in BOARDS)}")


def boards_for_target(target: str) -> tuple[Board, ...]:
    get_target(target)
    return tuple(b for b in BOARDS if b.target == target)
