"""The embedded filesystem broker: atomic puts, exclusive claims, bad messages set aside, a worker
that survives.

Kombu's stock transport fails `test_many_producers_and_consumers_lose_nothing` (a consumer reads a
message file its producer has created but not yet written: JSONDecodeError, message lost).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

import pytest
from kombu import Connection

from workers.broker import Transport, is_message_for, message_name


def _options(root: Path) -> dict:
    for sub in ("queue", "processed", "control"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "processed_folder": str(root / "processed"),
        "control_folder": str(root / "control"),
        "bad_folder": str(root / "bad"),
        "polling_interval": 0.001,
    }


def _connection(root: Path) -> Connection:
    return Connection("filesystem://", transport=Transport, transport_options=_options(root))


def _produce(root: Path, producer: int, count: int, pad: int) -> None:
    with _connection(root) as conn:
        queue = conn.SimpleQueue("default")
        for k in range(count):
            queue.put({"producer": producer, "k": k, "pad": "x" * pad})


def _consume(root: Path, out, producers_done, idle_s: float) -> None:
    """Drain until the producers have finished and the queue has stayed empty for `idle_s`.

    The idle clock starts only once the producers are done: under load, spawning a producer can
    take longer than any fixed idle time, and a consumer that gave up early left messages behind.
    """
    errors = 0
    deadline = time.monotonic() + 300
    with _connection(root) as conn:
        queue = conn.SimpleQueue("default")
        last = time.monotonic()
        while time.monotonic() < deadline:
            if not producers_done.is_set():
                last = time.monotonic()
            elif time.monotonic() - last >= idle_s:
                break
            try:
                message = queue.get(timeout=0.2)
            except queue.Empty:
                continue
            except Exception as exc:  # what the stock transport raises mid-write
                errors += 1
                out.put(("error", repr(exc)[:200]))
                continue
            message.ack()
            last = time.monotonic()
            out.put((message.payload["producer"], message.payload["k"]))
    out.put(("done", errors))


def test_message_names_sort_by_time_and_match_their_queue():
    a, b = message_name("dsp"), message_name("dsp")
    assert a < b and is_message_for(a, "dsp") and not is_message_for(a, "default")
    assert not is_message_for(".incoming-" + a, "dsp"), "a message being written is never claimed"


def test_many_producers_and_consumers_lose_nothing(tmp_path):
    """4 producer processes × 300 messages of 20 kB while 2 consumer processes drain the queue."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    producers_done = ctx.Event()
    consumers = [
        ctx.Process(target=_consume, args=(tmp_path, out, producers_done, 1.0)) for _ in range(2)
    ]
    producers = [ctx.Process(target=_produce, args=(tmp_path, i, 300, 20_000)) for i in range(4)]
    for p in consumers + producers:
        p.start()
    for p in producers:
        p.join(timeout=240)
    assert [p.exitcode for p in producers] == [0] * 4, "every producer put all its messages"
    producers_done.set()
    results = []  # read while the consumers run: a child blocks on exit until its queue is drained
    while len([r for r in results if r[0] == "done"]) < 2:
        results.append(out.get(timeout=60))
    for p in consumers:
        p.join(timeout=30)
    received = [r for r in results if r[0] not in ("done", "error")]
    errors = [r for r in results if r[0] == "error"]
    assert errors == []
    assert len(received) == 1200 and len(set(received)) == 1200, "each message exactly once"
    assert not any(is_message_for(f, "default") for f in os.listdir(tmp_path / "queue"))
    assert os.listdir(tmp_path / "processed") == [], "claimed messages are deleted once read"


def test_a_bad_message_is_set_aside_and_the_next_one_delivered(tmp_path, caplog):
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("default")
        queue_dir = tmp_path / "queue"
        (queue_dir / f"{0:020d}_empty.default.msg").write_bytes(
            b""
        )  # what a half-written file looked like
        (queue_dir / f"{1:020d}_junk.default.msg").write_bytes(b"\x00not json")
        (queue_dir / f"{2:020d}_list.default.msg").write_bytes(b"[1, 2]")
        queue.put({"hello": "world"})
        with caplog.at_level("ERROR", logger="tinyforge.broker"):
            message = queue.get(timeout=2)
        assert message.payload == {"hello": "world"}
        message.ack()
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.3)
    assert sorted(os.listdir(tmp_path / "bad")) == [
        f"{0:020d}_empty.default.msg",
        f"{1:020d}_junk.default.msg",
        f"{2:020d}_list.default.msg",
    ]
    assert sum("moved aside" in r.getMessage() for r in caplog.records) == 3


def test_size_and_purge_ignore_messages_being_written(tmp_path):
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("default")
        queue.put({"a": 1})
        queue.put({"a": 2})
        (tmp_path / "queue" / (".incoming-" + message_name("default"))).write_bytes(b"{")
        assert queue.qsize() == 2
        assert queue.clear() == 2
        assert queue.qsize() == 0


def test_each_folder_keeps_its_own_bindings_and_survives_a_lost_table(tmp_path):
    for name in (
        "one",
        "two",
    ):  # kombu's one-state-per-process dropped the second folder's messages
        with _connection(tmp_path / name) as conn:
            queue = conn.SimpleQueue("default")
            queue.put({"folder": name})
            for f in (tmp_path / name / "control").iterdir():
                f.unlink()
            queue.put({"folder": name, "after": "table removed"})
            assert queue.qsize() == 2


# --- a real worker under load ---------------------------------------------------------------------


def _queue_jobs(settings, project_id: int, count: int) -> None:
    from app.core.db import session_scope
    from app.services import jobs as job_service
    from workers.celery_app import celery_for

    for _ in range(count):
        with session_scope(settings) as session:
            job_service.queue_job(session, celery_for(settings), project_id, "wait", {"seconds": 0})


@pytest.mark.worker
def test_a_worker_consumes_every_job_from_many_producers_and_survives_bad_messages(
    settings, make_project, start_worker
):
    """3 producer processes queue 40 jobs each while a real worker runs them; junk lands in the
    queue."""
    from sqlalchemy import func, select

    from app.core.db import session_scope
    from app.models import Job

    worker = start_worker()
    project = make_project()
    ctx = mp.get_context("spawn")
    producers = [
        ctx.Process(target=_queue_jobs, args=(settings, project.project.id, 40)) for _ in range(3)
    ]
    for p in producers:
        p.start()
    junk = None
    if settings.broker_url.startswith("filesystem"):
        junk = settings.broker_dir / "queue" / f"{0:020d}_junk.default.msg"
        junk.write_bytes(b"")  # a message file as the stock transport's readers could see it
    for p in producers:
        p.join(timeout=120)
        assert p.exitcode == 0
    # a stalled queue fails the test, a slow machine does not: give up after 120 s without progress
    stalled_since, done = time.monotonic(), -1
    while time.monotonic() - stalled_since < 120:
        with session_scope(settings) as session:
            counts = dict(
                session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
            )
        if counts.get("succeeded", 0) == 120 or worker.proc.poll() is not None:
            break
        if counts.get("succeeded", 0) != done:
            stalled_since, done = time.monotonic(), counts.get("succeeded", 0)
        time.sleep(0.5)
    assert worker.proc.poll() is None, "the worker exited:\n" + worker.log()[-3000:]
    assert counts == {"succeeded": 120}, counts
    with session_scope(settings) as session:
        assert set(session.scalars(select(Job.attempts))) == {1}
    assert "Unrecoverable error" not in worker.log()
    if junk is not None:
        assert (settings.broker_dir / "bad" / junk.name).exists()
        assert "moved aside" in worker.log()
