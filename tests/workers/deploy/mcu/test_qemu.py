"""Building and running programs on emulated cores: exit codes, timeouts, faults, counting."""

import os
from pathlib import Path

import pytest

from workers.deploy.mcu import (
    HarnessLibrary,
    McuBuildError,
    McuTimeoutError,
    ToolchainMissingError,
    build_elf,
    run_elf,
    run_model_harness,
    toolchain_available,
)
from workers.deploy.mcu.toolchain import elf_info

C_DIR = Path(__file__).parent / "c"


def requires_toolchain(test):
    """Mark `test` as needing the Arm toolchain and QEMU, and skip it when they are absent."""
    skip = pytest.mark.skipif(
        not toolchain_available(),
        reason="needs arm-none-eabi-gcc and qemu-system-arm (run scripts/install-toolchain.sh)",
    )
    return pytest.mark.toolchain(skip(test))


def build(target, name, tmp_path, **defines):
    return build_elf(
        target,
        sources=[C_DIR / name],
        include_dirs=[],
        defines={k: str(v) for k, v in defines.items()},
        out_dir=tmp_path / target,
    )


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m55"])
@pytest.mark.parametrize("code", [0, 3, 42])
@requires_toolchain
def test_exit_code_propagates(target, code, tmp_path):
    elf = build(target, "exit_code.c", tmp_path, EXIT_CODE=code)
    result = run_elf(target, elf.path, timeout_s=20)
    assert result.exit_code == code
    assert result.stdout == b"exiting\n"
    assert result.instructions == []


@requires_toolchain
def test_hanging_program_is_stopped_by_the_timeout(tmp_path):
    elf = build("cortex-m4f", "hang.c", tmp_path)
    with pytest.raises(McuTimeoutError, match=r"did not finish within 1\.5 s") as err:
        run_elf("cortex-m4f", elf.path, timeout_s=1.5, count_instructions=True)
    assert "hanging" in str(err.value)


@requires_toolchain
@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m33"])
def test_fault_is_reported_with_its_address(target, tmp_path):
    elf = build(target, "trap.c", tmp_path)
    result = run_elf(target, elf.path, timeout_s=20)
    assert result.exit_code == 254
    text = result.stdout.decode()
    assert text.startswith("about to trap\n")
    assert "tinyforge: fault: exception 3 pc=0x" in text  # HardFault (UDF escalates)


@requires_toolchain
@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m7", "cortex-m55"])
def test_regions_are_counted_exactly(target, tmp_path):
    loops = 1000
    elf = build(target, "regions.c", tmp_path, LOOPS=loops)
    fast = run_elf(target, elf.path, timeout_s=20, count_instructions=True)
    slow = run_elf(target, elf.path, timeout_s=20, count_instructions=True, count_mode="insn")
    assert fast.exit_code == 0 and fast.stdout == b"done\n"
    assert fast.instructions == slow.instructions  # block-level counting is exact
    one, two, empty = fast.instructions
    assert empty == 0  # two adjacent markers enclose nothing
    per_loop = (two - one) / loops
    assert 3 <= per_loop <= 8
    assert two == pytest.approx(2 * one, rel=0.01)
    again = run_elf(target, elf.path, timeout_s=20, count_instructions=True)
    assert again.instructions == fast.instructions


@requires_toolchain
def test_block_counting_matches_per_instruction_counting_on_a_real_program(tmp_path):
    import numpy as np

    rng = np.random.default_rng(5)
    inputs = [
        rng.integers(-127, 128, size=64, dtype=np.int16).astype(np.int8).tobytes() for _ in range(4)
    ]
    for target in ("cortex-m0plus", "cortex-m4f"):
        result = run_model_harness(
            target,
            HarnessLibrary([C_DIR / "toy_model.c"], [C_DIR]),
            inputs=inputs,
            output_bytes=44,
            out_dir=tmp_path / target,
        )
        exact = run_elf(target, result.elf.path, count_instructions=True, count_mode="insn")
        assert exact.instructions == result.instructions


@requires_toolchain
def test_program_too_big_for_flash_is_a_clear_error(tmp_path):
    with pytest.raises(
        McuBuildError,
        match=r"does not fit target cortex-m0plus \(QEMU microbit\): "
        r"FLASH \(262144 bytes at 0x00000000\) overflowed by \d+ bytes",
    ):
        build("cortex-m0plus", "big_const.c", tmp_path)
    elf = build("cortex-m4f", "big_const.c", tmp_path)  # 4 MB of code memory on the MPS2
    info = elf_info(elf.path)
    assert info.text >= 300 * 1024 and info.flash_bytes == info.text + info.data


@requires_toolchain
def test_armv6m_code_traps_unaligned_access_on_the_an385_too(tmp_path):
    m0 = build_elf(
        "cortex-m0plus",
        sources=[C_DIR / "unaligned.c"],
        include_dirs=[],
        out_dir=tmp_path / "m0",
        machine="mps2-an385",
    )
    assert m0.machine == "mps2-an385"
    trapped = run_elf("cortex-m0plus", m0.path, timeout_s=20, machine="mps2-an385")
    assert trapped.exit_code == 254 and b"tinyforge: fault" in trapped.stdout
    m3 = build("cortex-m3", "unaligned.c", tmp_path)  # ARMv7-M allows unaligned loads
    allowed = run_elf("cortex-m3", m3.path, timeout_s=20)
    assert allowed.exit_code == 0 and allowed.stdout == b"loaded\n"


@requires_toolchain
def test_compile_error_carries_the_compiler_message(tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("int main(void) { return undeclared_name; }\n")
    with pytest.raises(
        McuBuildError,
        match=r"(?s)compiling bad.c for cortex-m3 failed.*'undeclared_name' undeclared",
    ):
        build_elf("cortex-m3", sources=[bad], include_dirs=[], out_dir=tmp_path / "o")


def test_missing_toolchain_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    assert not toolchain_available()
    with pytest.raises(ToolchainMissingError, match="install-toolchain.sh") as err:
        build_elf("cortex-m4f", sources=[C_DIR / "exit_code.c"], include_dirs=[], out_dir=tmp_path)
    assert "arm-none-eabi-gcc" in str(err.value) and "qemu-system-arm" in str(err.value)
    assert os.environ["PATH"] == str(tmp_path)


@requires_toolchain
def test_helium_requantisation_equals_the_scalar_reference(tmp_path):
    """requant_mve / mbqm_mve (VQRDMULH, VRSHL with the fix-up for negatives) on the M55 give
    TFLM's MultiplyByQuantizedMultiplier lane by lane: ties, saturation, left shifts, clamps."""
    deploy = Path(__file__).resolve().parents[4] / "workers" / "deploy"
    elf = build_elf(
        "cortex-m55",
        sources=[C_DIR / "requant_probe.c"],
        include_dirs=[deploy, deploy / "runtime"],
        out_dir=tmp_path,
    )
    result = run_elf("cortex-m55", elf.path, timeout_s=120)
    assert result.exit_code == 0, result.stdout.decode(errors="replace")[-2000:]


@requires_toolchain
@pytest.mark.parametrize("core", ["cortex-m4f", "cortex-m3"])
def test_scalar_fast_requantisation_equals_the_reference(tmp_path, core):
    """mbqm_opt / requant_r2 of the optimised kernels (one SMLAL for right shifts >= 2, inline
    assembly on the M4F, plain C on the M3; SSAT clamp) give TFLM's MultiplyByQuantizedMultiplier:
    ties, extremes, every shift, pseudo-random values."""
    deploy = Path(__file__).resolve().parents[4] / "workers" / "deploy"
    elf = build_elf(
        core,
        sources=[C_DIR / "requant_dsp_probe.c"],
        include_dirs=[deploy, deploy / "runtime"],
        out_dir=tmp_path,
    )
    result = run_elf(core, elf.path, timeout_s=120)
    assert result.exit_code == 0, result.stdout.decode(errors="replace")[-2000:]
