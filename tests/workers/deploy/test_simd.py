"""The Linux SIMD paths (runtime/tinyforge_kernels_s8_simd.c): x86-64 SSE4.1 and AVX2, each forced
by -DTINYFORGE_SIMD, and aarch64 NEON under qemu-aarch64, against the TFLM interpreter on every
tensor of the MLPerf Tiny models and against the plain reference kernels on random layers."""

import os
import platform
import shutil
import subprocess

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from workers.deploy import compile_model, verify_on_host
from workers.deploy.host import _as_input_list, build_host, parse_dump, tflm_reference
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


needs_aarch64 = pytest.mark.skipif(
    shutil.which("aarch64-linux-gnu-gcc") is None or shutil.which("qemu-aarch64") is None,
    reason="needs aarch64-linux-gnu-gcc and qemu-aarch64 (scripts/install-toolchain.sh)",
)


def _run_qemu(exe, stdin: bytes, env: dict | None = None) -> bytes:
    proc = subprocess.run(
        ["qemu-aarch64", str(exe)],
        input=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.stdout


@needs_aarch64
@pytest.mark.toolchain
@pytest.mark.parametrize("name", INT8_MODELS)
def test_neon_models_bit_exact_under_qemu(name, tmp_path):
    """The NEON build (aarch64-linux-gnu-gcc, static, run by qemu-aarch64): outputs and every
    intermediate tensor equal to the interpreter's."""
    model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
    graph = read_model(model)
    compiled = compile_model(model, out_dir=tmp_path / "lib")
    x = np.random.default_rng(11).integers(
        -128, 128, size=(10, *compiled.input.shape), dtype=np.int8
    )
    inputs = _as_input_list(graph, x)
    cc = "aarch64-linux-gnu-gcc"
    exe = build_host(compiled, tmp_path, cc=cc, extra_cflags=("-static",))
    dbg = build_host(compiled, tmp_path, cc=cc, debug=True, extra_cflags=("-static",))
    ref_out, ref_tensors = tflm_reference(model, inputs)
    got = _run_qemu(exe, x.tobytes())
    assert got == b"".join(ref_out)
    dump = tmp_path / "dump.bin"
    _run_qemu(dbg, x.tobytes(), {"TINYFORGE_DUMP_FILE": str(dump)})
    records = parse_dump(dump.read_bytes())
    per_inference = 1 + len(graph.operators)
    assert len(records) == per_inference * len(x)
    for k in range(len(x)):
        for index, data in records[k * per_inference + 1 : (k + 1) * per_inference]:
            assert data == ref_tensors[k][index], (k, index, graph.tensor(index).name)
