"""Bad input to the blocks is a DspError that names the problem."""

from __future__ import annotations

import numpy as np
import pytest

from workers.dsp import BLOCKS, DspError

TS_BLOCKS = [b for b in BLOCKS.values() if b.input_kind == "timeseries"]


@pytest.mark.parametrize("block", TS_BLOCKS, ids=lambda b: b.name)
@pytest.mark.parametrize(
    ("windows", "match"),
    [
        (np.zeros((8000, 1), np.float32), "n_windows, n_samples, n_axes"),
        (np.zeros((1, 8000, 1, 1), np.float32), "n_windows, n_samples, n_axes"),
        (np.zeros((1, 8000, 0), np.float32), "empty"),
        (np.zeros((1, 0, 1), np.float32), "empty"),
        (np.full((1, 8000, 1), np.inf, np.float32), "NaN or infinite"),
        (np.array([[[np.nan]] * 8000], np.float32), "NaN"),
        (np.zeros((1, 8000, 1), np.complex64), "real numbers"),
        (np.array([[["x"]] * 8000]), "real numbers"),
    ],
)
def test_timeseries_blocks_reject_bad_windows(block, windows, match):
    with pytest.raises(DspError, match=match):
        block.run(windows, frequency_hz=8000, params={})


IMAGE = BLOCKS["image"]


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((8, 8, 3), np.uint8), "n, height, width, channels"),
        (np.zeros((1, 0, 8, 3), np.uint8), "wrong image size"),
        (np.zeros((1, 8, 8, 4), np.uint8), "1 or 3 channels"),
        (np.full((1, 8, 8, 3), np.nan, np.float32), "NaN"),
        (np.full((1, 8, 8, 3), 300.0, np.float32), "0..255"),
    ],
)
def test_image_block_rejects_bad_images(images, match):
    with pytest.raises(DspError, match=match):
        IMAGE.run(images, params={})


def test_image_block_checks_the_expected_size():
    with pytest.raises(DspError, match="wrong image size: got 8x6"):
        IMAGE.run(np.zeros((1, 6, 8, 3), np.uint8), params={}, expected_hw=(96, 96))
    assert IMAGE.run(np.zeros((1, 6, 8, 3), np.uint8), params={}, expected_hw=(6, 8)).shape == (
        6,
        8,
        3,
    )


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_overflow_to_infinity_is_reported_not_returned():
    x = np.full((1, 8000, 1), 1e30, np.float32)
    x[0, ::2, 0] = -1e30
    with pytest.raises(DspError, match="not finite"):
        BLOCKS["mfcc"].run(x, frequency_hz=8000, params={"input_full_scale": 1.0})
