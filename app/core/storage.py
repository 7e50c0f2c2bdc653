"""Blob store on a local (or shared) file system.

Keys are relative POSIX paths made by the service (never from user input). Writes go to a
temporary file in the same folder and are renamed into place, so a reader never sees half a blob
and a crash leaves only a ``.tmp-*`` file that ``sweep_temp`` removes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath


class BlobStore:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self._root = str(self.root)
        self._dirs: set[str] = set()

    def path(self, key: str) -> Path:
        rel = PurePosixPath(key)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"invalid blob key {key!r}")
        return self.root.joinpath(*rel.parts)

    def put(self, key: str, data: bytes) -> Path:
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
        return dest

    def put_new(self, key: str, data: bytes) -> Path:
        """Write a blob under a key that is new (unique, not yet referenced by any row).

        No temporary file and rename: nothing can read the key before the row naming it commits, and
        a crash mid-write leaves an unreferenced file rather than a visible half blob.
        """
        # plain string paths: this runs once per ingested sample, and pathlib costs more than the
        # write
        if key.startswith("/") or ".." in key.split("/") or not key:
            raise ValueError(f"invalid blob key {key!r}")
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
        return Path(dest)

    def put_file(self, key: str, src: Path) -> Path:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return dest

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (a blob inside a pack file); a short read is an error."""
        with open(self.path(key), "rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
        if len(data) != length:
            raise OSError(f"blob {key!r} holds no {length} bytes at offset {offset} (truncated?)")
        return data

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        target = self.path(prefix)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)

    def iter_keys(self) -> Iterator[str]:
        if not self.root.exists():
            return
        for p in sorted(self.root.rglob("*")):
            if p.is_file() and not p.name.startswith(".tmp-"):
                yield p.relative_to(self.root).as_posix()

    def sweep_temp(self) -> int:
        n = 0
        if self.root.exists():
            for p in self.root.rglob(".tmp-*"):
                p.unlink(missing_ok=True)
                n += 1
        return n


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


def get_store(settings=None) -> BlobStore:
    from app.core.config import get_settings

    settings = settings or get_settings()
    return BlobStore(settings.blob_dir)
