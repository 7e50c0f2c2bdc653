"""A SEV marker near the end of a QEMU page still counts (QEMU 7.2 reports it as 4 bytes)."""

from pathlib import Path

import pytest

from workers.deploy.mcu import build_elf, run_elf, toolchain_available
from workers.deploy.profile.cycles import INSTRUCTION_CLASSES

C_DIR = Path(__file__).parents[1] / "mcu" / "c"


@pytest.mark.toolchain
@pytest.mark.skipif(not toolchain_available(), reason="needs the Arm toolchain and QEMU")
@pytest.mark.parametrize("mode", ["tb", "insn", "class"])
def test_marker_in_the_last_halfword_of_a_page_counts(mode, tmp_path):
    elf = build_elf(
        "cortex-m0plus", sources=[C_DIR / "sev_page_end.c"], include_dirs=[], out_dir=tmp_path
    )
    run = run_elf("cortex-m0plus", elf.path, count_instructions=True, count_mode=mode)
    assert run.stdout == b"done\n"
    first, second = run.instructions  # two regions: none lost at the page boundary
    assert 510 <= first <= 510 + 512 and second == 1
    if mode == "class":
        assert run.classes[1]["alu"] == 1
        assert sum(run.classes[1].get(c, 0) for c in INSTRUCTION_CLASSES) == 1
