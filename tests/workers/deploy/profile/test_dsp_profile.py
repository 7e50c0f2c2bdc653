"""The generated DSP C measured under QEMU (issue 11 item 2): one window, every figure."""

import pytest

from workers.deploy.dsp import emit_dsp_chain
from workers.deploy.mcu import toolchain_available
from workers.deploy.profile.cycles import cycles_from_classes
from workers.deploy.profile.dsp import measure_dsp


@pytest.mark.toolchain
@pytest.mark.skipif(not toolchain_available(), reason="needs the Arm toolchain and QEMU")
def test_spectral_block_on_an_fpu_core_and_a_soft_float_core():
    emission = emit_dsp_chain([("spectral", {})], window_samples=63, n_axes=3, frequency_hz=62.5)
    m4 = measure_dsp(emission, "cortex-m4f")
    m0 = measure_dsp(emission, "cortex-m0plus")
    assert m4.window_bytes == m0.window_bytes == 63 * 3 * 4
    assert m4.scratch_bytes == emission.scratch_bytes and m4.table_bytes == emission.table_bytes
    assert m4.flash_bytes > m4.table_bytes > 0 and m4.stack_used_bytes > 0
    assert m4.ram_bytes == m4.window_bytes + m4.scratch_bytes + m4.stack_used_bytes
    assert m4.classes.get("fp_alu", 0) + m4.classes.get("fp_mac", 0) > 100  # hardware floats
    assert "fp_alu" not in m0.classes and m0.classes.get("bl", 0) > 100  # libgcc calls
    c4 = cycles_from_classes(m4.classes, "cortex-m4f").cycles
    c0 = cycles_from_classes(m0.classes, "cortex-m0plus").cycles
    assert c0 > 2 * c4 > 0
