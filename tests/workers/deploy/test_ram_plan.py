"""`--optimize ram`: the RAM rewrites of the memory plan (in-place depthwise and pointwise,
convolution + ADD on tiles), their arena sizes, and bit-exactness with the TFLM interpreter on
the host and under QEMU."""

from __future__ import annotations

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from tests.workers.deploy.tflite_builders import convert
from workers.deploy import CompileError, compile_model, verify_on_host
from workers.deploy.host import _as_input_list, tflm_reference
from workers.deploy.ir import Graph, Operator, Tensor
from workers.deploy.lifetimes import output_tiles, plan_memory
from workers.deploy.reader import read_model

MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
# TFLM's arena on the Cortex-M4 (issue 15) and the goal: <= 0.6 of it with --optimize ram.
TFLM_M4_ARENA = {
    "kws_ref_model": 22_820,
    "vww_96_int8": 100_708,
    "pretrainedResnet_quant": 54_996,
    "ad01_int8": 2_580,
}


def _int8(name: str, shape: tuple[int, ...], const: bool = False) -> Tensor:
    data = np.zeros(shape, np.int8) if const else None
    return Tensor(0, name, shape, "int8", data=data)


def _graph(tensors: list[Tensor], ops: list[tuple], inputs: tuple, outputs: tuple) -> Graph:
    for i, t in enumerate(tensors):
        t.index = i
    return Graph(
        tensors=tensors,
        operators=[
            Operator(k, code, ins, outs, opts) for k, (code, ins, outs, opts) in enumerate(ops)
        ],
        inputs=inputs,
        outputs=outputs,
    )


def depthwise_chain(*, channels: int) -> Graph:
    """x -(conv 1x1, 1 -> C)-> a -(depthwise 3x3)-> d -(FC)-> out: the peak is a + d."""
    s = "SAME"
    return _graph(
        [
            _int8("x", (1, 10, 10, 1)),  # 0: 100 B
            _int8("w", (channels, 1, 1, 1), const=True),  # 1
            _int8("a", (1, 10, 10, channels)),  # 2: 100 C
            _int8("dw", (1, 3, 3, channels), const=True),  # 3
            _int8("d", (1, 10, 10, channels)),  # 4: 100 C
            _int8("fw", (2, 100 * channels), const=True),  # 5
            _int8("out", (1, 2)),  # 6
        ],
        [
            ("CONV_2D", (0, 1, -1), (2,), dict(padding=s, stride_h=1, stride_w=1)),
            ("DEPTHWISE_CONV_2D", (2, 3, -1), (4,), dict(padding=s, stride_h=1, stride_w=1)),
            ("FULLY_CONNECTED", (4, 5, -1), (6,), {}),
        ],
        (0,),
        (6,),
    )


def test_in_place_depthwise_lowers_the_peak_by_its_input_less_the_temporary():
    g = depthwise_chain(channels=7)  # not a multiple of 4: one channel at a time
    speed = plan_memory(g)
    ram = plan_memory(g, optimize_for="ram")
    assert speed.arena_bytes == 704 + 704  # a and d side by side (700 B each, 16-aligned)
    assert [s.kind for s in ram.ram_steps.values()] == ["depthwise_in_place"]
    step = ram.ram_steps[1]
    assert (step.unit, step.temp_bytes) == (1, 100 + 100)  # one channel of input and output
    assert ram.offsets[4] == ram.offsets[2]  # the output is written over the input
    t, a = ram.temp_offsets[1], ram.offsets[2]
    assert t >= a + 704 or t + 208 <= a  # the temporary is clear of the tensor
    assert ram.arena_bytes == speed.arena_bytes - 704 + 208  # the input gone, the temporary in


def test_ram_plan_keeps_only_rewrites_that_lower_the_arena():
    g = depthwise_chain(channels=8)  # 4 channels at a time: the temporary is as large as a
    assert plan_memory(g, optimize_for="ram").ram_steps == {}
    kept = plan_memory(g, optimize_for="ram", prune=False)
    assert kept.ram_steps[1].temp_bytes == 4 * (100 + 100)
    assert kept.arena_bytes == plan_memory(g).arena_bytes == 1600


def test_depthwise_input_still_needed_is_not_overwritten():
    g = depthwise_chain(channels=7)
    g.outputs = (2, 6)  # a is a graph output: it must survive the depthwise
    assert plan_memory(g, optimize_for="ram", prune=False).ram_steps == {}


@pytest.mark.parametrize(
    ("out_h", "out_w", "tile"), [(1, 1, 8), (32, 32, 8), (9, 13, 8), (3, 5, 2)]
)
def test_tiles_cover_the_output_exactly_once(out_h, out_w, tile):
    covered = np.zeros((out_h, out_w), dtype=int)
    for oy, ox, n in output_tiles(out_h, out_w, tile):
        assert 1 <= n <= tile
        covered[oy, ox : ox + n] += 1
    assert (covered == 1).all()


def test_unknown_plan_and_plain_kernels_are_refused():
    model = require_shared(MODELS_DIR / "ad01_int8.tflite").read_bytes()
    with pytest.raises(CompileError, match="optimize_for must be one of speed, ram"):
        compile_model(model, optimize_for="tiny")
    with pytest.raises(CompileError, match="needs the optimised kernels"):
        compile_model(model, optimize_for="ram", optimize=False)


def _net(tf):
    """Every RAM rewrite in one small net: in-place depthwise (4-channel groups, stride 2, and
    one channel at a time), in-place pointwise, a residual convolution run with its ADD on tiles
    of an odd width (13 = 8 + 5)."""
    layers = tf.keras.layers

    def f(x):
        a = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
        d = layers.DepthwiseConv2D(3, padding="same", activation="relu")(a)
        p = layers.Conv2D(8, 1, activation="relu")(d)
        b = layers.Conv2D(8, 3, padding="same", activation="relu")(p)
        c = layers.Conv2D(8, 3, padding="same")(b)
        s = layers.ReLU()(layers.Add()([c, p]))
        e = layers.DepthwiseConv2D(3, strides=2, padding="same")(s)
        q = layers.Conv2D(6, 1)(e)
        return layers.DepthwiseConv2D(3, padding="same")(q)

    return f


@pytest.fixture(scope="module")
def small_net() -> bytes:
    return convert(_net, [(1, 9, 13, 3)], seed=3)


@pytest.mark.parametrize("cflags", [(), ("-DTINYFORGE_EMULATE_DSP",)])
def test_every_rewrite_bit_exact_on_a_small_net(small_net, cflags, tmp_path):
    compiled = compile_model(small_net, optimize_for="ram", ram_prune=False)
    assert set(compiled.ram_steps.values()) == {
        "depthwise_in_place",
        "pointwise_in_place",
        "conv_add_tiles",
    }
    assert len(compiled.not_produced) == 1  # the tiled convolution's output
    x = np.random.default_rng(5).integers(-128, 128, size=(6, 1, 9, 13, 3), dtype=np.int8)
    report = verify_on_host(compiled, small_net, x, work_dir=tmp_path, extra_cflags=cflags)
    assert report.bit_exact, report.mismatches[:3]


@pytest.mark.parametrize("name", MODELS)
def test_mlperf_tiny_model_bit_exact_with_ram_plan(name, tmp_path):
    model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
    speed = compile_model(model)
    ram = compile_model(model, optimize_for="ram")
    assert ram.arena_bytes <= speed.arena_bytes
    assert ram.arena_bytes <= 0.6 * TFLM_M4_ARENA[name]
    x = np.random.default_rng(7).integers(-128, 128, size=(8, *ram.input.shape), dtype=np.int8)
    for cflags in [(), ("-DTINYFORGE_EMULATE_DSP",)]:
        report = verify_on_host(
            ram, model, x, work_dir=tmp_path / str(len(cflags)), extra_cflags=cflags
        )
        assert report.bit_exact, report.mismatches[:3]


def test_ram_plan_arenas():
    """The figures docs/compiler.md quotes."""
    arenas = {}
    for name in MODELS:
        model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
        arenas[name] = plan_memory(read_model(model), optimize_for="ram").arena_bytes
    assert arenas == {
        "kws_ref_model": 9008,
        "vww_96_int8": 55296,
        "pretrainedResnet_quant": 32896,
        "ad01_int8": 768,
    }


@pytest.mark.slow
@pytest.mark.toolchain
@pytest.mark.parametrize("core", ["cortex-m4f", "cortex-m55"])
@pytest.mark.parametrize("name", ["kws_ref_model", "pretrainedResnet_quant"])
def test_ram_plan_bit_exact_under_qemu(name, core, tmp_path):
    mcu = pytest.importorskip("workers.deploy.mcu")
    if not mcu.toolchain_available():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/install-toolchain.sh)")
    model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
    compiled = compile_model(model, out_dir=tmp_path / "lib", optimize_for="ram")
    x = np.random.default_rng(11).integers(
        -128, 128, size=(3, *compiled.input.shape), dtype=np.int8
    )
    result = mcu.run_model_harness(
        core,
        mcu.HarnessLibrary([tmp_path / "lib" / s for s in compiled.sources], [tmp_path / "lib"]),
        inputs=[v.tobytes() for v in x],
        output_bytes=compiled.output.nbytes,
        out_dir=tmp_path / "build",
        timeout_s=600,
    )
    expected, _ = tflm_reference(model, _as_input_list(read_model(model), x))
    assert [bytes(o) for o in result.outputs] == expected


@pytest.mark.toolchain
@pytest.mark.parametrize("core", ["cortex-m4f", "cortex-m55"])
def test_every_rewrite_bit_exact_under_qemu(small_net, core, tmp_path):
    mcu = pytest.importorskip("workers.deploy.mcu")
    if not mcu.toolchain_available():
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/install-toolchain.sh)")
    compiled = compile_model(
        small_net, out_dir=tmp_path / "lib", optimize_for="ram", ram_prune=False
    )
    assert len(set(compiled.ram_steps.values())) == 3
    x = np.random.default_rng(13).integers(-128, 128, size=(4, 1, 9, 13, 3), dtype=np.int8)
    result = mcu.run_model_harness(
        core,
        mcu.HarnessLibrary([tmp_path / "lib" / s for s in compiled.sources], [tmp_path / "lib"]),
        inputs=[v.tobytes() for v in x],
        output_bytes=compiled.output.nbytes,
        out_dir=tmp_path / "build",
    )
    expected, _ = tflm_reference(small_net, _as_input_list(read_model(small_net), x))
    assert [bytes(o) for o in result.outputs] == expected
