"""Blob stores: one interface, two backends.

Keys are relative POSIX paths made by the service (never from user input), e.g.
``projects/3/samples/<uuid>.pack``. The database holds only keys, sizes and content hashes; the
bytes live in a `BlobStore`:

- `LocalBlobStore`: a directory (``TINYFORGE_STORAGE_DIR``, the embedded default). Writes go to a
  temporary file in the same folder and are renamed into place, so a reader never sees half a
  blob and a crash leaves only a ``.tmp-*`` file that ``sweep_temp`` removes.
- `S3BlobStore`: S3-compatible object storage (``TINYFORGE_STORAGE_URL=s3://bucket/prefix``,
  ``TINYFORGE_S3_ENDPOINT_URL`` for MinIO and other non-AWS servers, credentials from the usual
  ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_DEFAULT_REGION``). A PUT is atomic,
  large objects go up in parts (multipart upload), and nothing is shared between hosts but the
  bucket: this is the backend for workers on several machines.

`get_store(settings)` picks the backend from the settings. Code that needs a real file (a
compiler, a tool that takes a path) asks `local_copy(key)`, which is the file itself on the local
backend and a temporary download on S3.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from app.core.config import Settings

CHUNK_BYTES = 1024 * 1024  # streamed reads and downloads
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part (all but the last)


class StorageError(Exception):
    """The store cannot be used as configured (bad URL, credentials, bucket or endpoint)."""


def check_key(key: str) -> str:
    """A key is a non-empty relative path without `..`; anything else is a bug in the caller."""
    if not key or key.startswith("/") or ".." in key.split("/") or "\\" in key:
        raise ValueError(f"invalid blob key {key!r}")
    return key


class BlobStore(ABC):
    """What the service and the workers may do with blobs. Every method takes a key as above."""

    #: True when a call costs a network round trip (callers on an event loop move it to a thread)
    remote: bool = False

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the blobs are, for people: a directory or ``s3://bucket/prefix at endpoint``."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Write (or replace) a blob; readers see the old or the new bytes, never a mix."""

    @abstractmethod
    def put_new(self, key: str, data: bytes) -> None:
        """Write a blob under a key nobody uses yet; `FileExistsError` if it exists."""

    @abstractmethod
    def put_stream(self, key: str, stream: IO[bytes]) -> int:
        """Write a blob from a readable binary stream (in parts when large); returns its size."""

    def put_file(self, key: str, src: Path) -> int:
        with open(src, "rb") as fh:
            return self.put_stream(key, fh)

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The blob's bytes; `FileNotFoundError` if there is none."""

    @abstractmethod
    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (a blob inside a pack file); a short read is an error."""

    @abstractmethod
    def iter_chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The blob in pieces (streamed downloads); opened at once, so a missing key raises here."""

    @abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes; `FileNotFoundError` if there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove a blob; removing one that is gone is fine."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under ``prefix/`` (a project's)."""

    @abstractmethod
    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key (under ``prefix/`` when given), sorted."""

    def sweep_temp(self) -> int:
        """Remove what crashed writes left behind; returns how many. Nothing to do on S3."""
        return 0

    def presigned_url(self, key: str, *, filename: str, expires_s: int) -> str | None:
        """A URL that downloads the blob without this server (None: the backend has none)."""
        return None

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """A real file holding the blob, for tools that want a path (valid inside the block)."""
        with tempfile.TemporaryDirectory(prefix="tinyforge-blob-") as tmp:
            dest = Path(tmp) / PurePosixPath(check_key(key)).name
            with open(dest, "wb") as fh:
                for chunk in self.iter_chunks(key):
                    fh.write(chunk)
            yield dest


# --- a local directory --------------------------------------------------------------------------


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self._root = str(self.root)
        self._dirs: set[str] = set()

    @property
    def location(self) -> str:
        return f"local directory {self.root}"

    def path(self, key: str) -> Path:
        rel = PurePosixPath(key)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or "\\" in key:
            raise ValueError(f"invalid blob key {key!r}")
        return self.root.joinpath(*rel.parts)

    def put(self, key: str, data: bytes) -> None:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_new(self, key: str, data: bytes) -> None:
        """No temporary file and rename: nothing can read the key before the row naming it commits,
        and a crash mid-write leaves an unreferenced file rather than a visible half blob."""
        # plain string paths: this runs once per ingested sample, and pathlib costs more than the
        # write
        check_key(key)
        dest = f"{self._root}/{key}"
        parent = dest.rpartition("/")[0]
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        try:
            _write_new(dest, data)
        except FileNotFoundError:  # the folder was removed meanwhile (project deleted): recreate it
            os.makedirs(parent, exist_ok=True)
            _write_new(dest, data)

    def put_stream(self, key: str, stream: IO[bytes]) -> int:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                shutil.copyfileobj(stream, fh, CHUNK_BYTES)
                size = fh.tell()
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        with open(self.path(key), "rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
        if len(data) != length:
            raise OSError(f"blob {key!r} holds no {length} bytes at offset {offset} (truncated?)")
        return data

    def iter_chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        fh = open(self.path(key), "rb")

        def chunks() -> Iterator[bytes]:
            with fh:
                while block := fh.read(chunk_bytes):
                    yield block

        return chunks()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        target = self.path(prefix)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        top = self.path(prefix) if prefix else self.root
        if not top.is_dir():
            return
        for p in sorted(top.rglob("*")):
            if p.is_file() and not p.name.startswith(".tmp-"):
                yield p.relative_to(self.root).as_posix()

    def sweep_temp(self) -> int:
        n = 0
        if self.root.exists():
            for p in self.root.rglob(".tmp-*"):
                p.unlink(missing_ok=True)
                n += 1
        return n

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no blob {key!r} in {self.root}")
        yield path


def _write_new(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        view, done = memoryview(data), 0
        while done < len(view):
            done += os.write(fd, view[done:])
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)


# --- S3-compatible object storage ---------------------------------------------------------------


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix")."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise StorageError(f"TINYFORGE_STORAGE_URL {url!r} is not of the form s3://bucket/prefix")
    bucket = parsed.netloc
    if not (3 <= len(bucket) <= 63) or not all(c.isalnum() or c in "-." for c in bucket):
        raise StorageError(
            f"{bucket!r} is not a valid bucket name (3-63 letters, digits, '-' and '.')"
        )
    prefix = parsed.path.strip("/")
    if prefix:
        check_key(prefix)
    return bucket, prefix


class S3BlobStore(BlobStore):
    remote = True

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        multipart_threshold_bytes: int = 16 * 1024 * 1024,
        part_bytes: int = 8 * 1024 * 1024,
        connect_timeout_s: float = 5.0,
        max_attempts: int = 3,
    ):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        config = Config(
            connect_timeout=connect_timeout_s,
            read_timeout=120,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=32,
            # MinIO and other self-hosted servers answer on one host name: bucket in the path
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            signature_version="s3v4",
        )
        session = boto3.session.Session(region_name=region or None)
        self.client: Any = session.client("s3", endpoint_url=self.endpoint_url, config=config)
        self.multipart_threshold_bytes = max(MIN_PART_BYTES, multipart_threshold_bytes)
        self._transfer = TransferConfig(
            multipart_threshold=self.multipart_threshold_bytes,
            multipart_chunksize=max(MIN_PART_BYTES, part_bytes),
            max_concurrency=4,
            use_threads=True,
        )

    @property
    def location(self) -> str:
        where = self.endpoint_url or f"AWS ({self.client.meta.region_name})"
        return f"s3://{self.bucket}/{self.prefix} at {where}"

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _strip(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    def put(self, key: str, data: bytes) -> None:
        if len(data) >= self.multipart_threshold_bytes:
            self.put_stream(key, io.BytesIO(data))
            return
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_new(self, key: str, data: bytes) -> None:
        # a conditional PUT (If-None-Match: *) refuses an existing key, as O_EXCL does on disk
        if len(data) >= self.multipart_threshold_bytes:
            if self.exists(key):
                raise FileExistsError(f"blob {key!r} exists")
            self.put_stream(key, io.BytesIO(data))
            return
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*"
            )
        except self.client.exceptions.ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise FileExistsError(f"blob {key!r} exists") from exc
            raise

    def put_stream(self, key: str, stream: IO[bytes]) -> int:
        counted = _CountingReader(stream)
        # boto3's managed transfer: one PUT below the threshold, a multipart upload above it
        self.client.upload_fileobj(counted, self.bucket, self._key(key), Config=self._transfer)
        return counted.count

    def get(self, key: str) -> bytes:
        return self._get_object(key)["Body"].read()

    def _get_object(self, key: str, **kw: Any) -> dict:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key), **kw)
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(f"no blob {key!r} in {self.location}") from exc

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        if length == 0:
            return b""
        data = self._get_object(key, Range=f"bytes={offset}-{offset + length - 1}")["Body"].read()
        if len(data) != length:
            raise OSError(f"blob {key!r} holds no {length} bytes at offset {offset} (truncated?)")
        return data

    def iter_chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        body = self._get_object(key)["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(chunk_bytes)
            finally:
                body.close()

        return chunks()

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(f"no blob {key!r} in {self.location}")
        return int(head["ContentLength"])

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        batch: list[dict[str, str]] = []
        for full in self._list(self._key(prefix).rstrip("/") + "/"):
            batch.append({"Key": full})
            if len(batch) == 1000:
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)

    def _delete_batch(self, batch: list[dict[str, str]]) -> None:
        self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def _list(self, full_prefix: str) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=full_prefix
        )
        for page in pages:
            for obj in page.get("Contents", ()):
                yield obj["Key"]

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        if prefix:
            full = self._key(prefix).rstrip("/") + "/"
        else:
            full = f"{self.prefix}/" if self.prefix else ""
        return iter(sorted(self._strip(k) for k in self._list(full)))

    def presigned_url(self, key: str, *, filename: str, expires_s: int) -> str | None:
        safe = filename.replace('"', "")
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": f'attachment; filename="{safe}"',
            },
            ExpiresIn=expires_s,
        )


class _CountingReader(io.RawIOBase):
    """A read-only stream that counts what passed through (the size of a streamed upload)."""

    def __init__(self, inner: IO[bytes]):
        self._inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self.count += len(data)
        return data

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


# --- choosing the backend ----------------------------------------------------------------------

_s3_stores: dict[tuple, S3BlobStore] = {}
_s3_lock = threading.Lock()


def get_store(settings: Settings | None = None) -> BlobStore:
    """The store the settings name: S3 for ``TINYFORGE_STORAGE_URL=s3://...``, else the directory.

    An S3 store (its HTTP connection pool) is made once per process and configuration.
    """
    from app.core.config import get_settings

    settings = settings or get_settings()
    url = settings.storage_url
    if not url or url.startswith("file://"):
        assert settings.storage_dir is not None  # the settings fill it in
        return LocalBlobStore(settings.storage_dir)
    bucket, prefix = parse_s3_url(url)
    cache_key = (
        os.getpid(),  # a forked worker must not reuse its parent's connections
        bucket,
        prefix,
        settings.s3_endpoint_url,
        settings.s3_multipart_threshold_bytes,
        os.environ.get("AWS_ACCESS_KEY_ID"),
        os.environ.get("AWS_DEFAULT_REGION"),
    )
    with _s3_lock:
        store = _s3_stores.get(cache_key)
        if store is None:
            store = _s3_stores[cache_key] = S3BlobStore(
                bucket,
                prefix,
                endpoint_url=settings.s3_endpoint_url or None,
                multipart_threshold_bytes=settings.s3_multipart_threshold_bytes,
            )
    return store


def check_store(store: BlobStore) -> str:
    """Write, read back and delete a probe blob; returns what was done or raises `StorageError`
    naming the problem (credentials, bucket, endpoint, permissions)."""
    import uuid

    key = f".tinyforge-check/{uuid.uuid4().hex}"
    probe = os.urandom(64)
    try:
        store.put(key, probe)
        back = store.get(key)
        store.delete(key)
        gone = not store.exists(key)
    except Exception as exc:
        raise StorageError(explain_storage_error(exc, store)) from exc
    if back != probe:
        raise StorageError(f"{store.location}: the probe read back differs from what was written")
    if not gone:
        raise StorageError(f"{store.location}: the probe is still there after deleting it")
    return f"wrote, read back and deleted {len(probe)} bytes at {key}"


def explain_storage_error(exc: Exception, store: BlobStore) -> str:
    where = store.location
    code = _code(exc)
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId"):
        return (
            f"{where}: the credentials were refused ({code}): check AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        )
    if code in ("NoSuchBucket",):
        bucket = getattr(store, "bucket", "?")
        return f"{where}: the bucket {bucket!r} does not exist: create it first ({code})"
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return f"{where}: access denied ({code}): the credentials may not read/write this bucket"
    name = type(exc).__name__
    if name == "NoCredentialsError":
        return f"{where}: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        return f"{where}: cannot reach the endpoint ({exc}): check TINYFORGE_S3_ENDPOINT_URL"
    if isinstance(exc, PermissionError):
        return f"{where}: permission denied ({exc})"
    if isinstance(exc, OSError):
        return f"{where}: {exc.strerror or exc}"
    return f"{where}: {name}: {exc}"
