"""`tinyforge profile MODEL.tflite [--board B]... [--estimate] [--json]`: the contract (issue
11)."""

from __future__ import annotations

import json

import pytest
from tflite.BuiltinOperator import BuiltinOperator as BOP

from tests.app.test_cli import run
from tests.paths import MODELS_DIR, require_shared
from tests.workers.deploy.tflite_writer import Op, T, write_model
from workers.deploy.mcu import toolchain_available
from workers.deploy.profile import board_names

CONTRACT = {
    "board",
    "target",
    "clock_hz",
    "cycles",
    "instructions",
    "latency_ms",
    "ram_bytes",
    "flash_bytes",
    "fits",
    "method",
}
NANO = "Arduino Nano 33 BLE Sense"


def _profile(tmp_path, *args, check=True):
    return run(["profile", *args], tmp_path / "data", check=check, timeout=600)


def test_estimate_on_every_board_follows_the_contract(tmp_path):
    model = require_shared(MODELS_DIR / "kws_ref_model.tflite")
    out = json.loads(_profile(tmp_path, str(model), "--estimate", "--json").stdout)
    assert out["model"]["macs"] > 2_000_000 and out["model"]["dtype"] == "int8"
    assert [b["board"] for b in out["boards"]] == board_names()
    for b in out["boards"]:
        assert set(b) >= CONTRACT
        assert b["method"] == "estimated"
        assert b["latency_ms"] == pytest.approx(b["cycles"] / b["clock_hz"] * 1000, rel=1e-3)
        assert b["ram_bytes"] == sum(b["ram"].values()) and b["ram"]["arena"] == 16000
        assert b["flash_bytes"] == sum(b["flash"].values())
    pico = next(b for b in out["boards"] if b["board"] == "Raspberry Pi Pico")
    m55 = next(b for b in out["boards"] if b["board"] == "Alif Ensemble E7")
    assert pico["cycles"] > 3 * m55["cycles"]  # no DSP extension vs Helium
    microbit = next(b for b in out["boards"] if b["board"] == "BBC micro:bit v1")
    assert not microbit["fits"]
    assert any(
        n.startswith("does not fit: needs ") and "board has 16 KiB" in n for n in microbit["notes"]
    )


@pytest.mark.toolchain
@pytest.mark.skipif(not toolchain_available(), reason="needs the Arm toolchain and QEMU")
def test_measured_on_one_board(tmp_path):
    model = require_shared(MODELS_DIR / "ad01_int8.tflite")
    out = json.loads(_profile(tmp_path, str(model), "--board", NANO, "--json").stdout)
    (b,) = out["boards"]
    assert b["board"] == NANO and b["method"] == "measured" and b["clock_hz"] == 64_000_000
    assert 300_000 < b["instructions"] < 700_000  # 0.38 M in docs/compiler.md
    assert b["cycles"] > b["instructions"]
    assert b["fits"] and b["ram"]["stack"] > 0
    est = json.loads(_profile(tmp_path, str(model), "--board", NANO, "--estimate", "--json").stdout)
    assert est["boards"][0]["cycles"] == pytest.approx(b["cycles"], rel=0.15)


def test_bad_input_is_explained(tmp_path):
    model = require_shared(MODELS_DIR / "ad01_int8.tflite")
    bad = _profile(tmp_path, str(model), "--board", "Arduino Uno", check=False)
    assert bad.returncode != 0
    assert "unknown board 'Arduino Uno'; valid boards: " in bad.stderr and NANO in bad.stderr
    tensors = [T("x", (1, 4), scale=0.1), T("y", (1, 4), scale=0.1), T("z", (1, 4), scale=0.1)]
    exp = write_model(tensors, [Op(BOP.RELU, [0], [1]), Op(BOP.EXP, [1], [2])], [0], [2])
    path = tmp_path / "exp.tflite"
    path.write_bytes(exp)
    bad = _profile(tmp_path, str(path), "--estimate", check=False)
    assert bad.returncode != 0 and "unsupported operator(s): EXP" in bad.stderr


def test_float_model_on_a_core_without_fpu_gets_a_note(tmp_path):
    model = require_shared(MODELS_DIR / "ad01_fp32.tflite")
    out = json.loads(
        _profile(
            tmp_path, str(model), "--board", "Arduino Due", "--board", NANO, "--estimate", "--json"
        ).stdout
    )
    due, nano = out["boards"]
    assert any("without an FPU" in n for n in due["notes"])
    assert not any("without an FPU" in n for n in nano["notes"])
    assert due["cycles"] > 3 * nano["cycles"]
