"""Jobs that exercise the pipeline itself: a data summary and a diagnostic wait."""

from __future__ import annotations

import time

from workers.celery_app import celery_app
from workers.tasks.base import JobContext, run_job


@celery_app.task(name="data.summarize", soft_time_limit=3600)
def summarize(job_id: int) -> None:
    run_job(job_id, _summarize)


def _summarize(ctx: JobContext) -> dict:
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services.summary import summarize_samples

    with session_scope() as session:
        return summarize_samples(session, get_store(), ctx.project_id, progress=ctx.progress)


@celery_app.task(name="system.wait", soft_time_limit=3600)
def wait(job_id: int) -> None:
    run_job(job_id, _wait)


def _wait(ctx: JobContext) -> dict:
    """Diagnostic: wait `seconds` (default 1, at most 600) in steps, reporting progress."""
    seconds = float(ctx.params.get("seconds", 1.0))
    seconds = max(0.0, min(600.0, seconds))
    steps = max(1, int(seconds * 10))
    for i in range(steps):
        time.sleep(seconds / steps)
        ctx.progress(
            100 * (i + 1) / steps,
            f"waited {seconds * (i + 1) / steps:.1f}/{seconds:.1f} s"
            if (i + 1) % 10 == 0
            else None,
        )
    return {"waited_s": seconds, "attempt": ctx.attempt}
