"""What the Training, Testing and Deployment pages share: a learning block's stored results, its
recent jobs and its per-board profile (route modules never import one another)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models import Impulse, Job
from app.schemas.impulses import LearnBlock
from app.services import artifacts
from app.services.errors import NotFound


def artifact_json(session, store, impulse: Impulse, block: LearnBlock, kind: str) -> dict | None:
    try:
        art = artifacts.learn_artifact(session, impulse, block.id, kind)
    except NotFound:
        return None
    return artifacts.read_json(store, art)


def recent_jobs(session, project_id: int, kind: str, impulse: Impulse | None) -> list[Job]:
    if impulse is None:
        return []
    rows = session.scalars(
        select(Job)
        .where(Job.project_id == project_id, Job.kind == kind)
        .order_by(Job.id.desc())
        .limit(30)
    )
    return [j for j in rows if j.params.get("impulse_id") == impulse.id][:5]


def profile_context(session, store, project, impulse, block) -> dict[str, Any]:
    """What templates/_profile_table.html needs: the stored profile of the block (the profile
    job's), the project's board and a running profile job."""
    from app.services import profiles

    out: dict[str, Any] = {
        "profile": None,
        "project_board": profiles.project_board(project),
        "profile_job": None,
        "profile_boards": profiles.board_names(),
    }
    if impulse is None or block is None or getattr(block, "is_anomaly", False):
        return out
    out["profile"] = profiles.stored_profile(session, store, impulse, block.id)
    running = [
        j
        for j in recent_jobs(session, project.id, "profile", impulse)
        if j.params.get("learn_id") == block.id and j.status in ("queued", "running")
    ]
    out["profile_job"] = running[0] if running else None
    return out
