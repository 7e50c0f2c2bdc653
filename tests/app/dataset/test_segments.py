"""Event detection for "split sample", on synthetic recordings with events at known places."""

from __future__ import annotations

import numpy as np
import pytest

from app.dataset.segments import find_segments


def _bursts(centres_s, *, rate=8000, seconds=6.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 200, int(seconds * rate))
    t = np.arange(int(0.3 * rate)) / rate
    for c in centres_s:
        a = int((c - 0.15) * rate)
        x[a : a + len(t)] += 8000 * np.sin(2 * np.pi * 440 * t) * np.hanning(len(t))
    return x


def test_one_segment_per_event_centred_on_it():
    segs = find_segments(_bursts([0.8, 2.5, 4.9]), frequency_hz=8000, segment_length_ms=1000)
    assert len(segs) == 3
    for (a, b), c in zip(segs, [0.8, 2.5, 4.9], strict=True):
        assert b - a == pytest.approx(1000)
        assert abs((a + b) / 2 - c * 1000) < 40


def test_segments_stay_inside_and_do_not_overlap():
    segs = find_segments(_bursts([0.2, 0.7, 5.8]), frequency_hz=8000, segment_length_ms=1000)
    assert segs[0][0] == 0 and segs[-1][1] == pytest.approx(6000)
    assert all(b <= c for (_, b), (c, _) in zip(segs, segs[1:], strict=False))


def test_noise_alone_and_bad_parameters():
    rng = np.random.default_rng(1)
    assert find_segments(rng.normal(0, 100, 16000), frequency_hz=8000, segment_length_ms=500) == []
    assert (
        find_segments(np.zeros(100), frequency_hz=100, segment_length_ms=5000) == []
    )  # longer than the sample
    with pytest.raises(ValueError, match="threshold"):
        find_segments(np.zeros(100), frequency_hz=100, segment_length_ms=100, threshold=1.5)
