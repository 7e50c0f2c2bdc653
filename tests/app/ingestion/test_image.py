"""Images: JPEG/PNG decoding, pixel hashes, corrupt files and decompression bombs."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from app.ingestion import IngestionError, decode_upload, read_image, read_values
from tests.app.ingestion.factories import image_bytes


def decode(data: bytes, filename: str = "cat.01.png", **kw):
    return decode_upload(
        data, filename=filename, content_type="multipart/form-data", hmac_keys=[], **kw
    )


def reject(data: bytes, status: int, filename: str = "cat.01.png", **kw) -> str:
    with pytest.raises(IngestionError) as info:
        decode(data, filename, **kw)
    assert info.value.status == status, info.value.message
    return info.value.message


@pytest.mark.parametrize("mode, channels", [("L", 1), ("RGB", 3), ("RGBA", 4)])
def test_png_decodes_to_exact_pixels(mode, channels):
    data = image_bytes("PNG", size=(13, 7), mode=mode)
    sample = decode(data)
    assert sample.kind == "image" and sample.format == "png"
    assert sample.image_size == (13, 7, channels)
    assert sample.values is None and sample.interval_ms == 0 and sample.rows == 0
    assert sample.sensors == [{"name": "image", "units": "rgba"}]
    pixels = read_image(data)
    expected = np.asarray(Image.open(io.BytesIO(data)))
    assert pixels.shape == (7, 13, channels)
    np.testing.assert_array_equal(pixels.reshape(expected.shape), expected)


def test_jpeg_decodes_and_hash_follows_pixels_not_bytes():
    data = image_bytes("JPEG", size=(32, 24))
    sample = decode(data, "dog.jpg")
    assert sample.format == "jpg" and sample.image_size == (32, 24, 3)
    pixels = read_image(data)
    # the same pixels saved losslessly as PNG hash the same
    as_png = io.BytesIO()
    Image.fromarray(pixels).save(as_png, "PNG", compress_level=9)
    assert decode(as_png.getvalue()).content_hash == sample.content_hash
    # a different picture hashes differently
    assert (
        decode(image_bytes("JPEG", size=(32, 24), seed=1), "dog.jpg").content_hash
        != sample.content_hash
    )


def test_content_wins_over_a_wrong_extension():
    sample = decode(image_bytes("JPEG"), "mislabelled.png")
    assert sample.format == "jpg" and sample.metadata["declared_extension"] == "png"
    assert "declared_extension" not in decode(image_bytes("JPEG"), "right.jpeg").metadata


def test_palette_and_16_bit_images_are_converted():
    pal = Image.new("P", (4, 4))
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    out = io.BytesIO()
    pal.save(out, "PNG")
    assert decode(out.getvalue()).image_size == (4, 4, 3)
    deep = Image.fromarray(np.full((3, 5), 65535, dtype=np.uint16))
    out = io.BytesIO()
    deep.save(out, "PNG")
    sample = decode(out.getvalue())
    assert sample.image_size == (5, 3, 1)
    assert read_image(out.getvalue()).max() == 255


def _png_bomb(width: int, height: int) -> bytes:
    """A valid grey PNG of width x height zero pixels: a few kB on the wire, huge once decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        import struct

        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    import struct

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * width
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding():
    bomb = _png_bomb(12000, 12000)  # 144 M pixels in well under 1 MB
    assert len(bomb) < 1_000_000
    message = reject(bomb, 413)
    assert "pixels" in message
    assert "pixels" in reject(image_bytes("PNG", size=(100, 100)), 413, max_image_pixels=5000)


BAD_IMAGES = [
    ("text named png", b"definitely not an image", 400, "not a valid JPEG or PNG", "x.png"),
    ("json named jpg", b'{"protected": {}}', 400, "not a valid JPEG or PNG", "x.jpg"),
    (
        "truncated png",
        image_bytes("PNG", size=(64, 64))[:300],
        400,
        "corrupt or truncated",
        "x.png",
    ),
    (
        "truncated jpeg",
        image_bytes("JPEG", size=(64, 64))[:400],
        400,
        "corrupt or truncated",
        "x.jpg",
    ),
    ("png magic only", b"\x89PNG\r\n\x1a\n", 400, "", "x.png"),
    ("gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", 415, ".gif", "x.gif"),
]


@pytest.mark.parametrize(
    "case, data, status, needle, filename", BAD_IMAGES, ids=[c[0] for c in BAD_IMAGES]
)
def test_bad_images(case, data, status, needle, filename):
    message = reject(data, status, filename)
    assert needle.lower() in message.lower(), message


def test_corrupted_png_checksum_is_detected():
    data = bytearray(image_bytes("PNG", size=(16, 16)))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF
    reject(bytes(data), 400)


def test_gif_content_with_png_name_is_unsupported():
    gif = io.BytesIO()
    Image.new("RGB", (2, 2)).save(gif, "GIF")
    assert "GIF" in reject(gif.getvalue(), 415, "x.png")


def test_read_values_refuses_images():
    with pytest.raises(IngestionError) as info:
        read_values(image_bytes("PNG"), format="png")
    assert info.value.status == 400
