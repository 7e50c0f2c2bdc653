"""The tuner: its coordinator (`tune.run`, default queue) and its trials (`tune.trial`, tune
queue)."""

from __future__ import annotations

from workers.celery_app import celery_app, celery_for
from workers.tasks.base import JobCancelled, JobContext, run_job


@celery_app.task(name="tune.run", soft_time_limit=24 * 3600)
def tune(job_id: int) -> None:
    run_job(job_id, _tune)


def _tune(ctx: JobContext) -> dict:
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import tuner

    try:
        return tuner.run(
            session_scope,
            get_store(),
            celery_for(),
            ctx.job_id,
            log=ctx.log,
            progress=lambda p: ctx.progress(p, None, check=False),
            cancelled=lambda: ctx.cancelled,  # the heartbeat thread polls the flag
        )
    except tuner.TuneCancelled as exc:
        raise JobCancelled() from exc


@celery_app.task(name="tune.trial", soft_time_limit=6 * 3600)
def trial(job_id: int) -> None:
    run_job(job_id, _trial)


def _trial(ctx: JobContext) -> dict:
    import os
    import socket

    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import tuner
    from workers.learn import TrainingCancelled

    try:
        return tuner.run_trial_job(
            session_scope,
            get_store(),
            int(ctx.params["trial_id"]),
            worker=f"{socket.gethostname()} pid {os.getpid()}",
            log=ctx.log,
            progress=lambda p: ctx.progress(p, None, check=False),
            should_stop=lambda: ctx.cancelled,
        )
    except TrainingCancelled as exc:
        raise JobCancelled() from exc
