"""Input blocks: windowing, resampling, axis selection, padding; image resizing."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from workers.dsp import (
    DspError,
    ImageInput,
    ParamError,
    TimeSeriesInput,
    make_windows,
    prepare_image,
)
from workers.dsp.windowing import resample_ratio


def spec(**kw):
    base = dict(axes=None, window_size_ms=1000, window_increase_ms=500, frequency_hz=100)
    return TimeSeriesInput(**{**base, **kw})


@pytest.mark.parametrize(
    ("rows", "expected"), [(100, 1), (149, 1), (150, 2), (250, 4), (251, 4), (1000, 19)]
)
def test_window_count_and_content(rows, expected):
    values = np.arange(rows * 2, dtype=np.float64).reshape(rows, 2)
    w = make_windows(values, interval_ms=10, spec=spec())
    assert w.shape == (expected, 100, 2) and w.dtype == np.float32
    for i in range(expected):
        np.testing.assert_array_equal(w[i], values[i * 50 : i * 50 + 100])


def test_short_sample_is_zero_padded_or_rejected():
    values = np.ones((30, 1))
    w = make_windows(values, interval_ms=10, spec=spec())
    assert w.shape == (1, 100, 1)
    assert w[0, :30, 0].tolist() == [1.0] * 30 and not w[0, 30:].any()
    with pytest.raises(DspError, match="too short"):
        make_windows(values, interval_ms=10, spec=spec(pad_short=False))


def test_axes_selected_by_name_in_the_requested_order():
    values = np.stack([np.full(200, 1.0), np.full(200, 2.0), np.full(200, 3.0)], axis=1)
    w = make_windows(
        values,
        interval_ms=10,
        spec=spec(axes=["accZ", "accX"]),
        sensor_names=["accX", "accY", "accZ"],
    )
    assert w.shape[2] == 2 and w[0, 0].tolist() == [3.0, 1.0]
    with pytest.raises(DspError, match="no axis gyrX"):
        make_windows(
            values, interval_ms=10, spec=spec(axes=["gyrX"]), sensor_names=["accX", "accY", "accZ"]
        )
    with pytest.raises(DspError, match="wrong number of axes"):
        make_windows(values, interval_ms=10, spec=spec(), sensor_names=["accX", "accY"])


def test_resampling_uses_resample_poly_with_a_rational_ratio():
    rng = np.random.default_rng(3)
    values = rng.standard_normal((441, 1))  # 10 ms at 44.1 kHz -> 16 kHz
    s = spec(window_size_ms=10, window_increase_ms=10, frequency_hz=16000)
    w = make_windows(values, interval_ms=1000 / 44100, spec=s)
    assert resample_ratio(44100, 16000) == (160, 441)
    ref = scipy.signal.resample_poly(values, 160, 441, axis=0)
    assert w.shape == (1, 160, 1)
    np.testing.assert_allclose(w[0], ref[:160], rtol=1e-5, atol=1e-6)


def test_resampled_sine_keeps_its_frequency():
    t = np.arange(0, 2, 1 / 250)
    values = np.sin(2 * np.pi * 10 * t)[:, None]
    w = make_windows(values, interval_ms=4, spec=spec(window_size_ms=2000, frequency_hz=100))
    assert w.shape == (1, 200, 1)
    spec_mag = np.abs(np.fft.rfft(w[0, :, 0]))
    assert np.argmax(spec_mag) == 20  # 10 Hz in a 2 s window


def test_same_rate_is_not_resampled():
    values = np.random.default_rng(1).standard_normal((300, 1))
    w = make_windows(values, interval_ms=10, spec=spec(window_size_ms=3000))
    np.testing.assert_array_equal(w[0], values.astype(np.float32))


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.zeros((0, 3)), "empty"),
        (np.zeros((5, 2, 2)), "rows, axes"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[1.0], [np.inf]]), "NaN or infinite"),
        (np.array([["a"]]), "real numbers"),
    ],
)
def test_bad_samples(values, match):
    with pytest.raises(DspError, match=match):
        make_windows(values, interval_ms=10, spec=spec())


def test_bad_interval():
    with pytest.raises(DspError, match="interval_ms"):
        make_windows(np.zeros((10, 1)), interval_ms=0, spec=spec())


def test_invalid_spec_is_a_param_error():
    with pytest.raises(ParamError) as err:
        make_windows(np.zeros((10, 1)), interval_ms=10, spec=spec(window_increase_ms=-1))
    assert err.value.field == "window_increase_ms"


def gradient_image(h, w):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack(
        [x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), np.full((h, w), 128)], -1
    ).astype(np.uint8)


def test_prepare_image_squash():
    img = gradient_image(40, 80)
    out = prepare_image(img, spec=ImageInput(width=32, height=32, resize_mode="squash"))
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert out[0, 0, 0] < 20 and out[0, -1, 0] > 235  # the whole width is kept


def test_prepare_image_fit_short_crops_centre():
    img = gradient_image(40, 80)
    out = prepare_image(img, spec=ImageInput(width=32, height=32, resize_mode="fit-short"))
    assert out.shape == (32, 32, 3)
    assert (
        50 < out[0, 0, 0] < 80 and 175 < out[0, -1, 0] < 205
    )  # only the middle half of the width survives


def test_prepare_image_fit_long_pads_black():
    img = np.full((40, 80, 3), 200, np.uint8)
    out = prepare_image(img, spec=ImageInput(width=32, height=32, resize_mode="fit-long"))
    assert out.shape == (32, 32, 3)
    assert not out[:8].any() and not out[-8:].any()  # 16 rows of content, centred
    assert (out[8:24] == 200).all()


def test_prepare_image_grayscale_and_alpha():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 7
    out = prepare_image(rgba, spec=ImageInput(width=10, height=10, color_depth="grayscale"))
    assert out.shape == (10, 10, 1)
    assert int(out[0, 0, 0]) == round(0.299 * 255)


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((0, 5, 3), np.uint8), "wrong image size"),
        (np.zeros((5, 5, 2), np.uint8), "1|3|4"),
        (np.zeros((5, 5, 3), np.float32), "uint8"),
        (np.zeros((2, 5, 5, 3), np.uint8), "height, width"),
    ],
)
def test_prepare_image_bad_input(image, match):
    with pytest.raises(DspError, match=match):
        prepare_image(image, spec=ImageInput())
