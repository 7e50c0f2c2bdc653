"""The profile job's DSP measurement per core: a core whose emulated machine cannot hold the
processing blocks is reported, not fatal (an 8 kHz MFCC window made the whole FSDD profile job
fail on the M0+)."""

import pytest

from app.services.profiles import measure_dsp_per_target, shape_board
from workers.deploy.dsp import emit_dsp_chain
from workers.deploy.mcu import toolchain_available
from workers.deploy.profile.dsp import DspMeasurement


@pytest.mark.toolchain
@pytest.mark.skipif(not toolchain_available(), reason="needs the Arm toolchain and QEMU")
def test_a_core_too_small_for_the_dsp_is_a_note_and_the_others_are_measured():
    # one second at 8 kHz: 32 kB of float window, more than the M0+ micro:bit's 16 kB of RAM
    emission = emit_dsp_chain([("mfcc", {})], window_samples=8000, n_axes=1, frequency_hz=8000.0)
    lines: list[str] = []
    out = measure_dsp_per_target(emission, ["cortex-m0plus", "cortex-m4f"], lines.append)
    assert isinstance(out["cortex-m4f"], DspMeasurement)
    assert out["cortex-m4f"].window_bytes == 8000 * 4
    reason = out["cortex-m0plus"]
    assert isinstance(reason, str) and "does not fit target cortex-m0plus" in reason
    assert any("not profiled on cortex-m0plus" in line for line in lines)


def test_the_reason_is_a_note_of_the_board_and_the_total_is_the_models():
    entry = {
        "board": "B",
        "target": "cortex-m0plus",
        "mcu": "M",
        "clock_hz": 48_000_000,
        "cycles": 10_000,
        "instructions": 9_000,
        "ram_bytes": 1_040,
        "flash_bytes": 5_000,
        "notes": [],
        "ram": {"arena": 1_000, "scratch": 0, "stack": 40, "other": 0},
        "flash": {"code": 3_000, "weights": 2_000},
        "flash_wait_states": 0,
        "board_ram_bytes": 1 << 16,
        "board_flash_bytes": 1 << 20,
        "method": "estimated",
    }
    board = shape_board(entry, "the DSP is not profiled on this core: RAM overflowed")
    assert "the DSP is not profiled on this core: RAM overflowed" in board["notes"]
    assert board["dsp"]["cycles"] is None
    assert board["total"]["cycles"] == 10_000
