"""Job rows: queue, progress, logs, cancellation, and recovery from dead workers.

The job row is the truth about a job; Celery only carries "run job N" messages. A worker marks the
row running, beats a heartbeat while it works, and records the outcome. A job whose worker died is
found by its stale heartbeat and re-queued (up to `job_max_attempts` deliveries) or failed with the
reason. Cancellation is a flag on the row that the running job polls, so it works on every broker.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from app.core.db import on_commit
from app.models import FINISHED, Job, JobLog, WorkerHeartbeat
from app.models.base import utcnow
from app.services.errors import BadRequest, NotFound, TooMany
from workers.queues import JOB_KINDS

MAX_LOG_LINE = 4000
log = logging.getLogger("tinyforge.jobs")


class TaskSender(Protocol):
    """What sends a "run job N" message: a Celery app
    (`workers.celery_app.celery_for(settings)`)."""

    def send_task(self, name: str, args: Any = None, *, queue: str, task_id: str) -> Any: ...


@dataclass(frozen=True)
class JobLimits:
    """Per project: jobs queued + running at most (more are refused with 429), and jobs whose
    messages are in the broker or running at once (the others wait in the database, oldest first,
    so the broker's FIFO queues never hold more than a few of one project's jobs)."""

    max_active: int = 20
    max_dispatched: int = 2
    retry_after_s: int = 10

    @classmethod
    def of(cls, settings: Any) -> JobLimits:
        return cls(
            max_active=settings.max_active_jobs_per_project,
            max_dispatched=settings.max_dispatched_jobs_per_project,
        )


UNLIMITED = JobLimits(max_active=1 << 62, max_dispatched=1 << 62)


class LimitedSender:
    """A TaskSender with the job limits that `queue_job` applies."""

    def __init__(self, sender: TaskSender, limits: JobLimits):
        self.sender, self.limits = sender, limits

    def send_task(self, name: str, args: Any = None, *, queue: str, task_id: str) -> Any:
        return self.sender.send_task(name, args, queue=queue, task_id=task_id)


ACTIVE = ("queued", "running")


def active_jobs(session: Session, project_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(Job.project_id == project_id, Job.status.in_(ACTIVE))
        )
        or 0
    )


def create_job(
    session: Session, project_id: int, kind: str, params: dict[str, Any] | None = None
) -> Job:
    """Add a queued job row (no message is sent: see `queue_job`)."""
    if kind not in JOB_KINDS:
        raise BadRequest(f"unknown job kind '{kind}': use one of {', '.join(sorted(JOB_KINDS))}")
    _, queue = JOB_KINDS[kind]
    job = Job(project_id=project_id, kind=kind, params=params or {}, queue=queue, status="queued")
    session.add(job)
    session.flush()
    append_log(session, job.id, f"queued {kind} job on queue '{queue}'")
    return job


def queue_job(
    session: Session,
    sender: TaskSender,
    project_id: int,
    kind: str,
    params: dict[str, Any] | None = None,
) -> Job:
    """Add the job row in the caller's transaction; once that commits, the project's oldest waiting
    jobs are handed to the broker, as many as its share allows (see `dispatch_ready`).

    A project with `max_active` jobs queued or running is refused (TooMany, 429 with Retry-After);
    the limits come with the sender (`LimitedSender`, as the web's TaskSenderDep gives it).
    A transaction that rolls back leaves neither a row nor a message, and a worker that receives the
    message always finds the row. If the broker refuses the message after the commit, the row is
    marked failed with the reason (a job must not sit "queued" forever).
    """
    # the web's sender carries the settings' limits; a bare sender (a script, a test) has none
    limits = getattr(sender, "limits", None) or UNLIMITED
    active = active_jobs(session, project_id)
    if active >= limits.max_active:
        raise TooMany(
            f"project {project_id} already has {active} jobs queued or running (at most "
            f"{limits.max_active}): retry when some have finished",
            retry_after_s=limits.retry_after_s,
        )
    job = create_job(session, project_id, kind, params)
    bind = session.get_bind()
    on_commit(session, lambda: dispatch_ready(bind, sender, project_id, limits.max_dispatched))
    return job


def dispatch_ready(
    bind: Any, sender: TaskSender, project_id: int, max_dispatched: int
) -> list[int]:
    """Hand the project's oldest waiting jobs to the broker while fewer than `max_dispatched` of
    its jobs are there or running. A job is claimed (its task id set) in a committed UPDATE that
    only one caller can win, then sent; returns the ids sent. Called after a job is queued, after
    one ends (by the worker) and by the reaper."""
    sent: list[int] = []
    with Session(bind) as s:
        in_flight = s.scalar(
            select(func.count()).where(
                Job.project_id == project_id,
                Job.status.in_(ACTIVE),
                Job.celery_task_id.is_not(None),
            )
        )
        free = max_dispatched - (in_flight or 0)
        if free <= 0:
            return sent
        waiting = s.execute(
            select(Job.id, Job.kind)
            .where(
                Job.project_id == project_id,
                Job.status == "queued",
                Job.celery_task_id.is_(None),
            )
            .order_by(Job.id)
            .limit(free)
        ).all()
        for job_id, kind in waiting:
            task_id = uuid.uuid4().hex
            claim = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.celery_task_id.is_(None))
                .values(celery_task_id=task_id)
            )
            assert isinstance(claim, CursorResult)  # an UPDATE's result carries its row count
            s.commit()
            if not claim.rowcount:
                continue
            try:
                dispatch(sender, job_id, kind, task_id=task_id)
                sent.append(job_id)
            except Exception as exc:  # broker unreachable
                log.exception("job %s: could not send its message to the broker", job_id)
                error = f"could not queue the job: {exc}"
                mark(s, job_id, status="failed", error=error, finished_at=utcnow())
                append_log(s, job_id, error)
                s.commit()
    return sent


def projects_waiting_for_dispatch(session: Session) -> list[int]:
    """Projects with queued jobs not yet handed to the broker."""
    return list(
        session.scalars(
            select(Job.project_id)
            .where(Job.status == "queued", Job.celery_task_id.is_(None))
            .distinct()
        )
    )


def dispatch(sender: TaskSender, job_id: int, kind: str, *, task_id: str | None = None) -> str:
    """Send job `job_id`'s message now (its row must already be committed); returns the task id."""
    task_name, queue = JOB_KINDS[kind]
    task_id = task_id or uuid.uuid4().hex
    sender.send_task(task_name, args=[job_id], queue=queue, task_id=task_id)
    return task_id


def get_job(session: Session, project_id: int, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.project_id != project_id:
        raise NotFound(f"job {job_id} does not exist in project {project_id}")
    return job


def list_jobs(
    session: Session, project_id: int, *, limit: int = 50, offset: int = 0, kind: str | None = None
) -> list[Job]:
    stmt = select(Job).where(Job.project_id == project_id)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return list(session.scalars(stmt.order_by(Job.id.desc()).offset(offset).limit(limit)))


def append_log(session: Session, job_id: int, line: str) -> None:
    for part in str(line).splitlines() or [""]:
        session.add(JobLog(job_id=job_id, line=part[:MAX_LOG_LINE]))
    session.flush()


def log_lines(
    session: Session, job_id: int, *, after_id: int = 0, limit: int = 10_000
) -> list[JobLog]:
    return list(
        session.scalars(
            select(JobLog)
            .where(JobLog.job_id == job_id, JobLog.id > after_id)
            .order_by(JobLog.id)
            .limit(limit)
        )
    )


def request_cancel(session: Session, job: Job) -> Job:
    if job.status in FINISHED:
        raise BadRequest(f"job {job.id} has already finished ({job.status})")
    job.cancel_requested = True
    if job.status == "queued":
        job.status = "cancelled"
        job.finished_at = utcnow()
        append_log(session, job.id, "cancelled before it started")
    else:
        append_log(session, job.id, "cancellation requested")
    return job


def stale_jobs(session: Session, *, timeout_s: float) -> list[Job]:
    cutoff = utcnow() - timedelta(seconds=timeout_s)
    return list(
        session.scalars(
            select(Job)
            .where(Job.status == "running", Job.heartbeat_at < cutoff)
            .with_for_update(skip_locked=True)
        )
    )


def reap_stale(session: Session, *, timeout_s: float, max_attempts: int) -> list[tuple[int, str]]:
    """Re-queue or fail running jobs whose worker stopped beating. Returns [(job_id,
    'requeued'|'failed')]."""
    out: list[tuple[int, str]] = []
    for job in stale_jobs(session, timeout_s=timeout_s):
        last = job.heartbeat_at.isoformat(timespec="seconds") if job.heartbeat_at else "never"
        if job.cancel_requested:
            job.status, job.finished_at = "cancelled", utcnow()
            append_log(
                session, job.id, f"worker lost (last heartbeat {last}); job was being cancelled"
            )
            out.append((job.id, "cancelled"))
        elif job.attempts < max_attempts:
            job.status, job.progress, job.worker = "queued", 0, None
            append_log(
                session,
                job.id,
                f"worker lost (last heartbeat {last}); re-queued for attempt {job.attempts + 1}",
            )
            out.append((job.id, "requeued"))
        else:
            job.status, job.finished_at = "failed", utcnow()
            job.error = f"worker lost: no heartbeat since {last} after {job.attempts} attempt(s)"
            append_log(session, job.id, job.error)
            out.append((job.id, "failed"))
    session.flush()
    return out


def mark(session: Session, job_id: int, **values) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(**values))


def get_job_any(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


# --- is any worker alive? ------------------------------------------------------------------------


def worker_beat_interval_s(heartbeat_timeout_s: float) -> float:
    """How often a worker's reaper runs and records that the worker is alive."""
    return max(1.0, min(30.0, heartbeat_timeout_s / 4))


def beat_worker(session: Session, name: str, queues: str) -> None:
    row = session.get(WorkerHeartbeat, name)
    if row is None:
        session.add(WorkerHeartbeat(name=name, queues=queues[:255], seen_at=utcnow()))
    else:
        row.seen_at, row.queues = utcnow(), queues[:255]
    session.flush()


def forget_worker(session: Session, name: str) -> None:
    session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))


def _seconds(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds()))


def waiting_note(session: Session, job: Job, *, heartbeat_timeout_s: float) -> str | None:
    """What a job that has not started (or whose worker died) is waiting for, in words; None when
    a live worker holds it. A worker is alive if it beat within 3 beat intervals."""
    now = utcnow()
    beat = job.heartbeat_at
    stale_running = (
        job.status == "running"
        and beat is not None
        and now - beat > timedelta(seconds=heartbeat_timeout_s)
    )
    if job.status != "queued" and not stale_running:
        return None
    alive_after = now - timedelta(seconds=3 * worker_beat_interval_s(heartbeat_timeout_s))
    rows = session.execute(select(WorkerHeartbeat.queues, WorkerHeartbeat.seen_at)).all()
    serving = [
        seen for queues, seen in rows if queues in ("", "*") or job.queue in queues.split(",")
    ]
    alive = any(seen > alive_after for seen in serving)
    if stale_running and beat is not None:
        since = _seconds(now - beat)
        if alive:
            return f"its worker stopped {since} s ago; a live worker will re-queue it"
        return f"waiting for a worker: the one running it stopped {since} s ago and none is alive"
    queued_for = _seconds(now - job.created_at)
    if alive:
        return f"queued for {queued_for} s on queue '{job.queue}'"
    last = max(serving, default=None)
    seen = f"the last one was seen {_seconds(now - last)} s ago" if last else "none has run yet"
    return (
        f"waiting for a worker for {queued_for} s: no worker serving queue '{job.queue}' is "
        f"alive ({seen}); start one with `tinyforge worker`"
    )
