from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, UTCDateTime, utcnow


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    require_signed_data: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # a board preset name (workers.deploy.targets.BOARDS): profiled under QEMU after training,
    # preselected on the Deployment page; None = Arduino Nano 33 BLE Sense
    target_board: Mapped[str | None] = mapped_column(String(100))


API_KEY_ROLES = ("full", "admin", "ingestion")


class ApiKey(Base):
    """A project API key. Only its SHA-256 is stored; `prefix` (shown in lists) identifies a leaked
    key."""

    __tablename__ = "api_keys"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="default")
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # what the key may do: "full" (a member's API), "admin" (an admin's) or "ingestion" (send data,
    # nothing else); see app.services.roles
    role: Mapped[str] = mapped_column(String(20), default="full", server_default="full")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HmacKey(Base):
    """Shared secret devices sign data with. Stored as is: verifying an HMAC needs the key
    itself."""

    __tablename__ = "hmac_keys"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="default")
    key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
