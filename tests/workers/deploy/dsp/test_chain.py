"""Several processing blocks on one window in C: their features side by side, as the platform has
them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.workers.deploy.dsp.hostbuild import build_host, run_host
from tests.workers.deploy.dsp.test_host import accel_windows, reference
from workers.deploy.dsp import DspBuildError, emit_dsp, emit_dsp_chain

BLOCKS = [
    ("spectral", {}),
    ("flatten", {"skewness": True, "kurtosis": True}),
    ("raw", {"scale_axes": 0.5}),
]


def test_chain_equals_the_blocks_side_by_side(tmp_path):
    windows = accel_windows(5, n=8, samples=100)
    chain = emit_dsp_chain(BLOCKS, window_samples=100, n_axes=3, frequency_hz=100.0)
    parts = [reference(b, p, windows, 100.0) for b, p in BLOCKS]
    assert chain.n_features == sum(p.shape[1] for p in parts) and chain.shape == (chain.n_features,)
    got = run_host(build_host(chain, tmp_path), windows, chain.n_features)
    np.testing.assert_allclose(got, np.concatenate(parts, axis=1), rtol=1e-4, atol=1e-4)
    header = chain.files["tinyforge_dsp_config.h"]
    assert '#define TINYFORGE_DSP_BLOCK "spectral+flatten+raw"' in header
    assert f"#define TINYFORGE_DSP_N_FEATURES {chain.n_features}" in header
    assert set(chain.files) == {
        f"tinyforge_{p}dsp_config.{x}" for p in ("", "b1_", "b2_", "b3_") for x in "ch"
    }


def test_one_block_is_emit_dsp_itself():
    one = emit_dsp_chain(BLOCKS[:1], window_samples=100, n_axes=3, frequency_hz=100.0)
    assert (
        one.files
        == emit_dsp("spectral", {}, window_samples=100, n_axes=3, frequency_hz=100.0).files
    )


def test_chain_errors_name_the_problem():
    with pytest.raises(DspBuildError, match="at least one"):
        emit_dsp_chain([], window_samples=100, n_axes=3, frequency_hz=100.0)
    with pytest.raises(DspBuildError, match="image block cannot be combined"):
        emit_dsp_chain([("image", {}), ("image", {})], window_samples=64, n_axes=3, frequency_hz=0)
    with pytest.raises(DspBuildError) as info:
        emit_dsp_chain(
            [("flatten", {}), ("spectral", {"filter_cutoff": 60})],
            window_samples=100,
            n_axes=3,
            frequency_hz=100.0,
        )
    assert info.value.field == "filter_cutoff"
