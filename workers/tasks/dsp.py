"""Feature generation on the 'dsp' queue."""

from __future__ import annotations

from workers.celery_app import celery_app
from workers.tasks.base import JobContext, run_job


@celery_app.task(name="dsp.generate_features", soft_time_limit=6 * 3600)
def generate_features(job_id: int) -> None:
    run_job(job_id, _generate)


def _generate(ctx: JobContext) -> dict:
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import features

    dsp_id = ctx.params.get("dsp_id")
    return features.generate(
        session_scope,
        get_store(),
        ctx.project_id,
        int(ctx.params["impulse_id"]),
        dsp_ids=[dsp_id] if dsp_id else None,
        job_id=ctx.job_id,
        progress=ctx.progress,
    )
