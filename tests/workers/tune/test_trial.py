import numpy as np
import pytest

from workers.tune import cost
from workers.tune.trial import TuneData, check_data, features, run_trial, screen

BOARD = "Arduino Nano 33 BLE Sense"
POINT = {
    "window_size_ms": 1000,
    "window_stride": 0.5,
    "downsample": 2,
    "dsp": "raw",
    "network": "dense",
    "width": 8,
    "depth": 1,
}


def _data(n_per_label=3, seed=0):
    rng = np.random.default_rng(seed)
    arrays, labels = [], []
    for _ in range(n_per_label):
        for lab, f in (("slow", 1.0), ("fast", 6.0)):
            t = np.arange(125) * 0.016
            sig = np.stack([np.sin(2 * np.pi * f * t + k) for k in range(3)], axis=1)
            arrays.append((sig + rng.normal(0, 0.1, sig.shape)).astype(np.float32))
            labels.append(lab)
    return TuneData(
        "motion",
        arrays,
        labels,
        [f"s{i}" for i in range(len(labels))],
        [16.0] * len(labels),
        sensors=["x", "y", "z"],
    )


def test_packed_data_round_trips_and_bad_data_is_refused():
    data = _data()
    back = TuneData.from_bytes(data.to_bytes())
    assert (
        back.labels == data.labels
        and back.groups == data.groups
        and back.sensors == ["x", "y", "z"]
    )
    assert all(np.array_equal(a, b) for a, b in zip(back.arrays, data.arrays, strict=True))
    assert back.source_hz == 62.5 and back.n_axes == 3
    one = TuneData("motion", data.arrays[:2], ["slow", "slow"], ["a", "b"], [16.0, 16.0])
    with pytest.raises(ValueError, match="one class"):
        check_data(one)
    same = TuneData("motion", data.arrays[:2], ["slow", "fast"], ["a", "a"], [16.0, 16.0])
    with pytest.raises(ValueError, match="same 'sample'"):
        check_data(same)


def test_windows_keep_their_sample_as_group():
    from workers.tune.space import impulse_for

    data = _data()
    imp = impulse_for("motion", POINT, source_hz=data.source_hz, n_axes=3)
    X, y, groups = features(data, imp)
    assert X.shape[1:] == tuple(imp["feature_shape"]) == (31, 3)  # 1 s at 31.25 Hz
    assert len(X) == 3 * len(data.arrays)  # 2 s samples, 1 s windows every 0.5 s
    assert list(groups[:3]) == ["s0"] * 3 and list(y[:3]) == ["slow"] * 3


def test_screening_skips_what_cannot_fit_before_training():
    fits = screen(
        POINT, kind="motion", source_hz=62.5, n_axes=3, n_classes=2, limits=cost.limits_for(BOARD)
    )
    assert fits.fits and fits.profile["ram_bytes"] > 0 and fits.profile["latency_ms"] > 0
    tight = cost.limits_for(
        BOARD,
        max_ram_bytes=fits.profile["ram_bytes"] - 1,
        max_latency_ms=fits.profile["latency_ms"] / 2,
    )
    skipped = screen(POINT, kind="motion", source_hz=62.5, n_axes=3, n_classes=2, limits=tight)
    assert not skipped.fits
    assert skipped.reason.startswith("latency ") and "; RAM " in skipped.reason
    bad = screen(
        {**POINT, "dsp": "spectral", "dsp.fft_length": 64},
        kind="motion",
        source_hz=62.5,
        n_axes=3,
        n_classes=2,
        limits=cost.limits_for(BOARD),
    )
    assert bad.reason.startswith("invalid combination: spectral: fft_length")


@pytest.mark.slow
def test_a_trial_reports_both_accuracies_and_the_trained_model_profile():
    from workers.tune.space import impulse_for

    data = _data(4)
    imp = impulse_for("motion", POINT, source_hz=data.source_hz, n_axes=3)
    out = run_trial(data, imp, epochs=3, board=BOARD, seed=2)
    assert set(out["accuracy"]) == {"float32", "int8"}
    assert 0 <= out["accuracy"]["int8"] <= 1
    assert out["windows"]["validation"] % 3 == 0  # whole samples (3 windows each) in validation
    assert out["profile"]["latency_ms"] > 0 and out["int8_tflite"][4:8] == b"TFL3"
    again = run_trial(data, imp, epochs=3, board=BOARD, seed=2)
    assert again["accuracy"] == out["accuracy"]  # same seed, same result
