"""BlobStore on the local file system: atomic puts, new-key puts, bad keys, sweeping temp files."""

from __future__ import annotations

import pytest

from app.core.storage import BlobStore


def test_put_get_delete_and_overwrite(tmp_path):
    store = BlobStore(tmp_path)
    store.put("a/b/c.bin", b"one")
    store.put("a/b/c.bin", b"two")
    assert store.get("a/b/c.bin") == b"two" and store.exists("a/b/c.bin")
    store.delete("a/b/c.bin")
    store.delete("a/b/c.bin")  # deleting what is gone is fine
    assert not store.exists("a/b/c.bin")
    assert not list(tmp_path.rglob(".tmp-*"))


def test_put_new_refuses_an_existing_key_and_survives_a_removed_folder(tmp_path):
    store = BlobStore(tmp_path)
    path = store.put_new("projects/1/samples/x.json", b"{}")
    assert path == tmp_path / "projects/1/samples/x.json" and path.read_bytes() == b"{}"
    with pytest.raises(FileExistsError):
        store.put_new("projects/1/samples/x.json", b"other")
    assert store.get("projects/1/samples/x.json") == b"{}"  # untouched
    store.delete_prefix("projects/1")  # a project deleted while the store remembers its folder
    store.put_new("projects/1/samples/y.json", b"[]")
    assert store.get("projects/1/samples/y.json") == b"[]"
    big = bytes(range(256)) * 40_000  # several write() calls
    store.put_new("projects/2/big.bin", big)
    assert store.get("projects/2/big.bin") == big


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x", "a/.."])
def test_keys_outside_the_store_are_refused(tmp_path, key):
    store = BlobStore(tmp_path / "root")
    for op in (
        lambda: store.put(key, b"x"),
        lambda: store.put_new(key, b"x"),
        lambda: store.get(key),
    ):
        with pytest.raises(ValueError, match="invalid blob key"):
            op()
    assert not (tmp_path / "x").exists()


def test_sweep_temp_and_iter_keys(tmp_path):
    store = BlobStore(tmp_path)
    store.put("k/1", b"1")
    (tmp_path / "k" / ".tmp-crashed").write_bytes(b"half")
    assert list(store.iter_keys()) == ["k/1"]
    assert store.sweep_temp() == 1 and not (tmp_path / "k" / ".tmp-crashed").exists()
