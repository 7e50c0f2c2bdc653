"""Anomaly blocks in C: K-means and Gaussian mixtures (full and diagonal) score like the
platform."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from app.synthetic import anomaly_sample, motion_dataset
from tests.workers.deploy.tflite_builders import convert, layer
from workers.deploy import CompileError
from workers.deploy.package import ImpulseSpec, build_library, write_library
from workers.dsp import TimeSeriesInput, get_block, make_windows
from workers.learn import anomaly

FREQ, WINDOW = 62.5, 63  # 1 s windows of the synthetic motion data (16 ms sampling)
AXES = ["accX", "accY", "accZ"]


@pytest.fixture(scope="module")
def data():
    """Windows of normal motion and of out-of-distribution buzz, their Python spectral features, and
    a small int8 dense model taking those features."""
    spec = TimeSeriesInput(
        axes=None, window_size_ms=1000, window_increase_ms=500, frequency_hz=FREQ
    )
    rng = np.random.default_rng(7)
    normal = np.concatenate(
        [make_windows(v, interval_ms=16.0, spec=spec) for _, v in motion_dataset(6, seed=3)]
    )
    odd = np.concatenate(
        [make_windows(anomaly_sample(rng=rng), interval_ms=16.0, spec=spec) for _ in range(3)]
    )
    block, params = get_block("spectral"), get_block("spectral").validate({})
    feats = block.run(np.concatenate([normal, odd]), frequency_hz=FREQ, params=params).features
    model = convert(layer(lambda L: L.Dense(4, activation="softmax")), [(1, feats.shape[1])])
    return {
        "windows": np.concatenate([normal, odd]).astype(np.float32),
        "features": feats,
        "n_normal": len(normal),
        "params": params,
        "model": model,
    }


def _scores_in_c(data, anomaly_model, tmp_path):
    spec = ImpulseSpec(
        labels=["a", "b", "c", "d"],
        dsp_block="spectral",
        dsp_params=data["params"],
        window_samples=WINDOW,
        axes=AXES,
        frequency_hz=FREQ,
        slice_samples=31,
        anomaly=anomaly_model,
    )
    lib = build_library(data["model"], target="linux-x86_64", impulse=spec)
    write_library(lib, tmp_path)
    subprocess.run(["make", "-C", str(tmp_path), "classify"], check=True, capture_output=True)
    out = subprocess.run(
        [str(tmp_path / "classify")],
        input=data["windows"].tobytes(),
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, dtype=np.float32).reshape(len(data["windows"]), 5)[:, 4], lib


@pytest.mark.parametrize("kind", ["kmeans", "gmm-full", "gmm-diag"])
def test_anomaly_score_in_c_equals_the_platforms(data, kind, tmp_path):
    train = data["features"][: data["n_normal"]]
    if kind == "kmeans":
        model = anomaly.fit_kmeans(train, n_clusters=5)
        expected = anomaly.score_kmeans(model, data["features"])
    else:
        model = anomaly.fit_gmm(
            train, n_components=3, covariance_type=kind.split("-")[1], features=list(range(12))
        )
        expected = anomaly.score_gmm(model, data["features"])
    got, lib = _scores_in_c(data, model, tmp_path)
    assert lib.manifest["anomaly"] is True
    # float32 in C over features the C DSP computed vs float64 over the Python features
    np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-3 * np.abs(expected).max())
    # the same windows are flagged at the model's threshold, and the out-of-distribution ones score
    # higher
    clear = np.abs(expected - model["threshold"]) > 1e-3 * max(
        1.0, abs(model["threshold"])
    )  # not on the line
    assert ((got > model["threshold"]) == (expected > model["threshold"]))[clear].all()
    assert np.median(got[data["n_normal"] :]) > np.percentile(got[: data["n_normal"]], 90)
    header = (tmp_path / "src" / "tinyforge_impulse.h").read_text()
    assert f"#define TINYFORGE_ANOMALY_GMM {0 if kind == 'kmeans' else 1}" in header


def test_unknown_anomaly_kind_is_a_clear_error(data):
    spec = ImpulseSpec(
        labels=["a", "b", "c", "d"],
        dsp_block="spectral",
        dsp_params=data["params"],
        window_samples=WINDOW,
        axes=AXES,
        frequency_hz=FREQ,
        slice_samples=31,
        anomaly={"kind": "isolation-forest", "features": [0]},
    )
    with pytest.raises(CompileError, match="isolation-forest"):
        build_library(data["model"], target="linux-x86_64", impulse=spec)


def test_anomaly_values_without_a_c_literal_are_a_clear_error(data):
    """An infinite threshold used to be written as `inff`, which no C compiler accepts."""
    model = anomaly.fit_kmeans(data["features"][: data["n_normal"]], n_clusters=2)
    spec = ImpulseSpec(
        labels=["a", "b", "c", "d"],
        dsp_block="spectral",
        dsp_params=data["params"],
        window_samples=WINDOW,
        axes=AXES,
        frequency_hz=FREQ,
        slice_samples=31,
        anomaly={**model, "threshold": float("inf")},
    )
    with pytest.raises(CompileError, match="anomaly block's threshold is inf"):
        build_library(data["model"], target="linux-x86_64", impulse=spec)
