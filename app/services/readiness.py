"""What must exist before a job may start, and why not: the one place the API (409 with the
reason), the dashboard (the button disabled, the reason beside it) and the job routes ask.

Each `*_blocker` returns None when the job may start, else a sentence saying what is missing
and where to fix it. `refuse_duplicate` stops a second start of a job that is already queued or
running for the same thing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Impulse, Job
from app.schemas.impulses import LearnBlock
from app.services import artifacts
from app.services import impulses as impulse_service
from app.services.errors import Conflict, NotFound


class JobRunning(Conflict):
    """The same job is queued or running: its id goes into the 409 body as `jobId`."""

    def __init__(self, message: str, *, job_id: int):
        super().__init__(message)
        self.job_id = job_id


def _block_name(impulse: Impulse, dsp_id: int) -> str:
    block = next((b for b in impulse.dsp if b.id == dsp_id), None)
    return f"'{block.name}'" if block is not None else f"{dsp_id}"


def training_blocker(session: Session, impulse: Impulse, block: LearnBlock) -> str | None:
    """Features missing or out of date for a block the learning block reads."""
    for dsp_id in block.dsp:
        name = _block_name(impulse, dsp_id)
        try:
            art = artifacts.feature_artifact(session, impulse, dsp_id)
        except NotFound:
            return (
                f"no features for processing block {name} yet: generate features first "
                "(Impulse design → Generate features)"
            )
        current = impulse_service.feature_config_hash(
            impulse.input, impulse_service.dsp_block(impulse, dsp_id)
        )
        if art.meta.get("config_hash", current) != current:
            return (
                f"the features of processing block {name} were made with an earlier design of "
                "the impulse: generate features again (Impulse design → Generate features)"
            )
    return None


def _trained_revision(session: Session, impulse: Impulse, block: LearnBlock) -> int | None:
    try:
        art = artifacts.learn_artifact(session, impulse, block.id, "training-results")
    except NotFound:
        return None
    return int(art.meta.get("revision") or 0)


def testing_blocker(session: Session, impulse: Impulse, block: LearnBlock) -> str | None:
    if _trained_revision(session, impulse, block) is None:
        return f"learning block '{block.name}' has no trained model yet: train it first (Training)"
    return None


def build_blocker(session: Session, impulse: Impulse, block: LearnBlock) -> str | None:
    """No model, or a model trained on an older revision of the impulse."""
    revision = _trained_revision(session, impulse, block)
    if revision is None:
        return f"learning block '{block.name}' has no trained model yet: train it first (Training)"
    if revision < impulse.revision:
        return (
            f"the model of '{block.name}' was trained on revision {revision} of the impulse, "
            f"which is now at revision {impulse.revision}: train it again (Training) before "
            "building"
        )
    return None


def refuse(reason: str | None) -> None:
    if reason is not None:
        raise Conflict(reason)


def running_job(session: Session, project_id: int, kind: str, params: dict[str, Any]) -> Job | None:
    """A queued or running job of `kind` on the same impulse and block as `params`."""
    keys = ("impulse_id", "learn_id", "impulseId", "learnId")
    same = {k: params.get(k) for k in keys if params.get(k) is not None}
    for job in session.scalars(
        select(Job).where(
            Job.project_id == project_id,
            Job.kind == kind,
            Job.status.in_(("queued", "running")),
        )
    ):
        if {k: job.params.get(k) for k in same} == same:
            return job
    return None


def refuse_duplicate(session: Session, project_id: int, kind: str, params: dict[str, Any]) -> None:
    job = running_job(session, project_id, kind, params)
    if job is not None:
        raise JobRunning(
            f"a {kind} job for this is already {job.status}: job {job.id} (wait for it or "
            "cancel it)",
            job_id=job.id,
        )
