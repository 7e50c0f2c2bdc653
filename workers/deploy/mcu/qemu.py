"""Run a Cortex-M ELF under qemu-system-arm, optionally counting executed instructions.

QEMU emulates no cycle counter, but it executes instructions exactly and repeatably. The
TCG plugin in `plugin/insn_count.c` counts the instructions executed between pairs of
`sev` markers; it is built with the host C compiler into a cache directory the first time
it is needed (Debian ships no qemu-plugin.h, so the plugin declares the API by hand).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from workers.deploy.mcu.errors import (
    McuBuildError,
    McuRunError,
    McuTimeoutError,
    ToolchainMissingError,
)
from workers.deploy.mcu.toolchain import QEMU, mcu_target, require_toolchain

PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"
PLUGIN_SOURCES = (
    PLUGIN_DIR / "insn_count.c",
    PLUGIN_DIR / "qemu_plugin_min.h",
    PLUGIN_DIR / "insn_classes.h",
)
COUNT_MODES = ("tb", "insn", "class")
TIMEOUT_EXIT_CODES = (124, 137)  # timeout(1): TERM sent / KILL sent


@dataclass(frozen=True)
class RunResult:
    """What an emulated run produced.

    `instructions` holds one count per `sev`-delimited region (empty unless counting);
    `classes` (count_mode="class") one dict per region: instruction class or auxiliary
    counter name -> count (see plugin/insn_classes.h and workers.deploy.profile.cycles).
    """

    exit_code: int
    stdout: bytes
    instructions: list[int] = field(default_factory=list)
    stderr: bytes = b""
    elapsed_s: float = 0.0
    classes: list[dict[str, int]] = field(default_factory=list)


def cache_dir() -> Path:
    """Where built helpers (the QEMU plugin) are kept: $TINYFORGE_CACHE_DIR or
    ~/.cache/tinyforge."""
    root = os.environ.get("TINYFORGE_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "tinyforge"


@functools.lru_cache(maxsize=1)
def _qemu_version_line(qemu_path: str) -> str:
    out = subprocess.run(
        [qemu_path, "--version"], capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()[0].strip()


def qemu_version() -> str:
    """The first line of `qemu-system-arm --version`."""
    require_toolchain()
    qemu_path = shutil.which(QEMU)
    assert qemu_path is not None
    return _qemu_version_line(qemu_path)


def plugin_path() -> Path:
    """Build (once, cached by source and QEMU version) and return the insn_count plugin."""
    require_toolchain()
    host_cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if host_cc is None:
        raise ToolchainMissingError(
            "counting instructions needs a host C compiler (cc or gcc) to build the QEMU "
            "plugin; install build-essential"
        )
    digest = hashlib.sha256()
    for src in PLUGIN_SOURCES:
        digest.update(src.read_bytes())
    digest.update(qemu_version().encode())
    out_dir = cache_dir() / "qemu-plugins"
    so = out_dir / f"insn_count-{digest.hexdigest()[:12]}.so"
    if so.is_file():
        return so
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".so.tmp")
    os.close(fd)
    try:
        proc = subprocess.run(
            [
                host_cc,
                "-shared",
                "-fPIC",
                "-O2",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-o",
                tmp,
                str(PLUGIN_SOURCES[0]),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise McuBuildError(f"building the QEMU plugin failed:\n{proc.stderr.strip()}")
        os.replace(tmp, so)  # atomic: concurrent builders race harmlessly
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return so


def _parse_counts(path: Path) -> list[int]:
    if not path.is_file():
        return []
    return [
        int(line) for line in path.read_text().splitlines() if line and not line.startswith("#")
    ]


def _parse_classes(path: Path) -> list[dict[str, int]]:
    regions: list[dict[str, int]] = []
    if not path.is_file():
        return regions
    for line in path.read_text().splitlines():
        words = line.split()
        if len(words) < 2 or words[0] != "region":
            continue
        regions.append({k: int(v) for k, v in (w.split("=", 1) for w in words[2:])})
    return regions


def run_elf(
    target: str,
    elf: Path,
    *,
    timeout_s: float = 60,
    count_instructions: bool = False,
    count_mode: str = "tb",
    machine: str | None = None,
) -> RunResult:
    """Run `elf` on the target's QEMU machine with semihosting; return its exit code and output.

    A non-zero exit code is returned, not raised (callers decide); a run that exceeds
    `timeout_s` raises McuTimeoutError, QEMU failing to start or locking up raises
    McuRunError. `count_mode` "insn" counts with a callback per instruction (slow; a
    cross-check of the default "tb"); "class" also counts by instruction class
    (`RunResult.classes`, for the cycle model; a callback per executed block). `machine` must be
    the one the ELF was linked for
    (`ElfInfo.machine`; default: the target's preferred machine).
    """
    require_toolchain()
    t = mcu_target(target)
    m = t.machine(machine)
    elf = Path(elf)
    if not elf.is_file():
        raise FileNotFoundError(f"ELF not found: {elf}")
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s}")
    if count_mode not in COUNT_MODES:
        raise ValueError(f"count_mode must be one of {COUNT_MODES}, got {count_mode!r}")

    with tempfile.TemporaryDirectory(prefix="tf-qemu-") as tmp:
        counts_file = Path(tmp) / "insn_counts.txt"
        classes_file = Path(tmp) / "insn_classes.txt"
        cmd = [
            "timeout",
            "--kill-after=5",
            f"{timeout_s:g}",
            QEMU,
            "-M",
            m.name,
            "-nographic",
            "-semihosting-config",
            "enable=on,target=native",
            "-kernel",
            str(elf),
        ]
        if count_instructions:
            if "," in str(counts_file):
                raise McuRunError(f"temporary directory {tmp!r} contains a comma; set TMPDIR")
            plugin_args = f"{plugin_path()},out={counts_file},mode={count_mode}"
            if count_mode == "class":
                plugin_args += f",classes={classes_file}"
            cmd += ["-plugin", plugin_args]
        started = time.monotonic()
        try:
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
                timeout=timeout_s + 30,
            )
        except subprocess.TimeoutExpired as exc:  # timeout(1) itself failed to stop QEMU
            raise McuTimeoutError(
                f"{elf.name} on {t.name} (QEMU {m.name}) did not stop within {timeout_s:g} s"
            ) from exc
        elapsed = time.monotonic() - started
        counts = _parse_counts(counts_file) if count_instructions else []
        classes = _parse_classes(classes_file) if count_instructions else []

    stderr_text = proc.stderr.decode(errors="replace")
    if proc.returncode in TIMEOUT_EXIT_CODES and elapsed >= 0.9 * timeout_s:
        raise McuTimeoutError(
            f"{elf.name} on {t.name} (QEMU {m.name}) did not finish within {timeout_s:g} s "
            f"and was killed; the program hangs or needs a longer timeout. "
            f"Output so far: {proc.stdout[-400:].decode(errors='replace')!r}"
        )
    if "qemu: fatal:" in stderr_text or stderr_text.startswith(f"{QEMU}:"):
        raise McuRunError(
            f"QEMU could not run {elf.name} on {m.name} (exit {proc.returncode}):\n"
            f"{stderr_text.strip()[:2000]}"
        )
    return RunResult(
        exit_code=proc.returncode,
        stdout=proc.stdout,
        instructions=counts,
        stderr=proc.stderr,
        elapsed_s=elapsed,
        classes=classes,
    )
