"""Image block: pixels scaled to [0, 1] (or int8 input range), RGB or grayscale."""

from __future__ import annotations

import numpy as np

from ..params import DspError, Param
from ..processing_block import Block, BlockOutput, finish

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601


def check_images(images) -> np.ndarray:
    """Return float32 [n, h, w, c] pixels in 0..255 (c = 1 or 3) or raise DspError."""
    arr = np.asarray(images)
    if arr.ndim != 4:
        raise DspError(
            f"expected images shaped [n, height, width, channels], got {arr.ndim} axes {arr.shape}"
        )
    n, h, w, c = arr.shape
    if h == 0 or w == 0:
        raise DspError(f"wrong image size: {h}x{w}")
    if c not in (1, 3):
        raise DspError(f"images must have 1 or 3 channels, got {c}")
    if not np.issubdtype(arr.dtype, np.number):
        raise DspError(f"pixels must be numbers, got dtype {arr.dtype}")
    x = arr.astype(np.float32)
    if not np.isfinite(x).all():
        raise DspError("image contains NaN or infinite values")
    if arr.dtype != np.uint8 and (x.min(initial=0) < 0 or x.max(initial=0) > 255):
        raise DspError("pixel values must lie in 0..255")
    return x


class ImageBlock(Block):
    name = "image"
    title = "Image"
    description = (
        "Pixels as features: RGB or grayscale (BT.601 luma, rounded), scaled to [0, 1] or to "
        "the int8 range."
    )
    implementation_version = 1
    input_kind = "image"
    params = (
        Param(
            "channels",
            "select",
            "RGB",
            choices=("RGB", "Grayscale"),
            help="Colour depth of the features.",
            label="Colour depth",
        ),
        Param(
            "scale",
            "select",
            "0..1",
            choices=("0..1", "int8"),
            help=(
                "0..1: pixel / 255. int8: pixel - 128, the int8 input value of a model "
                "quantized with scale 1/255."
            ),
            label="Scaling",
        ),
    )

    def image_output_shape(
        self, *, width: int, height: int, params: dict | None
    ) -> tuple[int, int, int]:
        p = self.validate(params)
        return (int(height), int(width), 3 if p["channels"] == "RGB" else 1)

    def output_shape(
        self, *, window_samples=0, n_axes=0, frequency_hz=0.0, params=None, width=None, height=None
    ):
        """Images: pass width and height (window_samples/n_axes are ignored)."""
        if width is None or height is None:
            raise ValueError("the image block needs width and height")
        return self.image_output_shape(width=width, height=height, params=params)

    def run(
        self, windows, *, frequency_hz=0.0, params=None, graphs=False, expected_hw=None
    ) -> BlockOutput:
        """`windows`: [n, h, w, c] uint8 (or float 0..255). `expected_hw`: (h, w) to enforce, else
        any size."""
        p = self.validate(params)
        x = check_images(windows)
        if expected_hw is not None and tuple(x.shape[1:3]) != tuple(expected_hw):
            raise DspError(
                f"wrong image size: got {x.shape[2]}x{x.shape[1]} (w x h), "
                f"expected {expected_hw[1]}x{expected_hw[0]}"
            )
        if p["channels"] == "Grayscale":
            if (
                x.shape[-1] == 3
            ):  # term by term in float32, as the C does (a BLAS matmul may round differently)
                luma = x[..., 0:1] * LUMA[0] + x[..., 1:2] * LUMA[1] + x[..., 2:3] * LUMA[2]
                x = np.floor(luma + np.float32(0.5))
        elif x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        out = x / np.float32(255.0) if p["scale"] == "0..1" else x - np.float32(128.0)
        g = []
        if graphs:
            g.append({"name": "Image", "type": "image", "data": out[0].tolist()})
        return finish(out, tuple(out.shape[1:]), g)
