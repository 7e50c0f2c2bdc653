"""Build C sources for Cortex-M targets and run them on emulated cores (qemu-system-arm).

Public interface (stable; the deployment build job calls it):

    toolchain_available() -> bool
    build_elf(target, *, sources, include_dirs, defines=None, out_dir, opt="-O2") -> ElfInfo
    run_elf(target, elf, *, timeout_s=60, count_instructions=False) -> RunResult
    run_model_harness(target, HarnessLibrary(sources, include_dirs, defines, opt, extra_cflags),
                      *, inputs, output_bytes, out_dir, timeout_s=120) -> HarnessResult

Targets are the Cortex-M presets of `workers.deploy.targets`. See docs/mcu.md.
"""

from workers.deploy.mcu.errors import (
    McuBuildError,
    McuDoesNotFitError,
    McuError,
    McuRunError,
    McuTimeoutError,
    ToolchainMissingError,
)
from workers.deploy.mcu.harness import HarnessLibrary, HarnessResult, run_model_harness
from workers.deploy.mcu.qemu import RunResult, plugin_path, qemu_version, run_elf
from workers.deploy.mcu.toolchain import (
    ElfInfo,
    build_elf,
    compile_objects,
    elf_info,
    link_elf,
    render_linker_script,
    toolchain_available,
)

__all__ = [
    "ElfInfo",
    "HarnessLibrary",
    "HarnessResult",
    "McuBuildError",
    "McuDoesNotFitError",
    "McuError",
    "McuRunError",
    "McuTimeoutError",
    "RunResult",
    "ToolchainMissingError",
    "build_elf",
    "compile_objects",
    "elf_info",
    "link_elf",
    "plugin_path",
    "qemu_version",
    "render_linker_script",
    "run_elf",
    "run_model_harness",
    "toolchain_available",
]
