from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class Impulse(Base):
    """The recipe from raw sample to model input: an input block, DSP blocks and learning blocks.

    `input`, `dsp` and `learn` are validated JSON documents (see app/services/impulses.py);
    `revision` goes up by one on every change, so artifacts can say which version made them.
    """

    __tablename__ = "impulses"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(default=1)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    dsp: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    learn: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
