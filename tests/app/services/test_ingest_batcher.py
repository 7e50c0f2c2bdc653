"""IngestBatcher: concurrent requests share transactions; one bad request cannot sink the others."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from app.core.db import session_factory
from app.models import Sample
from app.services.ingest_batcher import IngestBatcher, _SessionWriter
from app.services.ingest_pg import PgBatchWriter
from tests.app.services.test_samples import _pending


def _run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_are_grouped_and_each_gets_its_own_results(
    backend, settings, session, make_project
):
    p = make_project("p")
    batcher = IngestBatcher(settings, writers=1)
    transactions, kinds = [], []
    new_writer = batcher._new_writer

    def counting_writer():
        writer = new_writer()
        kinds.append(type(writer))
        write = writer.write
        writer.write = lambda items: transactions.append(len(items)) or write(items)
        return writer

    batcher._new_writer = counting_writer
    requests = [
        [_pending(p.project.id, 10 * r + k, device=f"d{r % 3}") for k in range(1 + r % 3)]
        for r in range(30)
    ]

    async def go():
        try:
            return await asyncio.gather(*(batcher.submit(items) for items in requests))
        finally:
            await batcher.close()

    results = _run(go())
    # PostgreSQL is written from the event loop; other databases through a session in a worker
    # thread
    assert kinds == [PgBatchWriter if backend == "postgresql" else _SessionWriter]
    assert [len(r) for r in results] == [len(items) for items in requests]
    rows = {s.id: s.filename for s in session.scalars(select(Sample))}
    assert len(rows) == sum(len(items) for items in requests)
    for items, res in zip(requests, results, strict=True):
        assert [rows[r.sample_id] for r in res] == [it.filename for it in items]
    # 30 requests (60 items) arrived together: the first goes alone, the rest share few transactions
    assert sum(transactions) == 60 and len(transactions) <= 3, transactions


def test_a_failing_request_is_retried_alone_and_only_it_fails(settings, session, make_project):
    p = make_project("p")
    batcher = IngestBatcher(settings, writers=1)
    good = [[_pending(p.project.id, i, device="d")] for i in range(6)]
    bad = [_pending(p.project.id, 99, device="d")]
    bad[0].project_id = 10**9  # no such project: the foreign key refuses the row

    async def go():
        try:
            return await asyncio.gather(
                *(batcher.submit(items) for items in [*good[:3], bad, *good[3:]]),
                return_exceptions=True,
            )
        finally:
            await batcher.close()

    outcomes = _run(go())
    assert isinstance(outcomes[3], Exception)
    assert all(isinstance(o, list) and o[0].success for i, o in enumerate(outcomes) if i != 3)
    assert session.scalar(select(func.count()).select_from(Sample)) == 6
    store_keys = {s.blob_key for s in session.scalars(select(Sample))}
    from app.core.storage import get_store

    assert set(get_store(settings).iter_keys()) == store_keys  # the failed batch's blobs are gone


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_dropped_database_connection_is_reopened(settings, session, make_project):
    """The server ends the writer's connection between batches (restart, idle timeout): the next
    batch, even of one request, lands on a new connection."""
    p = make_project("p")
    batcher = IngestBatcher(settings, writers=1)

    async def go():
        try:
            first = await batcher.submit([_pending(p.project.id, 1, device="d")])
            pid = batcher._open[0]._conn.info.backend_pid
            with session_factory(settings)() as s:
                s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await asyncio.sleep(0.2)
            second = [await batcher.submit([_pending(p.project.id, i, device="d")]) for i in (2, 3)]
            return first, second, batcher._open[0]._conn.info.backend_pid != pid
        finally:
            await batcher.close()

    first, second, reconnected = _run(go())
    assert first[0].success and all(r[0].success for r in second) and reconnected
    assert session.scalar(select(func.count()).select_from(Sample)) == 3
