"""One definition of an impulse's RAM and flash (workers/deploy/profile/memory.py), shared by the
profile API, the dashboard, the build log and the manifest."""

import pytest

from app.services import profiles
from tests.paths import MODELS_DIR, require_shared
from workers.deploy.mcu import toolchain_available
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


@pytest.mark.skipif(not toolchain_available(), reason="needs arm-none-eabi-gcc and QEMU")
def test_the_build_and_the_profile_api_compute_the_same_figures():
    """The build's caller (`impulse_on_target`, what the manifest records) and the profile's
    (`profile_models`, what the API serves) on the same model and board."""
    model = require_shared(MODELS_DIR / "ad01_int8.tflite").read_bytes()
    board = "STM32F4 Discovery"  # cortex-m4f, not the first preset of that core
    anomaly = {"kind": "kmeans", "mean": [0.0] * 3, "radii": [1.0, 2.0]}
    built = profiles.impulse_on_target(model, "cortex-m4f", board=board, anomaly=anomaly)
    served = profiles.profile_models({"int8": model}, boards=[board], measure_board=board)
    api = profiles.with_anomaly(served["int8"]["boards"][0], anomaly)
    assert built["board"] == api["board"] == board and built["method"] == "measured"
    assert built["total"] == api["total"] and (built["ram"], built["flash"]) == (
        api["ram"],
        api["flash"],
    )
    assert built["flash"]["anomaly_tables"] == 62
    assert profiles.impulse_on_target(model, "linux-x86_64") is None  # not a profiled core
