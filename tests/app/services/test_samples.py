"""store_batch: many samples of several projects and devices in one transaction, on both
backends."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from app.ingestion import sign_acquisition
from app.models import Device, Sample
from app.services.samples import (
    IngestOptions,
    PendingSample,
    UploadedFile,
    delete_samples,
    prepare,
    read_blob,
    store_batch,
)
from tests.app.ingestion.factories import HMAC_KEY, accel_payload


def _pending(
    project_id: int, i: int, *, device: str, device_type: str = "BOARD", **opts
) -> PendingSample:
    body = sign_acquisition(
        accel_payload(20, seed=i, device_name=device, device_type=device_type), hmac_key=HMAC_KEY
    )
    out = prepare(
        project_id,
        UploadedFile(f"walk.{i}.json", body, "application/json"),
        IngestOptions(category="training", hmac_keys=(HMAC_KEY,), **opts),
    )
    assert isinstance(out, PendingSample)
    return out


def test_one_batch_of_two_projects_and_many_devices(session, store, make_project):
    a, b = make_project("a"), make_project("b")
    items = [_pending(a.project.id, i, device=f"dev-{i % 3}") for i in range(7)]
    items += [
        _pending(b.project.id, 100 + i, device="dev-0", device_type="OTHER") for i in range(2)
    ]
    results = store_batch(session, store, items)
    session.commit()

    assert [r.success for r in results] == [True] * 9
    rows = {s.id: s for s in session.scalars(select(Sample))}
    device_of = {d.id: (d.project_id, d.name) for d in session.scalars(select(Device))}
    assert sorted(rows) == sorted(r.sample_id for r in results)
    for item, result in zip(
        items, results, strict=True
    ):  # each result names the row of its own item
        row = rows[result.sample_id]
        assert (row.project_id, row.filename, row.content_hash) == (
            item.project_id,
            item.filename,
            item.decoded.content_hash,
        )
        assert read_blob(store, row) == item.raw
        assert device_of[row.device_id] == (item.project_id, item.decoded.device_name)
    # one pack file per project for the batch: 2 files, not 9
    assert {rows[r.sample_id].blob_key.rsplit(".", 1)[1] for r in results} == {"pack"}
    assert len({rows[r.sample_id].blob_key for r in results}) == 2 == len(list(store.iter_keys()))
    devices = {
        (d.project_id, d.name): (d.device_type, d.samples_count)
        for d in session.scalars(select(Device))
    }
    assert devices == {
        (a.project.id, "dev-0"): ("BOARD", 3),
        (a.project.id, "dev-1"): ("BOARD", 2),
        (a.project.id, "dev-2"): ("BOARD", 2),
        (b.project.id, "dev-0"): ("OTHER", 2),
    }

    # a second batch counts on: the same devices, no new rows for them; a lone sample gets its own
    # file
    lone = store_batch(session, store, [_pending(a.project.id, 50, device="dev-1")])
    session.commit()
    assert session.get(Sample, lone[0].sample_id).blob_key.endswith(".json")
    assert (
        session.scalar(
            select(Device.samples_count).where(
                Device.project_id == a.project.id, Device.name == "dev-1"
            )
        )
        == 3
    )
    assert session.scalar(select(func.count()).select_from(Device)) == 4


def test_duplicates_within_a_batch_and_against_the_database(session, store, make_project):
    p = make_project("p")
    first = _pending(p.project.id, 1, device="d", disallow_duplicates=True)
    store_batch(session, store, [first])
    session.commit()
    again = _pending(p.project.id, 1, device="d", disallow_duplicates=True)
    twice = [_pending(p.project.id, 2, device="d", disallow_duplicates=True) for _ in range(2)]
    results = store_batch(session, store, [again, *twice])
    session.commit()
    assert [(r.success, r.status) for r in results] == [(False, 409), (True, 200), (False, 409)]
    assert "duplicate" in results[0].error
    assert session.scalar(select(func.count()).select_from(Sample)) == 2


def test_a_rolled_back_batch_leaves_no_blob(session, store, make_project):
    p = make_project("p")
    results = store_batch(session, store, [_pending(p.project.id, i, device="d") for i in range(3)])
    assert all(r.success for r in results)
    assert len(list(store.iter_keys())) == 1  # the batch's pack
    session.rollback()
    assert list(store.iter_keys()) == []
    assert session.scalar(select(func.count()).select_from(Sample)) == 0
    assert session.scalar(select(func.count()).select_from(Device)) == 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_concurrent_batches_on_the_same_devices_do_not_deadlock(settings, store, make_project):
    """Two transactions upserting the same devices in any order: rows are locked in sorted order."""
    import threading

    from app.core.db import session_factory

    p = make_project("p")
    factory = session_factory(settings)
    devices, rounds = 40, 25
    batches = {
        name: [
            [_pending(p.project.id, seed + 1000 * r + k, device=f"dev-{k:02d}") for k in order]
            for r in range(rounds)
        ]
        for name, seed, order in (
            ("up", 0, range(devices)),
            ("down", 500, range(devices - 1, -1, -1)),
        )
    }
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write(name: str) -> None:
        try:
            start.wait()
            for items in batches[name]:
                with factory() as s:
                    store_batch(s, store, items)
                    s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as s:
        assert sorted(s.scalars(select(Device.samples_count))) == [2 * rounds] * devices


def test_a_pack_file_stays_until_its_last_sample_is_deleted(session, store, make_project):
    p = make_project("p")
    items = [_pending(p.project.id, i, device="d") for i in range(4)]
    results = store_batch(session, store, items)
    session.commit()
    samples = [session.get(Sample, r.sample_id) for r in results]
    (pack,) = {s.blob_key for s in samples}
    assert [s.blob_offset for s in samples] == [0, *np.cumsum([len(it.raw) for it in items])[:-1]]

    delete_samples(session, store, samples[1:3])
    session.commit()
    assert store.exists(pack)
    assert [read_blob(store, s) for s in (samples[0], samples[3])] == [items[0].raw, items[3].raw]
    delete_samples(session, store, [samples[0], samples[3]])
    session.commit()
    assert not store.exists(pack) and list(store.iter_keys()) == []
