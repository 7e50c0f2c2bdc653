"""Tinyforge deployment compiler: `.tflite` -> self-contained C99 library, verified on the host.

Public API (kept stable for the build job and the CLI):

    compile_model(tflite_bytes, *, prefix="tinyforge_", out_dir=None, model_type=None)
        -> CompiledModel
    verify_on_host(compiled, tflite_bytes, inputs) -> HostReport
    check_supported(tflite_bytes) -> list[str]   # unsupported op names, empty when all supported
    SUPPORTED_OPS, CompileError
"""

from workers.deploy.compiler import (
    COMPILER_VERSION,
    SUPPORTED_OPS,
    CompiledModel,
    TensorInfo,
    check_supported,
    compile_model,
    write_files,
)
from workers.deploy.host import HostReport, verify_on_host
from workers.deploy.ir import CompileError

__all__ = [
    "COMPILER_VERSION",
    "SUPPORTED_OPS",
    "CompileError",
    "CompiledModel",
    "HostReport",
    "TensorInfo",
    "check_supported",
    "compile_model",
    "verify_on_host",
    "write_files",
]
