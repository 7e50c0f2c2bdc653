"""Deployment builds on the 'deploy' queue: compile, package, verify (host + QEMU), store the
zip."""

from __future__ import annotations

from workers.celery_app import celery_app
from workers.tasks.base import JobContext, run_job


@celery_app.task(name="deploy.build", soft_time_limit=3 * 3600)
def build(job_id: int) -> None:
    run_job(job_id, _build)


def _build(ctx: JobContext) -> dict:
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import deployment

    return deployment.build(
        session_scope,
        get_store(),
        ctx.project_id,
        ctx.params,
        job_id=ctx.job_id,
        log=ctx.log,
        progress=lambda p: ctx.progress(p, None),
    )


@celery_app.task(name="deploy.profile", soft_time_limit=3600)
def profile(job_id: int) -> None:
    run_job(job_id, _profile)


def _profile(ctx: JobContext) -> dict:
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import profiles

    return profiles.run_profile(
        session_scope,
        get_store(),
        ctx.project_id,
        int(ctx.params["impulse_id"]),
        int(ctx.params["learn_id"]),
        job_id=ctx.job_id,
        log=ctx.log,
    )
