"""Finding events in a recording, to split it into one sample per event (pure NumPy).

Edge Impulse's "split sample" proposes segments of a fixed length around the loud parts of an audio
recording (someone saying "yes" ten times → ten one-second samples). The same here: short-time
energy, a threshold between the noise floor and the loudest frame, one segment of
`segment_length_ms` centred on each region above it, strongest first, no two overlapping, shifted to
lie inside the recording.
"""

from __future__ import annotations

import numpy as np


def find_segments(
    values: np.ndarray,
    *,
    frequency_hz: float,
    segment_length_ms: float,
    threshold: float = 0.3,
    frame_ms: float = 20.0,
) -> list[tuple[float, float]]:
    """[(start_ms, end_ms)] of the events in `values` ([rows] or [rows, axes]), in time order.

    `threshold` (0..1) places the cut between the noise floor (median frame energy, 0) and the
    loudest frame (1).
    """
    if not 0 < threshold < 1:
        raise ValueError("threshold must be between 0 and 1")
    if frequency_hz <= 0 or segment_length_ms <= 0:
        raise ValueError("frequency_hz and segment_length_ms must be positive")
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 2:
        x = x - x.mean(axis=0)
        x = np.sqrt((x**2).sum(axis=1))
    else:
        x = x - x.mean()
    total_ms = len(x) * 1000.0 / frequency_hz
    if segment_length_ms > total_ms:
        return []
    frame = max(1, int(round(frame_ms * frequency_hz / 1000)))
    frames = len(x) // frame
    if frames < 2:
        return []
    energy = (x[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1)
    floor, peak = float(np.median(energy)), float(energy.max())
    if peak <= floor * 1.5 or peak == 0:
        return []  # nothing stands out of the noise
    above = energy > floor + threshold * (peak - floor)
    regions: list[tuple[float, float]] = []  # (peak energy, centre ms)
    start = None
    for i, on in enumerate([*above, False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            e = energy[start:i]
            centre_frame = start + float((e * np.arange(len(e))).sum() / e.sum()) + 0.5
            regions.append((float(e.max()), centre_frame * frame_ms))
            start = None
    chosen: list[tuple[float, float]] = []
    for _, centre in sorted(regions, reverse=True):
        begin = min(max(0.0, centre - segment_length_ms / 2), total_ms - segment_length_ms)
        end = begin + segment_length_ms
        if all(end <= a or begin >= b for a, b in chosen):
            chosen.append((begin, end))
    return sorted((round(a, 3), round(b, 3)) for a, b in chosen)
