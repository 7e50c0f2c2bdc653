"""Group concurrent ingestion requests into shared transactions.

Every ingested sample needs a commit, and a commit waits for the database's disk flush. Requests
arriving while a batch is being written queue up and go into the next batch together, so one
flush serves many samples; each request still gets its own per-file results. If a batch fails as a
whole, its requests are retried one by one so that one bad request cannot sink the others.

On PostgreSQL (psycopg) the batches are written from the event loop on asyncio connections
(`ingest_pg`); on other databases by `samples.store_batch` in a worker thread.

Project API keys are resolved through a small cache (entries live `ttl_s` seconds, so a revoked
key stops working within that time) so that a request costs no database round trip of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi.concurrency import run_in_threadpool

from app.core.config import Settings
from app.core.db import session_factory
from app.core.security import hash_api_key
from app.core.storage import BlobStore, get_store
from app.services import projects as project_service
from app.services.ingest_pg import PgBatchWriter, is_postgresql_psycopg
from app.services.samples import FileResult, PendingSample, store_batch

log = logging.getLogger("tinyforge.ingest")


@dataclass(frozen=True)
class ProjectAuth:
    project_id: int
    require_signed_data: bool
    hmac_keys: tuple[str, ...]


class ApiKeyCache:
    def __init__(self, settings: Settings, ttl_s: float = 2.0):
        self._factory = session_factory(settings)
        self._ttl = ttl_s
        self._entries: dict[str, tuple[float, ProjectAuth | None]] = {}

    def clear(self) -> None:
        """Forget every entry (after a project's keys or signing rule change in this process)."""
        self._entries.clear()

    def cached(self, api_key: str) -> tuple[bool, ProjectAuth | None]:
        """(True, auth) when the key's entry is fresh: no database round trip needed."""
        hit = self._entries.get(hash_api_key(api_key))
        if hit and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def lookup(self, api_key: str) -> ProjectAuth | None:
        digest = hash_api_key(api_key)
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit and hit[0] > now:
            return hit[1]
        with self._factory() as session:
            project = project_service.project_for_api_key(session, api_key)
            auth = (
                None
                if project is None
                else ProjectAuth(
                    project.id,
                    project.require_signed_data,
                    tuple(project_service.hmac_keys(session, project.id)),
                )
            )
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[digest] = (now + self._ttl, auth)
        return auth


@dataclass
class _Request:
    items: Sequence[PendingSample]
    future: asyncio.Future = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _SessionWriter:
    """Any SQLAlchemy backend (SQLite by default): `store_batch` in a worker thread."""

    def __init__(self, settings: Settings, store: BlobStore):
        self._factory = session_factory(settings)
        self._store = store

    async def write(self, items: Sequence[PendingSample]) -> list[FileResult]:
        return await run_in_threadpool(self._write, items)

    def _write(self, items: Sequence[PendingSample]) -> list[FileResult]:
        with self._factory() as session:
            results = store_batch(session, self._store, items)
            session.commit()
        return results

    async def close(self) -> None:
        pass


class IngestBatcher:
    def __init__(self, settings: Settings, *, max_items: int = 256, writers: int = 1):
        self._settings = settings
        self._store = get_store(settings)
        self._max_items = max_items
        self._writers = writers
        self._queue: asyncio.Queue[_Request] | None = None
        self._tasks: list[asyncio.Task] = []
        self._open: list = []

    def _new_writer(self):
        if is_postgresql_psycopg(self._settings.database_url):
            return PgBatchWriter(self._settings.database_url, self._store)
        return _SessionWriter(self._settings, self._store)

    def _ensure_started(self) -> asyncio.Queue[_Request]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._open = [self._new_writer() for _ in range(self._writers)]
            self._tasks = [
                asyncio.create_task(self._run(w), name=f"ingest-writer-{i}")
                for i, w in enumerate(self._open)
            ]
        return self._queue

    async def submit(self, items: Sequence[PendingSample]) -> list[FileResult]:
        if not items:
            return []
        request = _Request(items)
        self._ensure_started().put_nowait(request)
        return await request.future

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        for writer in self._open:
            await writer.close()
        self._tasks, self._queue, self._open = [], None, []

    async def _run(self, writer) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            count = len(batch[0].items)
            while count < self._max_items and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                count += len(batch[-1].items)
            try:
                outcomes = await self._write(writer, batch)
            except Exception as exc:  # never leave a request waiting
                log.exception("ingestion batch failed")
                outcomes = [exc] * len(batch)
            for request, outcome in zip(batch, outcomes, strict=True):
                if request.future.done():
                    continue
                if isinstance(outcome, Exception):
                    request.future.set_exception(outcome)
                else:
                    request.future.set_result(outcome)

    async def _write(self, writer, batch: list[_Request]) -> list[list[FileResult] | Exception]:
        try:
            results = await writer.write([it for request in batch for it in request.items])
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
            log.warning(
                "ingestion batch of %d requests failed; retrying them one by one",
                len(batch),
                exc_info=True,
            )
            outcomes: list[list[FileResult] | Exception] = []
            for request in batch:
                try:
                    outcomes.append(await writer.write(request.items))
                except Exception as one:
                    outcomes.append(one)
            return outcomes
        out, pos = [], 0
        for request in batch:
            out.append(results[pos : pos + len(request.items)])
            pos += len(request.items)
        return out
