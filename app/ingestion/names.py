"""File names, labels and the deterministic train/test split of the ingestion API."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Literal
from urllib.parse import unquote

from app.ingestion.errors import malformed

MAX_NAME_BYTES = 255
MAX_LABEL_CHARS = 255
TESTING_PERCENT = 20
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def _control_char(text: str) -> str | None:
    for ch in text:
        if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or unicodedata.category(ch) in ("Zl", "Zp"):
            return ch
    return None


def decode_header_value(value: str, *, header: str) -> str:
    """URI-decode a header value (`x-label`, `x-file-name` are sent percent-encoded, UTF-8)."""
    try:
        return unquote(value, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise malformed(f"Header {header} is not valid percent-encoded UTF-8.") from None


def sanitize_filename(name: str) -> str:
    """Return the file name's basename after rejecting anything that could escape a directory.

    Rejects (IngestionError 400): empty names, NUL and other control characters, `..` path parts
    (`../x`, `a/../b`, `..\\x`), absolute paths (`/etc/passwd`, `\\\\server\\x`, `C:\\x`), names of
    only dots, and names longer than 255 UTF-8 bytes. A relative path such as `dir/idle.01.json`
    yields its basename `idle.01.json`.
    """
    if not isinstance(name, str) or not name.strip():
        raise malformed("File name is empty.")
    if "\x00" in name:
        raise malformed("File name contains a NUL byte.")
    bad = _control_char(name)
    if bad is not None:
        raise malformed(f"File name contains the control character U+{ord(bad):04X}.")
    if name.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(name):
        raise malformed(f"File name {name[:80]!r} is an absolute path; send a plain file name.")
    parts = re.split(r"[\\/]", name)
    if any(part.strip() == ".." for part in parts):
        raise malformed(f"File name {name[:80]!r} contains a '..' path component.")
    base = parts[-1].strip()
    if not base or set(base) == {"."}:
        raise malformed(f"File name {name[:80]!r} has no usable base name.")
    if len(base.encode("utf-8")) > MAX_NAME_BYTES:
        raise malformed(f"File name is longer than {MAX_NAME_BYTES} bytes.")
    return base


def sanitize_label(label: str) -> str:
    """A label: 1..255 characters, no control characters, surrounding spaces removed."""
    if not isinstance(label, str) or not label.strip():
        raise malformed("Label is empty.")
    bad = _control_char(label)
    if bad is not None:
        raise malformed(f"Label contains the control character U+{ord(bad):04X}.")
    label = label.strip()
    if len(label) > MAX_LABEL_CHARS:
        raise malformed(f"Label is longer than {MAX_LABEL_CHARS} characters.")
    return label


def infer_label(filename: str) -> str:
    """The label Edge Impulse derives from a file name: the text before the first '.'.

    `idle.01.json` -> `idle`, `dir/wave.3.cbor` -> `wave`. (The Python SDK's `infer_from_filename`
    uses exactly this rule; the ingestion docs describe it as the regex `^[a-zA-Z0-9\\s-_]+`,
    which agrees for ordinary names.)
    """
    base = sanitize_filename(filename)
    label = base.split(".", 1)[0].strip()
    if not label:
        raise malformed(
            f"Cannot infer a label from file name {base!r}; send x-label or x-no-label."
        )
    return sanitize_label(label)


def split_category(key: str) -> Literal["training", "testing"]:
    """Deterministic ~80/20 train/test assignment from a stable hash (sha256) of `key`."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    return "testing" if bucket < TESTING_PERCENT else "training"


MAX_METADATA_BYTES = 16 * 1024


def parse_metadata_header(value: str) -> dict[str, str]:
    """Parse `x-metadata`: a JSON object of scalar values, returned as {str: str} like Edge Impulse
    stores it.

    The Python SDK sends `json.dumps(metadata)` (numbers stay numbers), the CLI `JSON.stringify`;
    a percent-encoded value is decoded first. Nested objects/arrays, non-JSON and oversize values →
    400.
    """
    if len(value.encode("utf-8")) > MAX_METADATA_BYTES:
        raise malformed(f"Header x-metadata is longer than {MAX_METADATA_BYTES} bytes.")
    text = value.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = decode_header_value(text, header="x-metadata")
    try:
        parsed = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise malformed("Header x-metadata is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise malformed("Header x-metadata must be a JSON object.")
    out: dict[str, str] = {}
    for key, item in parsed.items():
        if isinstance(item, bool):
            out[key] = "true" if item else "false"
        elif isinstance(item, (str, int, float)):
            out[key] = str(item)
        elif item is None:
            out[key] = ""
        else:
            raise malformed(f"Header x-metadata value for {key[:60]!r} must be a string or number.")
        if _control_char(key):
            raise malformed("Header x-metadata has a key with control characters.")
    return out
