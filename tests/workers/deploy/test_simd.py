"""The Linux SIMD paths (runtime/tinyforge_kernels_s8_simd.c): x86-64 SSE4.1 and AVX2, each forced
by -DTINYFORGE_SIMD, and aarch64 NEON under qemu-aarch64, against the TFLM interpreter on every
tensor of the MLPerf Tiny models and against the plain reference kernels on random layers."""

import platform
import shutil

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from workers.deploy import compile_model, verify_on_host
from workers.deploy.reader import read_model

X86 = platform.machine() in ("x86_64", "AMD64")
INT8_MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
LEVELS = {
    "sse41": ("-DTINYFORGE_SIMD=1",),
    "avx2": ("-DTINYFORGE_SIMD=2",),
    "avx512vnni": ("-DTINYFORGE_SIMD=3",),
}


def _cpu_flags() -> set[str]:
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return set()
    return {f for line in text.splitlines() if line.startswith("flags") for f in line.split()[2:]}


# what each level needs from the CPU (a level the CPU lacks would silently test a lower one)
NEEDS = {
    "sse41": {"sse4_1"},
    "avx2": {"avx2"},
    "avx512vnni": {"avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"},
}

needs_x86 = pytest.mark.skipif(
    not X86 or shutil.which("cc") is None, reason="needs an x86-64 host with a C compiler"
)


@needs_x86
@pytest.mark.slow
@pytest.mark.parametrize("name", INT8_MODELS)
@pytest.mark.parametrize("level", sorted(LEVELS))
def test_x86_simd_models_bit_exact(name, level, tmp_path):
    if not NEEDS[level] <= _cpu_flags():
        pytest.skip(f"this CPU lacks {sorted(NEEDS[level] - _cpu_flags())}")
    model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
    compiled = compile_model(model, out_dir=tmp_path / "lib")
    x = np.random.default_rng(7).integers(
        -128, 128, size=(30, *compiled.input.shape), dtype=np.int8
    )
    report = verify_on_host(
        compiled, model, x, work_dir=tmp_path / "work", extra_cflags=LEVELS[level]
    )
    assert report.bit_exact, report.mismatches[:3]
    assert report.tensors_compared == 30 * len(read_model(model).operators)
