"""One definition of an impulse's RAM and flash (workers/deploy/profile/memory.py), shared by the
profile API, the dashboard, the build log and the manifest."""

from workers.deploy.profile.dsp import DspMeasurement
from workers.deploy.profile.memory import describe_memory, impulse_memory, memory_totals

MODEL_RAM = {"arena": 10_000, "scratch": 500, "stack": 800, "other": 120}
MODEL_FLASH = {"weights": 20_000, "code": 9_000}
DSP = DspMeasurement(
    target="cortex-m4f",
    classes={},
    stack_used_bytes=1_200,
    code_bytes=4_000,
    table_bytes=1_500,
    window_bytes=756,
    scratch_bytes=2_048,
)


def test_model_alone_is_its_own_breakdown():
    ram, flash = impulse_memory(MODEL_RAM, MODEL_FLASH)
    assert (ram, flash) == (MODEL_RAM, MODEL_FLASH)
    assert memory_totals(ram, flash) == (11_420, 29_000)


def test_dsp_and_anomaly_add_their_parts_and_the_deepest_stack_counts_once():
    ram, flash = impulse_memory(
        MODEL_RAM, MODEL_FLASH, dsp=DSP, anomaly={"ram_bytes": 300, "flash_bytes": 62}
    )
    assert ram == {
        "arena": 10_000,
        "scratch": 500,
        "stack": 1_200,  # the DSP's, deeper than the model's 800 and the scorer's 300
        "other": 120,
        "window": 756,
        "dsp_scratch": 2_048,
    }
    assert flash == {
        "weights": 20_000,
        "code": 9_000,
        "dsp_code": 2_500,
        "dsp_tables": 1_500,
        "anomaly_tables": 62,
    }
    assert memory_totals(ram, flash) == (14_624, 33_062)
    ram2, _ = impulse_memory(MODEL_RAM, MODEL_FLASH, anomaly={"ram_bytes": 5_000, "flash_bytes": 0})
    assert ram2["stack"] == 5_000
    assert MODEL_RAM["stack"] == 800  # the inputs are not changed


def test_the_log_words():
    ram, flash = impulse_memory(MODEL_RAM, MODEL_FLASH, dsp=DSP)
    assert describe_memory(ram, flash) == (
        "RAM 14,624 B (arena 10,000 + scratch 500 + stack 1,200 + other 120 + window 756 + "
        "dsp scratch 2,048), flash 33,000 B (weights 20,000 + code 9,000 + dsp code 2,500 + "
        "dsp tables 1,500)"
    )
