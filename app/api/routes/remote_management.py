"""The remote management WebSocket (Edge Impulse's protocol; see `app.devices.protocol`).

Served at `/api/remote-management` and at `/` (where Edge Impulse's devices connect: `ws://host:4802`
with `tinyforge serve --ei-ports`), authenticated by the project API key in the hello.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from app.devices.hub import DeviceHub, LiveConnection
from app.devices.protocol import ProtocolError, decode_json, parse_device_message, parse_hello

router = APIRouter(tags=["remote-management"])

HELLO_TIMEOUT_S = 10.0
MAX_ERRORS = 20  # protocol errors in a row before the connection is closed
POLICY_VIOLATION = 1008


async def _receive(ws: WebSocket) -> str | bytes | None:
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        return None
    return message.get("text") if message.get("text") is not None else message.get("bytes", b"")


async def _refuse(ws: WebSocket, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_json({"hello": False, "err": reason})
        await ws.close(code=POLICY_VIOLATION, reason=reason[:120])


async def serve_device(ws: WebSocket) -> None:
    await ws.accept()
    state = ws.app.state
    settings = state.settings
    hub: DeviceHub = state.device_hub
    try:
        raw = await asyncio.wait_for(_receive(ws), timeout=HELLO_TIMEOUT_S)
    except (TimeoutError, WebSocketDisconnect):
        await _refuse(ws, f"no hello within {HELLO_TIMEOUT_S:g} s")
        return
    if raw is None:
        return
    try:
        hello = parse_hello(decode_json(raw, max_bytes=settings.device_max_message_bytes))
    except ProtocolError as exc:
        await _refuse(ws, str(exc))
        return
    cache = state.key_cache
    fresh, auth = cache.cached(hello.api_key)
    if not fresh:
        auth = await run_in_threadpool(cache.lookup, hello.api_key)
    if auth is None:
        await _refuse(ws, "the API key in the hello is not valid (unknown or revoked)")
        return
    conn = await hub.attach(auth.project_id, hello, ws)
    try:
        await conn.send({"hello": True})
        await _serve(ws, hub, conn, settings)
    except WebSocketDisconnect:
        pass
    finally:
        await hub.detach(conn)


async def _serve(ws: WebSocket, hub: DeviceHub, conn: LiveConnection, settings) -> None:
    errors = 0
    while True:
        raw = await _receive(ws)
        if raw is None:
            return
        try:
            message = decode_json(raw, max_bytes=settings.device_max_message_bytes)
            parsed = parse_device_message(
                message, max_snapshot_bytes=settings.device_max_message_bytes
            )
        except ProtocolError as exc:
            errors += 1
            await conn.send({"error": str(exc)})
            if errors >= MAX_ERRORS:
                await ws.close(
                    code=POLICY_VIOLATION, reason=f"{MAX_ERRORS} invalid messages in a row"
                )
                return
            continue
        errors = 0
        await hub.on_message(conn, parsed)


@router.websocket("/api/remote-management")
async def remote_management(websocket: WebSocket) -> None:
    await serve_device(websocket)


@router.websocket("/")
async def remote_management_root(websocket: WebSocket) -> None:
    """Where Edge Impulse's firmware and daemon connect (`ws://<host>:4802/`)."""
    await serve_device(websocket)
