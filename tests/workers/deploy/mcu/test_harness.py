"""The model harness on every emulated core: outputs match NumPy, instruction counts behave."""

from pathlib import Path

import numpy as np
import pytest

from workers.deploy.mcu import HarnessLibrary, McuRunError, run_model_harness, toolchain_available
from workers.deploy.targets import MCU_TARGETS

pytestmark = [
    pytest.mark.toolchain,
    pytest.mark.skipif(
        not toolchain_available(),
        reason="needs arm-none-eabi-gcc and qemu-system-arm (run scripts/install-toolchain.sh)",
    ),
]

C_DIR = Path(__file__).parent / "c"
TOY = [C_DIR / "toy_model.c"]
N = 32
OUTPUT_BYTES = N + 12


def toy_reference(vector: bytes, *, repeat: int = 4) -> bytes:
    """What toy_model.c computes, in NumPy (float32 arithmetic in the same order)."""
    a = np.frombuffer(vector[:N], dtype=np.int8).astype(np.int32)
    b = np.frombuffer(vector[N : 2 * N], dtype=np.int8).astype(np.int32)
    added = np.clip(a + b, -128, 127).astype(np.int8).tobytes()
    dot = sum(int(np.dot(a, np.roll(b, -r))) for r in range(repeat))
    y = np.float32(0.0)
    for ai, bi in zip(a, b, strict=True):
        y = np.float32(
            np.float32(y + np.float32(ai) * np.float32(0.5)) + np.float32(bi) * np.float32(0.25)
        )
    q = np.float32(y / np.float32(np.float32(1.0) + np.abs(y)))
    z = np.float32(np.sqrt(np.float32(np.abs(y) + np.float32(1.0))))
    return added + np.int32(dot).tobytes() + q.tobytes() + z.tobytes()


def make_inputs(count: int, *, seed: int, pad: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    vectors = []
    for _ in range(count):
        v = rng.integers(-128, 128, size=2 * N + pad, dtype=np.int16).astype(np.int8)
        v[0] = max(int(v[0]), -127)  # a[0] == b[0] == -128 is the toy model's failure case
        vectors.append(v.tobytes())
    vectors.append(bytes([0x80]) + bytes(N - 1) + bytes([0x7F]) * N + bytes(pad))  # extremes
    return vectors


@pytest.mark.parametrize("target", MCU_TARGETS)
def test_toy_model_matches_numpy_on_every_core(target, tmp_path):
    inputs = make_inputs(6, seed=hash(target) % 1000)
    inputs.append(inputs[0])  # same input twice: same instruction count
    result = run_model_harness(
        target,
        HarnessLibrary(TOY, [C_DIR]),
        inputs=inputs,
        output_bytes=OUTPUT_BYTES,
        out_dir=tmp_path,
    )
    assert result.outputs == [toy_reference(v) for v in inputs]
    assert len(result.instructions) == len(inputs)
    assert all(n > 100 for n in result.instructions)
    assert result.instructions[-1] == result.instructions[0]
    assert 0 < result.flash_bytes < 16 * 1024
    assert 0 < result.ram_bytes < 4 * 1024
    assert 0 < result.stack_used_bytes < result.stack_reserved_bytes
    assert result.runs == 1


def test_instruction_counts_repeat_and_grow_linearly_with_work(tmp_path):
    inputs = make_inputs(3, seed=1)
    counts = {}
    for run, repeat in enumerate((4, 8, 16, 16)):
        result = run_model_harness(
            "cortex-m4f",
            HarnessLibrary(TOY, [C_DIR], defines={"TOY_REPEAT": str(repeat)}),
            inputs=inputs,
            output_bytes=OUTPUT_BYTES,
            out_dir=tmp_path / f"run{run}",
        )
        assert result.outputs == [toy_reference(v, repeat=repeat) for v in inputs]
        counts.setdefault(repeat, []).append(np.array(result.instructions))
    assert (counts[16][0] == counts[16][1]).all()  # two runs, identical counts
    # Only the dot product grows with TOY_REPEAT: 8 more repeats cost twice what 4 more do.
    four_more = counts[8][0] - counts[4][0]
    eight_more = counts[16][0] - counts[8][0]
    assert (four_more > 4 * N).all()
    assert np.allclose(eight_more / four_more, 2.0, rtol=0.05)


def test_failing_invoke_reports_its_return_code(tmp_path):
    inputs = make_inputs(2, seed=2)
    inputs.insert(1, bytes([0x80]) + bytes(N - 1) + bytes([0x80]) + bytes(N - 1))
    with pytest.raises(McuRunError, match="returned 7 on input 1"):
        run_model_harness(
            "cortex-m3",
            HarnessLibrary(TOY, [C_DIR]),
            inputs=inputs,
            output_bytes=OUTPUT_BYTES,
            out_dir=tmp_path,
        )


def test_header_and_caller_sizes_must_agree(tmp_path):
    with pytest.raises(ValueError, match="declares 64 input and 44 output bytes"):
        run_model_harness(
            "cortex-m4f",
            HarnessLibrary(TOY, [C_DIR]),
            inputs=make_inputs(1, seed=3),
            output_bytes=40,
            out_dir=tmp_path,
        )


def test_inputs_that_do_not_fit_run_in_batches(tmp_path):
    # 70 inputs of 4 KB do not fit the micro:bit's 256 KB flash at once.
    pad = 4096 - 2 * N
    inputs = make_inputs(69, seed=4, pad=pad)
    result = run_model_harness(
        "cortex-m0plus",
        HarnessLibrary(TOY, [C_DIR], defines={"TOY_PAD": str(pad)}),
        inputs=inputs,
        output_bytes=OUTPUT_BYTES,
        out_dir=tmp_path,
    )
    assert result.runs == 2
    assert result.outputs == [toy_reference(v) for v in inputs]
    assert len(result.instructions) == len(inputs)


def test_program_too_big_for_the_microbit_moves_to_the_an385(tmp_path):
    inputs = make_inputs(3, seed=6)
    result = run_model_harness(
        "cortex-m0plus",
        # the micro:bit has 16 KB of RAM
        HarnessLibrary(TOY, [C_DIR], defines={"TOY_SCRATCH_BYTES": str(32 * 1024)}),
        inputs=inputs,
        output_bytes=OUTPUT_BYTES,
        out_dir=tmp_path,
    )
    assert result.machine == "mps2-an385" and not result.constants_in_bulk
    assert result.outputs == [toy_reference(v) for v in inputs]
    assert result.ram_bytes > 32 * 1024


def test_constants_too_big_for_the_m55_itcm_move_to_bulk_memory(tmp_path):
    inputs = make_inputs(3, seed=7)
    small = run_model_harness(
        "cortex-m55",
        HarnessLibrary(TOY, [C_DIR]),
        inputs=inputs,
        output_bytes=OUTPUT_BYTES,
        out_dir=tmp_path / "small",
    )
    big = run_model_harness(
        "cortex-m55",
        # the ITCM holds 512 KB
        HarnessLibrary(TOY, [C_DIR], defines={"TOY_TABLE_BYTES": str(600 * 1024)}),
        inputs=inputs,
        output_bytes=OUTPUT_BYTES,
        out_dir=tmp_path / "big",
    )
    assert (small.machine, small.constants_in_bulk) == ("mps3-an547", False)
    assert (big.machine, big.constants_in_bulk) == ("mps3-an547", True)
    assert big.outputs == small.outputs == [toy_reference(v) for v in inputs]
    assert big.instructions == small.instructions  # placement changes no instruction
    assert big.flash_bytes > 600 * 1024


def test_bad_arguments_are_refused_before_building(tmp_path):
    with pytest.raises(ValueError, match="inputs is empty"):
        run_model_harness(
            "cortex-m4f",
            HarnessLibrary(TOY, [C_DIR]),
            inputs=[],
            output_bytes=4,
            out_dir=tmp_path,
        )
    with pytest.raises(ValueError, match=r"inputs\[1\] has 3 bytes"):
        run_model_harness(
            "cortex-m4f",
            HarnessLibrary(TOY, [C_DIR]),
            inputs=[b"abcd", b"abc"],
            output_bytes=4,
            out_dir=tmp_path,
        )
    with pytest.raises(ValueError, match="unknown target"):
        run_model_harness(
            "cortex-m85",
            HarnessLibrary(TOY, [C_DIR]),
            inputs=[b"abcd"],
            output_bytes=4,
            out_dir=tmp_path,
        )
