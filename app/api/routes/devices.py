"""Devices and remote management (paths as Edge Impulse's Studio API, so its tools work unchanged).

The daemon calls `devices/create`, `device/{deviceId}` and `devkeys`; the dashboard calls
`start-sampling`, polls the request's status and drives the snapshot stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import ProjectDep, SessionDep
from app.core.db import on_commit
from app.devices import service
from app.devices.hub import DeviceHub
from app.models import DeviceCommand
from app.schemas.devices import CreateDeviceBody, RenameDeviceBody, StartSamplingBody

router = APIRouter(prefix="/api/{projectId}", tags=["devices"])


async def _queue(
    request: Request, session: Session, make: Callable[[], DeviceCommand]
) -> DeviceCommand:
    """Write the command in the request's transaction (off the event loop); once it commits, tell
    the process holding the device (it reads the command from the database)."""
    command = await run_in_threadpool(make)
    hub: DeviceHub = request.app.state.device_hub
    loop = asyncio.get_running_loop()
    key, command_id = command.process_key, command.id
    on_commit(session, lambda: asyncio.run_coroutine_threadsafe(hub.notify(key, command_id), loop))
    return command


@router.post("/devices/create", summary="Register a device (idempotent with ifNotExists)")
def create_device(body: CreateDeviceBody, project: ProjectDep, session: SessionDep) -> dict:
    service.ensure_device(session, project.id, body.deviceId, body.deviceType)
    return {"success": True}


@router.get(
    "/devices/connected", summary="Devices connected to remote management now, with their sensors"
)
def connected(project: ProjectDep, session: SessionDep) -> dict:
    return {
        "success": True,
        "devices": [
            service.device_json(c.device, c.row)
            for c in service.connected_devices(session, project.id)
            if c.device is not None
        ],
    }


@router.get("/device/{deviceId}", summary="One device, with its sensors when it is connected")
def get_device(deviceId: str, project: ProjectDep, session: SessionDep) -> dict:
    device = service.get_device(session, project.id, deviceId)
    return {
        "success": True,
        "device": service.device_json(device, service.connection(session, project.id, deviceId)),
    }


@router.post("/devices/{deviceId}/rename", summary="Give a device a name")
def rename_device(
    deviceId: str, body: RenameDeviceBody, project: ProjectDep, session: SessionDep
) -> dict:
    service.rename_device(session, project.id, deviceId, body.name)
    return {"success": True}


@router.post(
    "/device/{deviceId}/start-sampling", summary="Ask a connected device to record a sample"
)
async def start_sampling(
    deviceId: str,
    body: StartSamplingBody,
    project: ProjectDep,
    session: SessionDep,
    request: Request,
) -> dict:
    command = await _queue(
        request,
        session,
        lambda: service.start_sampling(
            session,
            project.id,
            deviceId,
            label=body.label,
            length_ms=body.lengthMs,
            category=body.category,
            sensor=body.sensor,
            interval_ms=body.intervalMs,
            frequency_hz=body.frequencyHz,
        ),
    )
    return {"success": True, "id": command.id}


@router.get("/device/{deviceId}/sampling/{requestId}", summary="Progress of a sample request")
def sampling_status(
    deviceId: str, requestId: int, project: ProjectDep, session: SessionDep
) -> dict:
    command = service.get_command(session, project.id, deviceId, requestId)
    return {"success": True, "request": service.command_json(command)}


@router.post(
    "/device/{deviceId}/debug-stream/snapshot/start",
    summary="Start the device's camera snapshot stream",
)
async def start_snapshot(
    deviceId: str, project: ProjectDep, session: SessionDep, request: Request
) -> dict:
    command = await _queue(
        request,
        session,
        lambda: service.request_snapshot(session, project.id, deviceId, start=True),
    )
    return {"success": True, "id": command.id}


@router.post("/device/{deviceId}/debug-stream/stop", summary="Stop the device's snapshot stream")
async def stop_snapshot(
    deviceId: str, project: ProjectDep, session: SessionDep, request: Request
) -> dict:
    command = await _queue(
        request,
        session,
        lambda: service.request_snapshot(session, project.id, deviceId, start=False),
    )
    return {"success": True, "id": command.id}


@router.get(
    "/device/{deviceId}/snapshot", summary="The latest snapshot frame (JPEG) of a streaming device"
)
def latest_snapshot(deviceId: str, project: ProjectDep, session: SessionDep) -> Response:
    return Response(
        service.latest_snapshot(session, project.id, deviceId),
        media_type="image/jpeg",
        headers={"cache-control": "no-store"},
    )


@router.get(
    "/devkeys", summary="The project's development keys (the HMAC key devices sign data with)"
)
def devkeys(project: ProjectDep, session: SessionDep) -> dict:
    # API keys are stored hashed and cannot be shown again; the caller already holds one
    return {
        "success": True,
        "apiKey": None,
        "hmacKey": service.hmac_key(session, project.id) or None,
    }


@router.get("/devkeys/hmac", summary="The project's HMAC key", include_in_schema=False)
def devkeys_hmac(project: ProjectDep, session: SessionDep) -> dict:
    return {"success": True, "hmacKey": service.hmac_key(session, project.id) or None}
