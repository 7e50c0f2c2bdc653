"""Blob stores: the same behaviour on a local directory and on S3 (moto's server on loopback).

Every test taking `any_store` runs on both backends; the local-only ones check what only a
directory has (temporary files, folders removed underneath).
"""

from __future__ import annotations

import hashlib

import httpx
import pytest

from app.core.config import Settings
from app.core.storage import (
    LocalBlobStore,
    S3BlobStore,
    StorageError,
    check_store,
    get_store,
)

MiB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def any_store(request, tmp_path):
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return S3BlobStore(
        bucket,
        "some/prefix",
        endpoint_url=server.endpoint_url,
        multipart_threshold_bytes=5 * MiB,
        part_bytes=5 * MiB,
    )


def test_put_get_delete_and_overwrite(any_store):
    store = any_store
    store.put("a/b/c.bin", b"one")
    store.put("a/b/c.bin", b"two")
    assert store.get("a/b/c.bin") == b"two" and store.exists("a/b/c.bin")
    assert store.size("a/b/c.bin") == 3
    store.delete("a/b/c.bin")
    store.delete("a/b/c.bin")  # deleting what is gone is fine
    assert not store.exists("a/b/c.bin")
    assert list(store.iter_keys()) == []


def test_missing_blobs_raise_file_not_found(any_store):
    for op in (
        lambda: any_store.get("no/such"),
        lambda: any_store.get_range("no/such", 0, 1),
        lambda: any_store.size("no/such"),
        lambda: any_store.iter_chunks("no/such"),
    ):
        with pytest.raises(FileNotFoundError):
            op()
    assert not any_store.exists("no/such")


def test_put_new_refuses_an_existing_key(any_store):
    any_store.put_new("projects/1/samples/x.json", b"{}")
    with pytest.raises(FileExistsError):
        any_store.put_new("projects/1/samples/x.json", b"other")
    assert any_store.get("projects/1/samples/x.json") == b"{}"  # untouched


def test_ranges_of_a_pack(any_store):
    bodies = [b"first", b"second!", b"", b"third"]
    any_store.put_new("p/pack", b"".join(bodies))
    offset = 0
    for body in bodies:
        assert any_store.get_range("p/pack", offset, len(body)) == body
        offset += len(body)
    with pytest.raises(OSError, match="truncated"):
        any_store.get_range("p/pack", offset - 2, 10)


def test_keys_prefixes_and_deleting_a_prefix(any_store):
    for key in ("projects/1/a", "projects/1/sub/b", "projects/10/c", "projects/2/d"):
        any_store.put(key, key.encode())
    assert list(any_store.iter_keys()) == [
        "projects/1/a",
        "projects/1/sub/b",
        "projects/10/c",
        "projects/2/d",
    ]
    assert list(any_store.iter_keys("projects/1")) == ["projects/1/a", "projects/1/sub/b"]
    any_store.delete_prefix("projects/1")
    assert list(any_store.iter_keys()) == ["projects/10/c", "projects/2/d"]  # not projects/10
    any_store.delete_prefix("projects/nothing-here")


def test_many_keys_are_listed_and_deleted_past_one_page(any_store):
    # S3 lists and deletes 1000 keys per request: 1203 keys take two pages
    from concurrent.futures import ThreadPoolExecutor

    keys = [f"projects/5/features/{i:05d}.npy" for i in range(1203)]
    with ThreadPoolExecutor(8) as pool:  # the store is used from threads (boto3 clients are safe)
        list(pool.map(lambda k: any_store.put(k, b"x"), keys))
    assert list(any_store.iter_keys("projects/5")) == keys
    any_store.delete_prefix("projects/5")
    assert list(any_store.iter_keys()) == []


def test_large_objects_stream_up_in_parts_and_down_in_chunks(any_store, tmp_path):
    data = bytes(range(256)) * (12 * MiB // 256 + 7)  # 12 MiB and a bit: three 5 MiB parts on S3
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    assert any_store.put_file("big/file.bin", src) == len(data)
    any_store.put("big/bytes.bin", data)
    for key in ("big/file.bin", "big/bytes.bin"):
        assert any_store.size(key) == len(data)
        chunks = list(any_store.iter_chunks(key, 1 * MiB))
        assert len(chunks) >= 12 and b"".join(chunks) == data
        with any_store.local_copy(key) as path:
            assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()
    if isinstance(any_store, S3BlobStore):
        # a multipart object's ETag is "<md5 of the part md5s>-<number of parts>"
        for key in ("big/file.bin", "big/bytes.bin"):
            head = any_store.client.head_object(Bucket=any_store.bucket, Key=any_store._key(key))
            assert head["ETag"].strip('"').endswith("-3"), head["ETag"]
        any_store.put("small", b"x")  # below the threshold: one PUT, a plain MD5 ETag
        small = any_store.client.head_object(Bucket=any_store.bucket, Key=any_store._key("small"))
        assert "-" not in small["ETag"]


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x", "a/..", "a\\b"])
def test_keys_outside_the_store_are_refused(any_store, key):
    for op in (
        lambda: any_store.put(key, b"x"),
        lambda: any_store.put_new(key, b"x"),
        lambda: any_store.get(key),
        lambda: any_store.exists(key),
        lambda: any_store.delete(key),
    ):
        with pytest.raises(ValueError, match="invalid blob key"):
            op()


def test_presigned_download(any_store):
    any_store.put("deployments/lib.zip", b"PK zip bytes")
    url = any_store.presigned_url("deployments/lib.zip", filename="my lib.zip", expires_s=60)
    if isinstance(any_store, LocalBlobStore):
        assert url is None  # a directory has no URL: downloads are streamed
        return
    reply = httpx.get(url)  # no credentials: the signature in the URL is the permission
    assert reply.status_code == 200 and reply.content == b"PK zip bytes"
    assert reply.headers["content-disposition"] == 'attachment; filename="my lib.zip"'
    tampered = url.replace("lib.zip", "lia.zip", 1)
    assert httpx.get(tampered).status_code == 403


def test_check_store_writes_reads_and_deletes_a_probe(any_store):
    assert "wrote, read back and deleted" in check_store(any_store)
    assert list(any_store.iter_keys()) == []


# --- local directory only ------------------------------------------------------------------------


def test_put_new_survives_a_removed_folder(tmp_path):
    store = LocalBlobStore(tmp_path)
    store.put_new("projects/1/samples/x.json", b"{}")
    assert (tmp_path / "projects/1/samples/x.json").read_bytes() == b"{}"
    store.delete_prefix("projects/1")  # a project deleted while the store remembers its folder
    store.put_new("projects/1/samples/y.json", b"[]")
    assert store.get("projects/1/samples/y.json") == b"[]"
    big = bytes(range(256)) * 40_000  # several write() calls
    store.put_new("projects/2/big.bin", big)
    assert store.get("projects/2/big.bin") == big


def test_nothing_is_written_outside_the_root(tmp_path):
    store = LocalBlobStore(tmp_path / "root")
    with pytest.raises(ValueError):
        store.put("../x", b"x")
    assert not (tmp_path / "x").exists()


def test_sweep_temp_and_iter_keys(tmp_path):
    store = LocalBlobStore(tmp_path)
    store.put("k/1", b"1")
    (tmp_path / "k" / ".tmp-crashed").write_bytes(b"half")
    assert list(store.iter_keys()) == ["k/1"]
    assert store.sweep_temp() == 1 and not (tmp_path / "k" / ".tmp-crashed").exists()


# --- choosing and checking the backend -----------------------------------------------------------


def test_settings_choose_the_backend(tmp_path, s3_server, s3_bucket):
    local = get_store(Settings(data_dir=tmp_path))
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "blobs"
    url = Settings(data_dir=tmp_path, storage_url=f"file://{tmp_path}/elsewhere")
    assert get_store(url).root == tmp_path / "elsewhere"
    s = Settings(
        data_dir=tmp_path,
        storage_url=f"s3://{s3_bucket}/pre/fix/",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    store = get_store(s)
    assert isinstance(store, S3BlobStore) and (store.bucket, store.prefix) == (s3_bucket, "pre/fix")
    assert get_store(s) is store  # one client (connection pool) per process and configuration
    store.put("k", b"v")
    objects = s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [o["Key"] for o in objects] == ["pre/fix/k"]


@pytest.mark.parametrize(
    "url, message",
    [
        ("s3://", "not of the form s3://bucket/prefix"),
        ("s3://a/x", "not a valid bucket name"),
        ("s3://bucket_with_underscore/x", "not a valid bucket name"),
        ("s3://bucket/../x", "invalid blob key"),
        ("gs://bucket/x", "use s3://bucket/prefix"),
    ],
)
def test_bad_storage_urls_are_refused_by_the_settings(tmp_path, url, message):
    with pytest.raises(ValueError, match=message):
        Settings(data_dir=tmp_path, storage_url=url)


def test_check_names_a_missing_bucket(s3_server):
    store = S3BlobStore("no-such-bucket-here", "x", endpoint_url=s3_server.endpoint_url)
    with pytest.raises(StorageError, match="bucket 'no-such-bucket-here' does not exist"):
        check_store(store)


def test_check_names_an_unreachable_endpoint():
    from app.demo import free_port

    store = S3BlobStore("bucket", endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1)
    with pytest.raises(StorageError, match="cannot reach the endpoint.*TINYFORGE_S3_ENDPOINT_URL"):
        check_store(store)


def test_check_names_refused_credentials(tmp_path):
    from tests.s3server import S3Server

    # a second server that authenticates every request: the test keys are unknown to it
    strict = S3Server.start(tmp_path / "moto.log", extra_env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        store = S3BlobStore("bucket", endpoint_url=strict.endpoint_url, max_attempts=1)
        with pytest.raises(StorageError, match="credentials were refused.*AWS_ACCESS_KEY_ID"):
            check_store(store)
    finally:
        strict.stop()


def test_check_names_an_unwritable_directory(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    store = LocalBlobStore(tmp_path / "file" / "blobs")  # under a file: cannot be created
    with pytest.raises(StorageError, match="local directory"):
        check_store(store)
