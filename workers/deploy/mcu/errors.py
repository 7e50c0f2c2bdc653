"""Errors of the Cortex-M build-and-run layer, each saying what went wrong and what to do."""

from __future__ import annotations

INSTALL_HINT = (
    "install it with `sudo scripts/install-toolchain.sh` (or: apt-get install "
    "--no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
)


class McuError(RuntimeError):
    """Base class of every error raised by workers.deploy.mcu."""


class ToolchainMissingError(McuError):
    """arm-none-eabi-gcc, qemu-system-arm or another needed tool is not installed."""


class McuBuildError(McuError):
    """Compiling or linking failed; the message carries the compiler's own words."""


class McuDoesNotFitError(McuBuildError):
    """The program is larger than the memory of the machine it was linked for."""


class McuTimeoutError(McuError):
    """The emulated program did not finish in time (it was killed)."""


class McuRunError(McuError):
    """The emulated program failed: a fault, a non-zero exit, or unreadable output."""
