from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, UTCDateTime, utcnow

CATEGORIES = ("training", "testing", "anomaly")


class Sample(Base):
    __tablename__ = "samples"
    __table_args__ = (
        Index("ix_samples_project_category_label", "project_id", "category", "label"),
        Index("ix_samples_project_content_hash", "project_id", "content_hash"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(255), default="")
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # timeseries | image
    format: Mapped[str] = mapped_column(String(8))  # json | cbor | wav | csv | jpg | png
    sensors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    interval_ms: Mapped[float] = mapped_column(default=0.0)
    frequency_hz: Mapped[float] = mapped_column(default=0.0)
    value_count: Mapped[int] = mapped_column(default=0)  # rows of values (time series)
    length_ms: Mapped[float] = mapped_column(default=0.0)
    image_width: Mapped[int | None] = mapped_column()
    image_height: Mapped[int | None] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    signature_alg: Mapped[str | None] = mapped_column(String(16))
    signature_verified: Mapped[bool] = mapped_column(default=False)
    blob_key: Mapped[str] = mapped_column(String(512))
    # the samples of one ingestion batch share a pack file: the sample is bytes [offset, offset +
    # bytes)
    blob_offset: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    blob_bytes: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
