"""A candidate's cost is its impulse's: the processing block (measured as the profile measures
it) plus the network, with the same numbers the profile page shows."""

from __future__ import annotations

import pytest

from workers.deploy.mcu import toolchain_available
from workers.deploy.profile.dsp import DspMeasurement
from workers.tune import cost
from workers.tune.space import impulse_for
from workers.tune.trial import screen, untrained_int8

BOARD = "Arduino Nano 33 BLE Sense"
SPECTRAL = {
    "window_size_ms": 1000,
    "window_stride": 0.5,
    "downsample": 1,
    "dsp": "spectral",
    "dsp.fft_length": 32,
    "dsp.filter_type": "low",
    "dsp.analysis_type": "FFT",
    "network": "dense",
    "width": 8,
    "depth": 2,
}
needs_qemu = pytest.mark.skipif(
    not toolchain_available(), reason="needs the Arm toolchain and QEMU"
)


def _candidate(point=SPECTRAL):
    imp = impulse_for("motion", point, source_hz=62.5, n_axes=3)
    tfl = untrained_int8(imp["learn"]["layers"], input_shape=imp["feature_shape"], n_classes=4)
    return imp, tfl


def test_the_impulse_cost_adds_the_processing_block_to_the_network():
    _, tfl = _candidate()
    model = cost.estimate(tfl, BOARD)
    alone = cost.impulse_cost(model, None)  # the DSP not measured: the network's figures
    assert alone["dsp_latency_ms"] is None
    assert alone["latency_ms"] == alone["nn_latency_ms"] == model["latency_ms"]
    assert (alone["ram_bytes"], alone["flash_bytes"]) == (model["ram_bytes"], model["flash_bytes"])
    dsp = DspMeasurement(
        target=model["target"],
        classes={"alu": 64_000},  # 64,000 single-cycle instructions: 1 ms at 64 MHz
        stack_used_bytes=100,
        code_bytes=3000,
        table_bytes=1000,
        window_bytes=1500,
        scratch_bytes=500,
    )
    both = cost.impulse_cost(model, dsp)
    assert both["dsp_latency_ms"] == pytest.approx(1.0, rel=0.01)
    assert both["latency_ms"] == pytest.approx(model["latency_ms"] + both["dsp_latency_ms"], 1e-3)
    assert both["nn_latency_ms"] == model["latency_ms"]
    assert both["ram_bytes"] >= model["ram_bytes"] + 1500 + 500
    assert both["flash_bytes"] == model["flash_bytes"] + 3000


@pytest.mark.toolchain
@needs_qemu
def test_a_candidates_dsp_cost_is_the_profile_pages():
    """The same numbers as the profile API/page (`profiles.shape_board` of the model's estimate
    and the block as the library emits it, measured under QEMU)."""
    from app.services.profiles import shape_board
    from workers.deploy.dsp import emit_dsp_chain
    from workers.deploy.profile import profile_model
    from workers.deploy.profile.dsp import measure_dsp
    from workers.dsp import TimeSeriesInput

    imp, tfl = _candidate()
    mine = cost.candidate_cost(tfl, imp, board=BOARD, n_axes=3)
    (entry,) = profile_model(tfl, boards=[BOARD], estimate=True)["boards"]
    emission = emit_dsp_chain(  # as the profile job emits it (deployment's window size)
        [("spectral", imp["dsp"]["params"])],
        window_samples=TimeSeriesInput.window_samples(1000, 62.5),
        n_axes=3,
        frequency_hz=62.5,
    )
    page = shape_board(entry, measure_dsp(emission, entry["target"]))
    assert mine["dsp_latency_ms"] == page["dsp"]["latency_ms"] > 0
    assert mine["nn_latency_ms"] == page["model"]["latency_ms"]
    assert mine["latency_ms"] == page["total"]["latency_ms"]
    assert mine["ram_bytes"] == page["total"]["ram_bytes"]
    assert mine["flash_bytes"] == page["total"]["flash_bytes"]


@pytest.mark.toolchain
@needs_qemu
def test_screening_skips_a_candidate_whose_processing_block_is_too_slow():
    imp, tfl = _candidate()
    c = cost.candidate_cost(tfl, imp, board=BOARD, n_axes=3)
    assert c["dsp_latency_ms"] > c["nn_latency_ms"]  # a 32-point FFT per axis vs a tiny dense
    between = (c["nn_latency_ms"] + c["latency_ms"]) / 2  # the network alone would fit
    limits = cost.limits_for(BOARD, max_latency_ms=between)
    s = screen(SPECTRAL, kind="motion", source_hz=62.5, n_axes=3, n_classes=4, limits=limits)
    assert not s.fits and s.reason.startswith(f"latency {c['latency_ms']:.2f} ms > ")
    assert s.profile["dsp_latency_ms"] == c["dsp_latency_ms"]
