"""File names, header decoding, labels and the deterministic split."""

from __future__ import annotations

import pytest

from app.ingestion import (
    IngestionError,
    decode_header_value,
    infer_label,
    parse_metadata_header,
    sanitize_filename,
    sanitize_label,
    split_category,
)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("idle.01.json", "idle.01.json"),
        ("dir/sub/wave.3.cbor", "wave.3.cbor"),
        ("win\\path\\clip.wav", "clip.wav"),
        ("  spaced name.csv ", "spaced name.csv"),
        ("ünïcødé.png", "ünïcødé.png"),
        ("a" * 251 + ".csv", "a" * 251 + ".csv"),
        ("..hidden.json", "..hidden.json"),
    ],
)
def test_sanitize_filename_returns_the_basename(name, expected):
    assert sanitize_filename(name) == expected


BAD_NAMES = [
    ("empty", "", "empty"),
    ("blank", "   ", "empty"),
    ("parent", "../x", ".."),
    ("parent deep", "a/../../etc/passwd", ".."),
    ("parent windows", "..\\x.wav", ".."),
    ("dotdot only", "..", ".."),
    ("absolute", "/etc/passwd", "absolute"),
    ("absolute windows", "C:\\Windows\\x.wav", "absolute"),
    ("unc", "\\\\server\\share\\x.wav", "absolute"),
    ("nul", "a\x00b", "NUL"),
    ("newline", "a\nb.json", "control"),
    ("escape", "a\x1b[31m.json", "control"),
    ("del", "a\x7f.json", "control"),
    ("c1 control", "a\x85b.json", "control"),
    ("dots only", "...", "no usable base name"),
    ("trailing slash", "dir/", "no usable base name"),
    ("too long", "a" * 252 + ".csv", "255 bytes"),
    ("too long utf8", "é" * 128, "255 bytes"),
]


@pytest.mark.parametrize("case, name, needle", BAD_NAMES, ids=[c[0] for c in BAD_NAMES])
def test_sanitize_filename_rejects_path_tricks(case, name, needle):
    with pytest.raises(IngestionError) as info:
        sanitize_filename(name)
    assert info.value.status == 400
    assert needle in info.value.message


def test_decode_header_value_uri_decodes_and_rejects_bad_utf8():
    assert decode_header_value("caf%C3%A9%20au%20lait", header="x-label") == "café au lait"
    assert decode_header_value("plain", header="x-label") == "plain"
    with pytest.raises(IngestionError) as info:
        decode_header_value("%FF%FE", header="x-file-name")
    assert info.value.status == 400 and "x-file-name" in info.value.message
    # a NUL smuggled through percent-encoding is caught by sanitize_filename
    with pytest.raises(IngestionError):
        sanitize_filename(decode_header_value("a%00b.json", header="x-file-name"))
    with pytest.raises(IngestionError):
        sanitize_filename(decode_header_value("..%2Fetc%2Fpasswd", header="x-file-name"))


@pytest.mark.parametrize(
    "filename, label",
    [
        ("idle.01.json", "idle"),
        ("wave.cbor", "wave"),
        ("faultstate1.sample0.csv", "faultstate1"),
        ("dir/up-down_2.3.wav", "up-down_2"),
        ("noext", "noext"),
        ("my label.01.png", "my label"),
    ],
)
def test_infer_label_is_the_text_before_the_first_dot(filename, label):
    assert infer_label(filename) == label


def test_infer_label_without_text_before_the_dot_is_an_error():
    with pytest.raises(IngestionError) as info:
        infer_label(".json")
    assert info.value.status == 400 and "x-label" in info.value.message


def test_sanitize_label():
    assert sanitize_label("  idle ") == "idle"
    for bad in ("", "  ", "a\tb", "x" * 256):
        with pytest.raises(IngestionError):
            sanitize_label(bad)


def test_split_category_is_deterministic_and_about_80_20():
    keys = [f"sample-{ix}.json" for ix in range(5000)]
    first = [split_category(k) for k in keys]
    assert first == [split_category(k) for k in keys]
    testing = first.count("testing") / len(first)
    assert 0.18 < testing < 0.22
    assert set(first) == {"training", "testing"}


def test_parse_metadata_header():
    assert parse_metadata_header(
        '{"speaker": "george", "take": 3, "ok": true, "gain": 1.5, "x": null}'
    ) == {"speaker": "george", "take": "3", "ok": "true", "gain": "1.5", "x": ""}
    assert parse_metadata_header("%7B%22a%22%3A%22b%22%7D") == {"a": "b"}
    for bad in (
        "not json",
        "[1, 2]",
        '{"a": {"nested": 1}}',
        '{"a": [1]}',
        '{"a\\u0000": "x"}',
        "{" + '"k": "' + "v" * 20000 + '"}',
    ):
        with pytest.raises(IngestionError) as info:
            parse_metadata_header(bad)
        assert info.value.status == 400
