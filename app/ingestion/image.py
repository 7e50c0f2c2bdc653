"""JPEG and PNG images via Pillow: verified, size-capped, decoded to uint8 pixels."""

from __future__ import annotations

import io
import struct
import warnings
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from app.ingestion.errors import malformed, too_large, unsupported

DEFAULT_MAX_IMAGE_PIXELS = 40_000_000  # e.g. 8000 x 5000; checked from the header before decoding
_FORMATS = {"JPEG": "jpg", "PNG": "png", "MPO": "jpg"}  # MPO: multi-picture JPEG from phone cameras


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large("Image declares more pixels than allowed (decompression bomb?).") from None
    except UnidentifiedImageError:
        raise malformed("File is not a valid JPEG or PNG image.") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise malformed(f"Image data is corrupt or truncated: {error}.") from None


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> tuple[np.ndarray, dict[str, Any]]:
    """Verify and decode a JPEG/PNG to uint8 [height, width, channels] (1 grey, 3 RGB or 4 RGBA)."""
    probe = _open(data)
    fmt = _FORMATS.get(probe.format or "")
    if fmt is None:
        raise unsupported(f"Image format {probe.format} is not supported; send JPEG or PNG.")
    width, height = probe.size
    if width <= 0 or height <= 0:
        raise malformed("Image has a zero width or height.")
    if width * height > max_pixels:
        raise too_large(
            f"Image is {width}x{height} pixels; at most {max_pixels} pixels are allowed."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe.verify()  # structure and checksums; the image must be reopened afterwards
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large("Image declares more pixels than allowed (decompression bomb?).") from None
    except (OSError, ValueError, SyntaxError, struct.error) as error:
        raise malformed(f"Image data is corrupt or truncated: {error}.") from None
    pixels = to_pixels(image)
    info = {"image_format": fmt, "image_mode": image.mode, "width": width, "height": height}
    return pixels, info


def to_pixels(image: Image.Image) -> np.ndarray:
    """uint8 [h, w, c] with c = 1 (grey), 3 (RGB) or 4 (RGBA); palette, CMYK, 16-bit are
    converted."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA"):
        converted = image
    elif mode == "LA":
        converted = image.convert("RGBA")
    elif mode == "P":
        converted = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("1",):
        converted = image.convert("L")
    elif mode.startswith("I"):
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        return np.clip(np.rint(arr / top * 255.0), 0, 255).astype(np.uint8)[:, :, None]
    else:
        converted = image.convert("RGB")
    arr = np.asarray(converted, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return np.ascontiguousarray(arr)


def read_image(blob: bytes) -> np.ndarray:
    """Decode a stored JPEG/PNG blob to uint8 [h, w, c]."""
    pixels, _ = decode_image(blob, max_pixels=max(DEFAULT_MAX_IMAGE_PIXELS, 1 << 31))
    return pixels
