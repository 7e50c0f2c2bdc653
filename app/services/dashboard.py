"""Read models for the dashboard pages: counts and lists the JSON API has no single call for."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ApiKey, Device, Impulse, Job, Sample


@dataclass
class ProjectCounts:
    samples: int
    training: int
    testing: int
    anomaly: int
    labels: int
    devices: int
    impulses: int
    jobs_running: int
    duration_ms: float


def project_counts(session: Session, project_id: int) -> ProjectCounts:
    per_category = dict(
        session.execute(
            select(Sample.category, func.count())
            .where(Sample.project_id == project_id)
            .group_by(Sample.category)
        ).all()
    )
    labels = (
        session.scalar(
            select(func.count(func.distinct(Sample.label))).where(Sample.project_id == project_id)
        )
        or 0
    )
    duration = (
        session.scalar(select(func.sum(Sample.length_ms)).where(Sample.project_id == project_id))
        or 0.0
    )
    devices = (
        session.scalar(select(func.count(Device.id)).where(Device.project_id == project_id)) or 0
    )
    impulses = (
        session.scalar(select(func.count(Impulse.id)).where(Impulse.project_id == project_id)) or 0
    )
    running = (
        session.scalar(
            select(func.count(Job.id)).where(
                Job.project_id == project_id, Job.status.in_(("queued", "running"))
            )
        )
        or 0
    )
    return ProjectCounts(
        samples=sum(per_category.values()),
        training=per_category.get("training", 0),
        testing=per_category.get("testing", 0),
        anomaly=per_category.get("anomaly", 0),
        labels=labels,
        devices=devices,
        impulses=impulses,
        jobs_running=running,
        duration_ms=float(duration),
    )


def label_table(session: Session, project_id: int) -> list[dict]:
    """One row per label: samples in training, testing and anomaly, and the total; sorted by
    label."""
    rows = session.execute(
        select(Sample.label, Sample.category, func.count())
        .where(Sample.project_id == project_id)
        .group_by(Sample.label, Sample.category)
    ).all()
    table: dict[str, dict] = {}
    for label, category, n in rows:
        entry = table.setdefault(
            label, {"label": label, "training": 0, "testing": 0, "anomaly": 0, "total": 0}
        )
        entry[category] = entry.get(category, 0) + n
        entry["total"] += n
    return [table[k] for k in sorted(table)]


def devices(session: Session, project_id: int) -> list[Device]:
    """Devices that sent data to the project, most recently seen first."""
    return list(
        session.scalars(
            select(Device)
            .where(Device.project_id == project_id)
            .order_by(Device.last_seen_at.desc(), Device.id)
        )
    )


def live_api_keys(session: Session, project_id: int) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.project_id == project_id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.id)
        )
    )
