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
from workers.deploy.compiler import RUNTIME_DIR, RUNTIME_FILES
from workers.deploy.host import HOST_CFLAGS, _as_input_list, build_host, parse_dump, tflm_reference
from workers.deploy.lower import group_channels, interleave_filter, interleave_rows
from workers.deploy.quant import quantize_multiplier
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


# ---- kernel level: random layers, the SIMD kernels against the plain reference kernels ----

RUNTIME_C = [RUNTIME_DIR / n for n in RUNTIME_FILES if n.endswith(".c")]


def _c_array(ctype: str, name: str, values) -> str:
    vals = ", ".join(str(int(v)) for v in np.asarray(values).reshape(-1)) or "0"
    return f"static {ctype} {name}[] TINYFORGE_ALIGNED16 = {{{vals}}};\n"


def _requant_params(rng, n: int) -> tuple[list[int], list[int]]:
    mults, shifts = [], []
    for _ in range(n):  # mostly right shifts; some scales >= 0.5 (left or no shift)
        scale = float(
            rng.choice([10 ** rng.uniform(-5, -0.5), rng.uniform(0.5, 3.0)], p=[0.8, 0.2])
        )
        m, s = quantize_multiplier(scale)
        mults.append(m)
        shifts.append(s)
    return mults, shifts


def _act_range(rng) -> tuple[int, int]:
    if rng.random() < 0.5:
        return -128, 127
    lo = int(rng.integers(-128, 0))
    return lo, int(rng.integers(lo + 1, 128))


IN_CS = (1, 3, 4, 5, 8, 13, 16, 17, 24, 33)
OUT_CS = (1, 2, 3, 5, 6, 8, 13, 16, 17, 20)


def _conv_case(
    rng,
    i: int,
    depthwise: bool,
    *,
    in_cs=IN_CS,
    out_cs=OUT_CS,
    max_hw: int = 10,
    strides=(1, 2),
    twice: bool = False,
    tile: bool = False,
) -> tuple[str, str]:
    """C declarations and the check of one random (depthwise) convolution; `twice` runs the
    optimised kernel a second time (a layer's second call, on packed weights) and checks both;
    `tile` computes one tile of an output row (negative padding past the first)."""
    in_h, in_w = int(rng.integers(1, max_hw)), int(rng.integers(1, max_hw))
    in_c = int(rng.choice(in_cs))
    out_c = in_c if depthwise else int(rng.choice(out_cs))
    f_h, f_w = [(1, 1), (3, 3), (1, 3), (3, 1), (5, 5), (2, 2)][int(rng.integers(0, 6))]
    stride = int(rng.choice(strides))
    dil = 2 if rng.random() < 0.15 else 1
    same = rng.random() < 0.6
    eff_h, eff_w = (f_h - 1) * dil + 1, (f_w - 1) * dil + 1
    if same:
        out_h, out_w = -(-in_h // stride), -(-in_w // stride)
    else:
        if in_h < eff_h or in_w < eff_w:
            in_h, in_w = in_h + eff_h, in_w + eff_w
        out_h, out_w = (in_h - eff_h) // stride + 1, (in_w - eff_w) // stride + 1
    pad_h = max(0, ((out_h - 1) * stride + eff_h - in_h) // 2)
    pad_w = max(0, ((out_w - 1) * stride + eff_w - in_w) // 2)
    batches = int(rng.integers(1, 3))
    if tile:  # one output row's tile, as the RAM plan calls it: the padding moved (negative)
        oy0, ox0 = int(rng.integers(0, out_h)), int(rng.integers(0, out_w))
        pad_h, pad_w = pad_h - oy0 * stride, pad_w - ox0 * stride
        out_h, out_w, batches = 1, int(rng.integers(1, out_w - ox0 + 1)), 1
    taps = f_h * f_w
    x = rng.integers(-128, 128, size=batches * in_h * in_w * in_c)
    w = rng.integers(-127, 128, size=(taps * out_c) if depthwise else (out_c * taps * in_c))
    bias = rng.integers(-5000, 5000, size=out_c)
    in_zp = int(rng.integers(-128, 128))
    mults, shifts = _requant_params(rng, out_c)
    lo, hi = _act_range(rng)
    if depthwise:
        sums = w.reshape(taps, out_c).sum(axis=0)
        relaid = group_channels(w.astype(np.int8), in_c)
        col_stride = 0
    else:
        sums = w.reshape(out_c, -1).sum(axis=1)
        col_stride = (taps * in_c + 3) // 4 * 4
        relaid = interleave_filter(w.astype(np.int8), out_c, col_stride)
    bias_eff = bias + (-in_zp) * sums
    scratch = max(4 * col_stride, 3 * col_stride + 384, in_c)
    out_n = batches * out_h * out_w * out_c
    d = (
        _c_array("const int8_t", f"x{i}", x)
        + _c_array("const int8_t", f"w{i}", w)
        + _c_array("const int8_t", f"wr{i}", relaid)
        + _c_array("const int32_t", f"b{i}", bias)
        + _c_array("const int32_t", f"be{i}", bias_eff)
        + _c_array("const int32_t", f"m{i}", mults)
        + _c_array("const int32_t", f"s{i}", shifts)
        + f"static int8_t sc{i}[{scratch}] TINYFORGE_ALIGNED16;\n"
        + f"static int8_t ref{i}[{out_n}], opt{i}[{out_n}];\n"
        + (f"static int8_t again{i}[{out_n}];\n" if twice else "")
        + f"static const tinyforge_conv_s8_t p{i} = {{.batches = {batches}, .in_h = {in_h}, "
        f".in_w = {in_w}, .in_c = {in_c}, .out_h = {out_h}, .out_w = {out_w}, .out_c = {out_c}, "
        f".f_h = {f_h}, .f_w = {f_w}, .stride_h = {stride}, .stride_w = {stride}, "
        f".dil_h = {dil}, .dil_w = {dil}, .pad_h = {pad_h}, .pad_w = {pad_w}, "
        f".depth_multiplier = 1, .col_stride = {col_stride}, .input_offset = {-in_zp}, "
        f".output_offset = {int(rng.integers(-128, 128))}, .act_min = {lo}, .act_max = {hi}, "
        f".multiplier = m{i}, .shift = s{i}}};\n"
    )
    kind = "depthwise_conv2d" if depthwise else "conv2d"
    run = (
        f"    tinyforge_{kind}_s8(&p{i}, x{i}, w{i}, b{i}, ref{i});\n"
        f"    tinyforge_{kind}_s8_opt(&p{i}, x{i}, wr{i}, be{i}, opt{i}, sc{i});\n"
    )
    if twice:
        run += (
            f"    tinyforge_{kind}_s8_opt(&p{i}, x{i}, wr{i}, be{i}, again{i}, sc{i});\n"
            f"    if (memcmp(opt{i}, again{i}, sizeof opt{i}) != 0)\n"
            f"        opt{i}[0] = (int8_t)~ref{i}[0];\n"
        )
    run += f'    printf("{kind} {i} %d\\n", memcmp(ref{i}, opt{i}, sizeof ref{i}) != 0);\n'
    return d, run


def _fc_case(rng, i: int) -> tuple[str, str]:
    k = 4 * int(rng.integers(1, 60))
    out_d = int(rng.integers(1, 38))
    batches = int(rng.integers(1, 4))
    per_channel = int(rng.random() < 0.5)
    x = rng.integers(-128, 128, size=batches * k)
    w = rng.integers(-127, 128, size=out_d * k)
    bias = rng.integers(-5000, 5000, size=out_d)
    in_zp = int(rng.integers(-128, 128))
    mults, shifts = _requant_params(rng, out_d if per_channel else 1)
    lo, hi = _act_range(rng)
    bias_eff = bias + (-in_zp) * w.reshape(out_d, k).sum(axis=1)
    relaid = interleave_rows(w.astype(np.int8), out_d, group=4)
    d = (
        _c_array("const int8_t", f"x{i}", x)
        + _c_array("const int8_t", f"w{i}", w)
        + _c_array("const int8_t", f"wr{i}", relaid)
        + _c_array("const int32_t", f"b{i}", bias)
        + _c_array("const int32_t", f"be{i}", bias_eff)
        + _c_array("const int32_t", f"m{i}", mults)
        + _c_array("const int32_t", f"s{i}", shifts)
        + f"static int8_t ref{i}[{batches * out_d}], opt{i}[{batches * out_d}];\n"
        + f"static const tinyforge_fc_s8_t p{i} = {{.batches = {batches}, .accum_depth = {k}, "
        f".out_depth = {out_d}, .per_channel = {per_channel}, .input_offset = {-in_zp}, "
        f".filter_offset = 0, .output_offset = {int(rng.integers(-128, 128))}, "
        f".act_min = {lo}, .act_max = {hi}, .multiplier = m{i}, .shift = s{i}}};\n"
    )
    run = (
        f"    tinyforge_fully_connected_s8(&p{i}, x{i}, w{i}, b{i}, ref{i});\n"
        f"    tinyforge_fully_connected_s8_opt(&p{i}, x{i}, wr{i}, be{i}, opt{i});\n"
        f'    printf("fc {i} %d\\n", memcmp(ref{i}, opt{i}, sizeof ref{i}) != 0);\n'
    )
    return d, run


def _add_case(rng, i: int) -> tuple[str, str]:
    size = int(rng.integers(1, 300))
    s1, s2, so = (10 ** rng.uniform(-3, 0) for _ in range(3))
    twice_max = 2 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << 20) * so))
    lo, hi = _act_range(rng)
    a = rng.integers(-128, 128, size=size)
    b = rng.integers(-128, 128, size=size)
    d = (
        _c_array("const int8_t", f"x{i}", a)
        + _c_array("const int8_t", f"y{i}", b)
        + f"static int8_t ref{i}[{size}], opt{i}[{size}];\n"
        + f"static const tinyforge_binary_s8_t p{i} = {{.out_dims = {{1, 1, 1, {size}}}, "
        ".in1_strides = {0, 0, 0, 1}, .in2_strides = {0, 0, 0, 1}, "
        f".input1_offset = {int(rng.integers(-127, 129))}, "
        f".input2_offset = {int(rng.integers(-127, 129))}, "
        f".output_offset = {int(rng.integers(-128, 128))}, .left_shift = 20, "
        f".input1_multiplier = {m1}, .input1_shift = {sh1}, .input2_multiplier = {m2}, "
        f".input2_shift = {sh2}, .output_multiplier = {mo}, .output_shift = {sho}, "
        f".act_min = {lo}, .act_max = {hi}}};\n"
    )
    run = (
        f"    tinyforge_add_s8(&p{i}, x{i}, y{i}, ref{i});\n"
        f"    tinyforge_add_s8_opt(&p{i}, {size}, x{i}, y{i}, opt{i});\n"
        f'    printf("add {i} %d\\n", memcmp(ref{i}, opt{i}, sizeof ref{i}) != 0);\n'
    )
    return d, run


def _random_layers_probe(path, seed: int, n: int = 120) -> None:
    rng = np.random.default_rng(seed)
    decls, runs = [], []
    for i in range(n):
        kind = i % 4
        if kind == 3:
            d, r = _add_case(rng, i)
        elif kind == 2:
            d, r = _fc_case(rng, i)
        else:
            d, r = _conv_case(rng, i, depthwise=kind == 1)
        decls.append(d)
        runs.append(r)
    _write_probe(path, decls, runs)


def _write_probe(path, decls: list[str], runs: list[str]) -> None:
    path.write_text(
        '#include <stdio.h>\n#include <string.h>\n#include "tinyforge_kernels.h"\n'
        + "".join(decls)
        + "int main(void)\n{\n"
        + "".join(runs)
        + "    return 0;\n}\n"
    )


def _packed_layers_probe(path, seed: int, n: int = 96) -> None:
    """Layers around the VNNI level's packed weights: convolutions with output channels about the
    16-lane blocks (one, two, three, a partial last one), inputs of 1-7 channels (padded to 4 or 8,
    or im2col columns), pixel counts off the tile's eight; depthwise layers of 1-80 channels at
    stride 1 (the row runs) and 2; a quarter of them one tile of an output row as the RAM plan
    calls them (negative padding). Each optimised kernel runs twice: the second call reads the packs
    the first made."""
    rng = np.random.default_rng(seed)
    decls, runs = [], []
    for i in range(n):
        tile = i % 8 >= 6
        if i % 2:
            d, r = _conv_case(
                rng,
                i,
                True,
                in_cs=(1, 2, 3, 4, 8, 16, 24, 32, 48, 64, 80),
                max_hw=14,
                twice=True,
                tile=tile,
            )
        else:
            d, r = _conv_case(
                rng,
                i,
                False,
                in_cs=(1, 2, 3, 4, 6, 7, 8, 16, 20, 32),
                out_cs=(1, 7, 15, 16, 17, 31, 32, 33, 47, 48, 64, 70),
                max_hw=14,
                twice=True,
                tile=tile,
            )
        decls.append(d)
        runs.append(r)
    _write_probe(path, decls, runs)


def _probe_results(out: str) -> dict[str, int]:
    return {" ".join(line.split()[:2]): int(line.split()[2]) for line in out.splitlines()}


@needs_x86
@pytest.mark.parametrize("level", sorted(LEVELS))
def test_x86_simd_kernels_equal_reference_on_random_layers(level, tmp_path):
    """Odd channel counts, strides 1-2, SAME/VALID padding, dilation, batches, per-tensor and
    per-channel multipliers with left and right shifts, narrow activation ranges."""
    if not NEEDS[level] <= _cpu_flags():
        pytest.skip(f"this CPU lacks {sorted(NEEDS[level] - _cpu_flags())}")
    src = tmp_path / "probe.c"
    _random_layers_probe(src, seed=2026)
    exe = tmp_path / "probe"
    subprocess.run(
        ["cc", *HOST_CFLAGS, *LEVELS[level], "-I", str(RUNTIME_DIR), "-o", str(exe), str(src)]
        + [str(p) for p in RUNTIME_C]
        + ["-lm"],
        check=True,
    )
    results = _probe_results(subprocess.run([str(exe)], capture_output=True, text=True).stdout)
    assert len(results) == 120
    assert [k for k, bad in results.items() if bad] == []


@needs_x86
@pytest.mark.parametrize(
    "limits",
    [(), ("-DTINYFORGE_SIMD_PACK_BYTES=16384", "-DTINYFORGE_SIMD_MAX_IN=1024")],
    ids=["default", "small-buffers"],
)
def test_x86_vnni_packed_layers_equal_reference(limits, tmp_path):
    """The VNNI kernels on weights packed with output channels along the lanes, and with a pack pool
    and an input buffer small enough that some layers take the im2col columns or the unpacked
    kernels (pool full)."""
    if not NEEDS["avx512vnni"] <= _cpu_flags():
        pytest.skip(f"this CPU lacks {sorted(NEEDS['avx512vnni'] - _cpu_flags())}")
    src = tmp_path / "probe.c"
    _packed_layers_probe(src, seed=15)
    exe = tmp_path / "probe"
    subprocess.run(
        ["cc", *HOST_CFLAGS, *LEVELS["avx512vnni"], *limits, "-I", str(RUNTIME_DIR)]
        + ["-o", str(exe), str(src)]
        + [str(p) for p in RUNTIME_C]
        + ["-lm"],
        check=True,
    )
    results = _probe_results(subprocess.run([str(exe)], capture_output=True, text=True).stdout)
    assert len(results) == 96
    assert [k for k, bad in results.items() if bad] == []


@needs_aarch64
@pytest.mark.toolchain
def test_neon_kernels_equal_reference_on_random_layers(tmp_path):
    src = tmp_path / "probe.c"
    _random_layers_probe(src, seed=2027)
    exe = tmp_path / "probe"
    subprocess.run(
        ["aarch64-linux-gnu-gcc", *HOST_CFLAGS, "-static", "-I", str(RUNTIME_DIR)]
        + ["-o", str(exe), str(src)]
        + [str(p) for p in RUNTIME_C]
        + ["-lm"],
        check=True,
    )
    results = _probe_results(_run_qemu(exe, b"").decode())
    assert len(results) == 120
    assert [k for k, bad in results.items() if bad] == []
