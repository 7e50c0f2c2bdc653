"""Training and model testing on the 'train' queue (TensorFlow is imported inside the job, in the
child)."""

from __future__ import annotations

from workers.celery_app import celery_app
from workers.tasks.base import JobContext, run_job


@celery_app.task(name="train.run", soft_time_limit=12 * 3600)
def train(job_id: int) -> None:
    run_job(job_id, _train)


def _train(ctx: JobContext) -> dict:
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import learning
    from workers.learn import TrainingCancelled
    from workers.tasks.base import JobCancelled

    try:
        result = learning.train(
            session_scope,
            get_store(),
            ctx.project_id,
            int(ctx.params["impulse_id"]),
            ctx.params.get("learn_id"),
            job_id=ctx.job_id,
            log=ctx.log,
            progress=lambda p: ctx.progress(p, None, check=False),
            should_stop=lambda: ctx.cancelled,
        )
    except TrainingCancelled as exc:
        raise JobCancelled() from exc
    if result.get("artifacts", {}).get("tflite-int8") or result.get("artifacts", {}).get(
        "tflite-float32"
    ):
        _queue_profile(ctx, int(ctx.params["impulse_id"]), int(result["learn_id"]))
    return result


def _queue_profile(ctx: JobContext, impulse_id: int, learn_id: int) -> None:
    """Every training is followed by a profile job (latency/RAM/flash per board, issue 11)."""
    from app.core.db import session_scope
    from app.services import jobs as job_service

    with session_scope() as session:
        job_id = job_service.queue_job(
            session,
            celery_app,
            ctx.project_id,
            "profile",
            {"impulse_id": impulse_id, "learn_id": learn_id},
        ).id
    # after the commit: the log line is written through another session (SQLite: one writer)
    ctx.log(f"queued the profile job {job_id} (latency, RAM and flash per board)")


@celery_app.task(name="train.test", soft_time_limit=6 * 3600)
def test(job_id: int) -> None:
    run_job(job_id, _test)


def _test(ctx: JobContext) -> dict:
    from app.core.db import session_scope
    from app.core.storage import get_store
    from app.services import learning

    return learning.test(
        session_scope,
        get_store(),
        ctx.project_id,
        int(ctx.params["impulse_id"]),
        ctx.params.get("learn_id"),
        job_id=ctx.job_id,
        log=ctx.log,
        progress=lambda p: ctx.progress(p, None),
    )
