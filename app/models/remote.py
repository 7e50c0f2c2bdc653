"""Remote management: which device is connected to which web process now, and the commands sent to
it.

A device's WebSocket lives in one web process; the dashboard request that asks it to record may land
in another. Both meet here: the process holding the socket keeps a `device_connections` row alive
(heartbeat), and a command is a `device_commands` row addressed to that process, whose status the
holding process updates as the device reports progress (see `app.devices.hub`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, UTCDateTime, utcnow


class DeviceConnection(Base):
    """A live remote-management connection (one per project and device id)."""

    __tablename__ = "device_connections"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "device_id", name="uq_device_connections_project_id_device_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[str] = mapped_column(String(255))
    device_type: Mapped[str] = mapped_column(String(255), default="")
    connection: Mapped[str] = mapped_column(String(32), default="ip")
    mode: Mapped[str] = mapped_column(String(32), default="ingestion")
    sensors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    supports_snapshot: Mapped[bool] = mapped_column(default=False)
    process_key: Mapped[str] = mapped_column(String(64), index=True)
    connection_key: Mapped[str] = mapped_column(String(64))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    snapshot_streaming: Mapped[bool] = mapped_column(default=False)
    snapshot_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeviceCommand(Base):
    """A request to a connected device (record a sample, start or stop the snapshot stream) and its
    progress."""

    __tablename__ = "device_commands"
    __table_args__ = (
        Index("ix_device_commands_process_key_status", "process_key", "status"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[str] = mapped_column(String(255))
    process_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # sample | start_snapshot | stop_snapshot
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending → sent → accepted → started → reading / processing → uploading → finished | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    progress: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
