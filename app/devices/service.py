"""Remote management use cases on the database: presence, commands and snapshots. The caller
commits.

Every web process sees the same rows, so a dashboard request in one process can ask for a recording
from a device whose socket another process holds (`app.devices.hub` delivers it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.devices.protocol import Hello, ProtocolError, SampleRequest, Sensor, check_sample_request
from app.models import Device, DeviceCommand, DeviceConnection
from app.models.base import utcnow
from app.services.errors import BadRequest, Conflict, NotFound

STALE_AFTER_S = 20.0  # a connection whose process has not refreshed it for this long is gone
PENDING_TIMEOUT_S = 15.0  # a command no process picked up for this long has failed
TERMINAL = ("finished", "failed")


@dataclass(frozen=True)
class ConnectedDevice:
    row: DeviceConnection
    device: Device | None

    @property
    def hello(self) -> Hello:
        return hello_of(self.row)


def hello_of(row: DeviceConnection) -> Hello:
    sensors = tuple(
        Sensor(
            name=s["name"],
            max_sample_length_s=float(s.get("maxSampleLengthS") or 0),
            frequencies=tuple(float(f) for f in s.get("frequencies") or ()),
        )
        for s in row.sensors
    )
    return Hello(
        api_key="",
        device_id=row.device_id,
        device_type=row.device_type,
        connection=row.connection,
        sensors=sensors,
        supports_snapshot=row.supports_snapshot,
        version=4,
        mode=row.mode,
    )


# --- devices (Edge Impulse's Studio API: create, get, rename) -------------------------------------


def ensure_device(
    session: Session, project_id: int, device_id: str, device_type: str = ""
) -> Device:
    device = session.scalar(
        select(Device).where(Device.project_id == project_id, Device.name == device_id)
    )
    if device is None:
        try:
            with session.begin_nested():
                device = Device(
                    project_id=project_id, name=device_id, device_type=device_type, samples_count=0
                )
                session.add(device)
        except IntegrityError:  # created meanwhile by another request
            device = session.scalar(
                select(Device).where(Device.project_id == project_id, Device.name == device_id)
            )
            assert device is not None
    if device_type and device.device_type != device_type:
        device.device_type = device_type
    device.last_seen_at = utcnow()
    return device


def get_device(session: Session, project_id: int, device_id: str) -> Device:
    device = session.scalar(
        select(Device).where(Device.project_id == project_id, Device.name == device_id)
    )
    if device is None:
        raise NotFound(f"device '{device_id}' does not exist in project {project_id}")
    return device


def rename_device(session: Session, project_id: int, device_id: str, name: str) -> Device:
    name = name.strip()
    if not name or len(name) > 255:
        raise BadRequest("a device name must be 1 to 255 characters long")
    device = get_device(session, project_id, device_id)
    device.display_name = name
    return device


# --- presence -------------------------------------------------------------------------------------


def register_connection(
    session: Session, project_id: int, hello: Hello, *, process_key: str, connection_key: str
) -> DeviceConnection:
    """The device is connected to this process now (replacing an older connection of the same
    device)."""
    ensure_device(session, project_id, hello.device_id, hello.device_type)
    now = utcnow()
    values: dict[str, Any] = {
        "device_type": hello.device_type,
        "connection": hello.connection,
        "mode": hello.mode,
        "sensors": [s.as_json() for s in hello.sensors],
        "supports_snapshot": hello.supports_snapshot,
        "process_key": process_key,
        "connection_key": connection_key,
        "connected_at": now,
        "heartbeat_at": now,
        "snapshot_streaming": False,
        "snapshot_jpeg": None,
        "snapshot_at": None,
    }
    row = session.scalar(
        select(DeviceConnection).where(
            DeviceConnection.project_id == project_id, DeviceConnection.device_id == hello.device_id
        )
    )
    if row is None:
        try:
            with session.begin_nested():
                row = DeviceConnection(project_id=project_id, device_id=hello.device_id, **values)
                session.add(row)
            return row
        except IntegrityError:
            row = session.scalar(
                select(DeviceConnection).where(
                    DeviceConnection.project_id == project_id,
                    DeviceConnection.device_id == hello.device_id,
                )
            )
            assert row is not None
    for key, value in values.items():
        setattr(row, key, value)
    return row


def unregister_connection(session: Session, connection_key: str) -> None:
    session.execute(
        delete(DeviceConnection).where(DeviceConnection.connection_key == connection_key)
    )


def heartbeat(session: Session, process_key: str) -> set[str]:
    """Refresh this process's connections; return the connection keys the database still holds for
    it."""
    session.execute(
        update(DeviceConnection)
        .where(DeviceConnection.process_key == process_key)
        .values(heartbeat_at=utcnow())
    )
    return set(
        session.scalars(
            select(DeviceConnection.connection_key).where(
                DeviceConnection.process_key == process_key
            )
        )
    )


def forget_process(session: Session, process_key: str) -> None:
    session.execute(delete(DeviceConnection).where(DeviceConnection.process_key == process_key))
    session.execute(
        update(DeviceCommand)
        .where(DeviceCommand.process_key == process_key, DeviceCommand.status.not_in(TERMINAL))
        .values(
            status="failed",
            error="the server stopped while the request was running",
            updated_at=utcnow(),
        )
    )


def _fresh_after() -> datetime:
    return utcnow() - timedelta(seconds=STALE_AFTER_S)


def connected_devices(session: Session, project_id: int) -> list[ConnectedDevice]:
    rows = session.execute(
        select(DeviceConnection, Device)
        .outerjoin(
            Device,
            (Device.project_id == DeviceConnection.project_id)
            & (Device.name == DeviceConnection.device_id),
        )
        .where(
            DeviceConnection.project_id == project_id,
            DeviceConnection.heartbeat_at >= _fresh_after(),
        )
        .order_by(DeviceConnection.device_id)
    ).all()
    return [ConnectedDevice(row=c, device=d) for c, d in rows]


def connection(session: Session, project_id: int, device_id: str) -> DeviceConnection | None:
    return session.scalar(
        select(DeviceConnection).where(
            DeviceConnection.project_id == project_id,
            DeviceConnection.device_id == device_id,
            DeviceConnection.heartbeat_at >= _fresh_after(),
        )
    )


def _require_connection(session: Session, project_id: int, device_id: str) -> DeviceConnection:
    row = connection(session, project_id, device_id)
    if row is None:
        raise Conflict(f"device '{device_id}' is not connected to remote management now")
    return row


# --- commands -------------------------------------------------------------------------------------


def start_sampling(
    session: Session,
    project_id: int,
    device_id: str,
    *,
    label: str,
    length_ms: float,
    category: str,
    sensor: str,
    interval_ms: float | None = None,
    frequency_hz: float | None = None,
) -> DeviceCommand:
    """Queue a sample request for a connected device; BadRequest when it cannot serve it."""
    row = _require_connection(session, project_id, device_id)
    try:
        request = check_sample_request(
            hello_of(row),
            label=label,
            length_ms=length_ms,
            category=category,
            sensor=sensor,
            interval_ms=interval_ms,
            frequency_hz=frequency_hz,
        )
    except ProtocolError as exc:
        raise BadRequest(str(exc)) from exc
    busy = session.scalar(
        select(DeviceCommand.id).where(
            DeviceCommand.project_id == project_id,
            DeviceCommand.device_id == device_id,
            DeviceCommand.kind == "sample",
            DeviceCommand.status.not_in(TERMINAL),
            DeviceCommand.created_at
            >= utcnow() - timedelta(seconds=request.length_ms / 1000 + 120),
        )
    )
    if busy is not None:
        raise Conflict(f"device '{device_id}' is still busy with sample request {busy}")
    return _command(session, row, "sample", _request_json(request))


def _request_json(request: SampleRequest) -> dict[str, Any]:
    return {
        "label": request.label,
        "lengthMs": request.length_ms,
        "category": request.category,
        "intervalMs": request.interval_ms,
        "sensor": request.sensor,
    }


def request_snapshot(
    session: Session, project_id: int, device_id: str, *, start: bool
) -> DeviceCommand:
    row = _require_connection(session, project_id, device_id)
    if not row.supports_snapshot:
        raise BadRequest(f"device '{device_id}' does not offer snapshot streaming")
    return _command(session, row, "start_snapshot" if start else "stop_snapshot", {})


def _command(
    session: Session, row: DeviceConnection, kind: str, params: dict[str, Any]
) -> DeviceCommand:
    now = utcnow()
    command = DeviceCommand(
        project_id=row.project_id,
        device_id=row.device_id,
        process_key=row.process_key,
        kind=kind,
        params=params,
        status="pending",
        created_at=now,
        updated_at=now,
    )
    session.add(command)
    session.flush()
    return command


def get_command(
    session: Session, project_id: int, device_id: str, command_id: int
) -> DeviceCommand:
    command = session.get(DeviceCommand, command_id)
    if command is None or command.project_id != project_id or command.device_id != device_id:
        raise NotFound(f"request {command_id} to device '{device_id}' does not exist")
    if command.status == "pending" and command.created_at < utcnow() - timedelta(
        seconds=PENDING_TIMEOUT_S
    ):
        command.status, command.error = (
            "failed",
            "no server process picked up the request: is the device still connected?",
        )
    return command


def claim_pending(session: Session, process_key: str) -> list[DeviceCommand]:
    """Commands addressed to this process that nobody has sent yet, now marked `sent`
    (atomically)."""
    ids = list(
        session.scalars(
            select(DeviceCommand.id)
            .where(DeviceCommand.process_key == process_key, DeviceCommand.status == "pending")
            .order_by(DeviceCommand.id)
        )
    )
    return [c for c in (claim(session, i) for i in ids) if c is not None]


def claim(session: Session, command_id: int) -> DeviceCommand | None:
    done = session.execute(
        update(DeviceCommand)
        .where(DeviceCommand.id == command_id, DeviceCommand.status == "pending")
        .values(status="sent", updated_at=utcnow())
    )
    assert isinstance(done, CursorResult)  # an UPDATE's result carries its row count
    if done.rowcount != 1:
        return None
    return session.get(DeviceCommand, command_id)


def set_status(
    session: Session,
    command_id: int,
    status: str,
    *,
    progress: int | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    if error is not None:
        values["error"] = error
    session.execute(
        update(DeviceCommand)
        .where(DeviceCommand.id == command_id, DeviceCommand.status.not_in(TERMINAL))
        .values(**values)
    )


def set_snapshot_streaming(session: Session, connection_key: str, streaming: bool) -> None:
    session.execute(
        update(DeviceConnection)
        .where(DeviceConnection.connection_key == connection_key)
        .values(snapshot_streaming=streaming)
    )


def store_snapshot(session: Session, connection_key: str, jpeg: bytes) -> None:
    session.execute(
        update(DeviceConnection)
        .where(DeviceConnection.connection_key == connection_key)
        .values(snapshot_jpeg=jpeg, snapshot_at=utcnow())
    )


def latest_snapshot(session: Session, project_id: int, device_id: str) -> bytes:
    row = _require_connection(session, project_id, device_id)
    if not row.snapshot_jpeg:
        raise NotFound(
            f"device '{device_id}' has sent no snapshot yet: start the snapshot stream first"
        )
    return row.snapshot_jpeg


def hmac_key(session: Session, project_id: int) -> str:
    from app.services import projects as project_service

    keys = project_service.hmac_keys(session, project_id)
    return keys[-1] if keys else ""


# --- JSON shapes (Edge Impulse's `Device` object) -------------------------------------------------


def device_json(device: Device, row: DeviceConnection | None) -> dict[str, Any]:
    connected = row is not None and row.heartbeat_at >= _fresh_after()
    return {
        "id": device.id,
        "deviceId": device.name,
        "name": device.display_name or device.name,
        "deviceType": device.device_type,
        "created": device.created_at.isoformat(),
        "lastSeen": (row.heartbeat_at if connected and row else device.last_seen_at).isoformat(),
        "sensors": row.sensors if connected and row else [],
        "remote_mgmt_connected": connected,
        "remote_mgmt_host": row.process_key.split(":")[0] if connected and row else None,
        "supportsSnapshotStreaming": bool(connected and row and row.supports_snapshot),
        "snapshotStreaming": bool(connected and row and row.snapshot_streaming),
        "remoteMgmtMode": (row.mode if connected and row else "disconnected"),
        "samples": device.samples_count,
    }


def command_json(command: DeviceCommand) -> dict[str, Any]:
    return {
        "id": command.id,
        "deviceId": command.device_id,
        "kind": command.kind,
        "status": command.status,
        "progress": command.progress,
        "error": command.error,
        "finished": command.status in TERMINAL,
        "params": command.params,
        "created": command.created_at.isoformat(),
        "updated": command.updated_at.isoformat(),
    }
