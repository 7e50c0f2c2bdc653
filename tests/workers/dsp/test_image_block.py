"""Image block scaling and colour conversion."""

from __future__ import annotations

import numpy as np

from workers.dsp import BLOCKS

IMAGE = BLOCKS["image"]


def test_rgb_scaled_to_unit_range(rng):
    img = rng.integers(0, 256, (3, 5, 7, 3), dtype=np.uint8)
    out = IMAGE.run(img, params={})
    assert out.shape == (5, 7, 3) and out.features.shape == (3, 105)
    np.testing.assert_allclose(out.features, img.reshape(3, -1) / 255.0, rtol=1e-6)
    assert IMAGE.output_shape(width=7, height=5, params={}) == (5, 7, 3)


def test_int8_scale_and_grayscale(rng):
    img = rng.integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    out = IMAGE.run(img, params={"channels": "Grayscale", "scale": "int8"})
    assert out.shape == (4, 4, 1)
    gray = np.floor(img.astype(np.float64) @ [0.299, 0.587, 0.114] + 0.5)
    np.testing.assert_allclose(out.features, (gray - 128).reshape(2, -1), atol=1e-4)
    assert out.features.min() >= -128 and out.features.max() <= 127
    # a 1-channel image becomes RGB by repetition when RGB is asked for
    one = img[..., :1]
    rgb = IMAGE.run(one, params={}).features.reshape(2, 4, 4, 3)
    assert (rgb[..., 0] == rgb[..., 2]).all()


def test_graph_for_preview(rng):
    img = rng.integers(0, 256, (1, 4, 4, 3), dtype=np.uint8)
    out = IMAGE.run(img, params={}, graphs=True)
    assert np.array(out.graphs[0]["data"]).shape == (4, 4, 3)
