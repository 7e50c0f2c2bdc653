"""Trials of a tuner job: one row per candidate and rung, written as each one ends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow

TRIAL_STATUSES = ("screened", "skipped", "queued", "running", "succeeded", "failed", "cancelled")
TRIAL_FINISHED = frozenset({"skipped", "succeeded", "failed", "cancelled"})


class TuneTrial(Base):
    __tablename__ = "tune_trials"
    __table_args__ = (Index("ix_tune_trials_job_id_rung", "job_id", "rung"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    candidate: Mapped[int] = mapped_column()  # index of the candidate within the tuner
    rung: Mapped[int] = mapped_column(default=0)
    epochs: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    point: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    impulse: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # untrained model's profile
    accuracy_float32: Mapped[float | None] = mapped_column()
    accuracy_int8: Mapped[float | None] = mapped_column()
    latency_ms: Mapped[float | None] = mapped_column()  # the impulse's: DSP + network
    dsp_latency_ms: Mapped[float | None] = mapped_column()  # None: DSP not measured
    nn_latency_ms: Mapped[float | None] = mapped_column()
    ram_bytes: Mapped[int | None] = mapped_column()
    flash_bytes: Mapped[int | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    trial_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    worker: Mapped[str | None] = mapped_column(String(255))
    seconds: Mapped[float | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def finished(self) -> bool:
        return self.status in TRIAL_FINISHED
