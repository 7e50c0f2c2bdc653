"""The PostgreSQL batch writer stores exactly what `samples.store_batch` stores."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from app.models import Device, Sample
from app.services.ingest_pg import WRITTEN_COLUMNS, PgBatchWriter
from app.services.samples import store_batch
from tests.app.services.test_samples import _pending


def test_every_sample_column_is_written():
    assert {c.name for c in Sample.__table__.columns} - {"id"} == WRITTEN_COLUMNS


def _items(project_id: int, seed: int) -> list:
    items = [
        _pending(project_id, seed + i, device=f"dev-{i % 3}", device_type=f"type-{i % 2}")
        for i in range(5)
    ]
    items.append(_pending(project_id, seed + 9, device=""))  # no device
    items[1].metadata = {"site": "ø", "n": "1"}
    items[2].category, items[2].label = "testing", ""
    return items


def _rows(session, project_id: int) -> tuple[list, dict]:
    devices = {
        d.id: d for d in session.scalars(select(Device).where(Device.project_id == project_id))
    }
    samples = []
    for s in session.scalars(
        select(Sample).where(Sample.project_id == project_id).order_by(Sample.filename)
    ):
        row = {c.name: getattr(s, c.key) for c in Sample.__mapper__.columns}
        row["device"] = devices[row.pop("device_id")].name if row["device_id"] is not None else None
        for volatile in ("id", "project_id", "blob_key", "created_at", "updated_at"):
            row.pop(volatile)
        samples.append(row)
    return samples, {(d.name, d.device_type, d.samples_count) for d in devices.values()}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_same_rows_and_devices_as_store_batch(settings, session, store, make_project):
    a, b = make_project("a"), make_project("b")
    for round_ in range(2):  # the second round updates the devices the first created
        store_batch(session, store, _items(a.project.id, 100 * round_))
        session.commit()

        async def write(items):
            writer = PgBatchWriter(settings.database_url, store)
            try:
                return await writer.write(items)
            finally:
                await writer.close()

        results = asyncio.run(write(_items(b.project.id, 100 * round_)))
        assert all(r.success for r in results)
    session.expire_all()
    rows_a, devices_a = _rows(session, a.project.id)
    rows_b, devices_b = _rows(session, b.project.id)
    assert len(rows_a) == 12 and rows_a == rows_b
    assert (
        devices_a
        == devices_b
        == {("dev-0", "type-1", 4), ("dev-1", "type-0", 4), ("dev-2", "type-0", 2)}
    )
    for s in session.scalars(select(Sample).where(Sample.project_id == b.project.id)):
        assert store.get(s.blob_key)  # every row's blob is there


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_files_are_kept_when_the_connection_dies_mid_batch(
    settings, store, make_project, monkeypatch
):
    """If the server goes away while the batch statement runs, the rows may or may not have landed:
    the writer keeps the files (an unreferenced file is harmless, a row without its file is not)."""
    import psycopg

    from app.services import ingest_pg

    p = make_project("p")
    monkeypatch.setattr(ingest_pg, "_BATCH", "SELECT pg_terminate_backend(pg_backend_pid())")

    async def write():
        writer = PgBatchWriter(settings.database_url, store)
        try:
            return await writer.write([_pending(p.project.id, i, device="d") for i in range(3)])
        finally:
            await writer.close()

    with pytest.raises(psycopg.OperationalError):
        asyncio.run(write())
    assert len(list(store.iter_keys())) == 1  # the batch's pack file is still there
