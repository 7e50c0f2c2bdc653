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
        self._dirs: set[Path] = set()

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
        dest = self.path(key)
        parent = dest.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        try:
            with open(dest, "xb") as fh:
                fh.write(data)
        except FileNotFoundError:  # the folder was removed meanwhile (project deleted): recreate it
            parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "xb") as fh:
                fh.write(data)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest

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


def get_store(settings=None) -> BlobStore:  # noqa: ANN001
    from app.core.config import get_settings

    settings = settings or get_settings()
    return BlobStore(settings.storage_dir)
