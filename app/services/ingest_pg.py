"""Store ingestion batches on PostgreSQL from the event loop: an asyncio psycopg connection, no threads.

The same steps as `samples.store_batch` (duplicates, one device upsert, one sample insert, blobs
removed again when the transaction fails), with the statements SQLAlchemy compiles from the same
table definitions, sent with psycopg's pipelined `executemany`. Handing each batch to a worker
thread cost more than writing it: the thread hops and the GIL contention with the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
import psycopg
from sqlalchemy import ARRAY, JSON, String, any_, bindparam, insert, select
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.engine import make_url

from app.core.storage import BlobStore
from app.models import Sample
from app.models.base import utcnow
from app.services.samples import (
    FileResult,
    PendingSample,
    _device_upsert,
    device_params,
    duplicate_queries,
    reject_duplicates,
    sample_row,
)

log = logging.getLogger("tinyforge.ingest")

_JSON_COLUMNS = tuple(c.name for c in Sample.__table__.columns if isinstance(c.type, JSON))


def _compile(stmt, keys: Sequence[str] | None = None) -> tuple[str, dict[str, Any]]:  # noqa: ANN001
    """SQL text with %(name)s placeholders, and the values of the statement's own constants."""
    compiled = stmt.compile(dialect=pg_psycopg.dialect(), column_keys=list(keys) if keys else None)
    return compiled.string, dict(compiled.params)


_SAMPLE_KEYS = [c.name for c in Sample.__table__.columns if c.name != "id"]
_SAMPLE_INSERT, _ = _compile(insert(Sample.__table__).returning(Sample.__table__.c.id), _SAMPLE_KEYS)
_DEVICE_UPSERT, _DEVICE_CONSTANTS = _compile(_device_upsert("postgresql"))
_EXISTING, _ = _compile(select(Sample.content_hash).where(
    Sample.project_id == bindparam("pid"), Sample.content_hash == any_(bindparam("hashes", type_=ARRAY(String)))))


def conninfo(database_url: str) -> str:
    """libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def is_postgresql_psycopg(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg"


class PgBatchWriter:
    """One asyncio connection; `write` stores a batch in one transaction (use from one task at a time)."""

    def __init__(self, database_url: str, store: BlobStore):
        self._conninfo = conninfo(database_url)
        self._store = store
        self._conn: psycopg.AsyncConnection | None = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _begin(self) -> psycopg.AsyncConnection:
        """An open connection inside a new transaction. A connection the server dropped while it sat
        idle (restart, idle timeout) is replaced: nothing was sent on it yet, so retrying is safe."""
        conn = await self._connection()
        try:
            await conn.execute("BEGIN")
        except psycopg.OperationalError:
            log.warning("the ingestion database connection was lost; reconnecting")
            self._conn = None
            conn = await self._connection()
            await conn.execute("BEGIN")
        return conn

    async def write(self, items: Sequence[PendingSample]) -> list[FileResult]:
        conn = await self._begin()
        written: list[str] = []
        try:
            async with conn.cursor() as cur:
                existing: set[tuple[int, str]] = set()
                for pid, hashes in duplicate_queries(items).items():
                    await cur.execute(_EXISTING, {"pid": pid, "hashes": sorted(hashes)})
                    existing |= {(pid, h) for (h,) in await cur.fetchall()}
                results, keep = reject_duplicates(items, existing)
                ids: list[int] = []
                if keep:
                    kept = [items[i] for i in keep]
                    now = utcnow()
                    devices = {}
                    if params := device_params(kept, now):
                        await cur.executemany(_DEVICE_UPSERT, [{**_DEVICE_CONSTANTS, **p} for p in params],
                                              returning=True)
                        devices = {(pid, name): device_id for pid, name, device_id in await _all_results(cur)}
                    rows = []
                    for it in kept:
                        row = sample_row(it, devices, now)
                        for col in _JSON_COLUMNS:
                            row[col] = orjson.dumps(row[col]).decode()
                        self._store.put_new(row["blob_key"], it.raw)
                        written.append(row["blob_key"])
                        rows.append(row)
                    await cur.executemany(_SAMPLE_INSERT, rows, returning=True)
                    ids = [sample_id for (sample_id,) in await _all_results(cur)]
            await conn.execute("COMMIT")
        except BaseException:
            for key in written:  # the rows never landed: neither do their blobs
                self._store.delete(key)
            if not conn.broken:
                try:
                    await conn.execute("ROLLBACK")
                except psycopg.Error:
                    self._conn = None
            raise
        for i, sample_id in zip(keep, ids, strict=True):
            results[i] = FileResult(file_name=items[i].filename, success=True, sample_id=sample_id)
        return [r for r in results if r is not None]


async def _all_results(cur: psycopg.AsyncCursor) -> list[tuple]:
    """The rows returned by every statement of an `executemany(..., returning=True)`, in order."""
    out = []
    while True:
        out.extend(await cur.fetchall())
        if not cur.nextset():
            return out
