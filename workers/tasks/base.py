"""Run a job row: status, attempts, heartbeat, progress, log lines, cancellation, outcome.

Tasks are thin: `run_job(job_id, fn)` where `fn(ctx)` does the work through services and pure
libraries and returns a JSON-able result dict.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.config import get_settings
from app.core.db import session_scope
from app.models import FINISHED, Job
from app.models.base import utcnow
from app.services import jobs as job_service

log = logging.getLogger("tinyforge.jobs")


class JobCancelled(Exception):
    pass


class JobContext:
    """What a running job may do: read its params, log, report progress, notice cancellation."""

    def __init__(self, job: Job):
        self.job_id = job.id
        self.project_id = job.project_id
        self.kind = job.kind
        self.params: dict[str, Any] = dict(job.params or {})
        self.attempt = job.attempts
        self._cancelled = threading.Event()
        self._last_progress = -1

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise JobCancelled()

    def log(self, line: str) -> None:
        with session_scope() as session:
            job_service.append_log(session, self.job_id, line)

    def progress(self, percent: float, line: str | None = None, *, check: bool = True) -> None:
        """Record progress (and a log line); with `check`, raise JobCancelled if cancellation was
        asked."""
        pct = int(max(0, min(100, percent)))
        with session_scope() as session:
            job_service.mark(session, self.job_id, progress=pct, heartbeat_at=utcnow())
            if line:
                job_service.append_log(session, self.job_id, line)
            cancel = job_service.get_job_any(session, self.job_id).cancel_requested
        self._last_progress = pct
        if cancel:
            self._cancelled.set()
        if check:
            self.check_cancelled()

    def _heartbeat(self) -> bool:
        with session_scope() as session:
            job_service.mark(session, self.job_id, heartbeat_at=utcnow())
            cancel = job_service.get_job_any(session, self.job_id).cancel_requested
        if cancel:
            self._cancelled.set()
        return cancel


def _start(job_id: int) -> JobContext | None:
    settings = get_settings()
    with session_scope() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            log.warning("job %s no longer exists; dropping its message", job_id)
            return None
        if job.status in FINISHED:
            log.info("job %s already %s; dropping duplicate delivery", job_id, job.status)
            return None
        if job.cancel_requested:
            job.status, job.finished_at = "cancelled", utcnow()
            job_service.append_log(session, job_id, "cancelled before it started")
            return None
        if job.status == "running" or job.attempts >= settings.job_max_attempts:
            # redelivered after its worker died mid-job
            if job.attempts >= settings.job_max_attempts:
                job.status, job.finished_at = "failed", utcnow()
                job.error = (
                    f"worker lost during attempt {job.attempts}; giving up after "
                    f"{job.attempts} attempt(s)"
                )
                job_service.append_log(session, job_id, job.error)
                return None
            job_service.append_log(
                session,
                job_id,
                f"previous attempt {job.attempts} did not finish (worker lost); retrying",
            )
        job.status = "running"
        job.attempts += 1
        job.progress = 0
        job.started_at = job.started_at or utcnow()
        job.heartbeat_at = utcnow()
        job.worker = f"{socket.gethostname()} pid {os.getpid()}"
        job_service.append_log(session, job_id, f"started on {job.worker} (attempt {job.attempts})")
        return JobContext(job)


def _dispatch_next(job_id: int) -> None:
    """A job of the project ended (or was dropped): hand its next waiting job to the broker."""
    from workers.celery_app import celery_for

    settings = get_settings()
    try:
        with session_scope() as session:
            job = session.get(Job, job_id)
            project_id = job.project_id if job is not None else None
            bind = session.get_bind()
        if project_id is not None:
            job_service.dispatch_ready(
                bind, celery_for(settings), project_id, settings.max_dispatched_jobs_per_project
            )
    except Exception:
        log.exception("job %s: could not dispatch the project's next job", job_id)


_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s\"'/:,()]+/)+[^\s\"'/:,()]*")
_ROOTS = tuple(
    str(p) + "/"
    for p in (Path(__file__).resolve().parent.parent.parent,)  # the source tree
)


def redact_paths(text: str) -> str:
    """`text` without server paths: files of the source tree relative to it, installed packages
    from `site-packages/`, any other absolute path as `…/` and its last part."""

    def short(m: re.Match[str]) -> str:
        path = m.group(0)
        for root in _ROOTS:
            if path.startswith(root):
                return path[len(root) :]
        if "/site-packages/" in path:
            return "site-packages/" + path.split("/site-packages/", 1)[1]
        return "…/" + path.rstrip("/").rsplit("/", 1)[-1]

    return _PATH.sub(short, text)


def one_line(message: str, *, limit: int = 300) -> str:
    """A job's error as the page shows it: its first line, no server paths, at most `limit`
    characters (the whole story, traceback included, is in the job log)."""
    first = redact_paths(message.strip().splitlines()[0] if message.strip() else message)
    return first if len(first) <= limit else first[: limit - 1] + "…"


def run_job(job_id: int, fn: Callable[[JobContext], dict[str, Any] | None]) -> None:
    try:
        _run_job(job_id, fn)
    finally:
        _dispatch_next(job_id)


def _run_job(job_id: int, fn: Callable[[JobContext], dict[str, Any] | None]) -> None:
    ctx = _start(job_id)
    if ctx is None:
        return
    stop = threading.Event()
    interval = max(0.5, min(10.0, get_settings().job_heartbeat_timeout_s / 4))

    def beat() -> None:
        while not stop.wait(interval):
            try:
                ctx._heartbeat()
            except Exception:
                log.exception("heartbeat for job %s failed", job_id)

    beater = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    beater.start()
    tb: str | None = None
    try:
        result = fn(ctx) or {}
        outcome = {"status": "succeeded", "progress": 100, "result": result}
        final_line = "finished successfully"
    except JobCancelled:
        outcome = {"status": "cancelled"}
        final_line = "cancelled"
    except Exception as exc:  # the job failed: record why, for the user
        message = one_line(getattr(exc, "message", None) or str(exc) or exc.__class__.__name__)
        outcome = {"status": "failed", "error": message}
        final_line = "failed: " + message
        tb = redact_paths(traceback.format_exc())
    finally:
        stop.set()
        beater.join(timeout=5)
    with session_scope() as session:
        if tb and outcome["status"] == "failed":
            job_service.append_log(session, job_id, tb.rstrip())
        job_service.append_log(session, job_id, final_line)
        job_service.mark(session, job_id, finished_at=utcnow(), heartbeat_at=utcnow(), **outcome)
