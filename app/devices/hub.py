"""The devices connected to this web process, and the bus that brings them commands from any
process.

A command is a `device_commands` row addressed to the process that holds the device's socket
(`process_key`). How that process learns about it depends on the deployment:

- Redis broker (scaled out): the requesting process publishes the command id on the holder's channel
  `tinyforge:devices:<process_key>`; the holder is subscribed and sends it to the device at once.
- Embedded mode (filesystem broker, SQLite): the holder polls its pending rows every `poll_s`, only
  while it has devices connected. The database is the bus; nothing lives in one process's memory
  only.

Either way a command is *claimed* with an atomic `pending → sent` update, so it is sent once even if
both paths see it (the Redis holder also sweeps its pending rows on every heartbeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import session_factory
from app.devices import service
from app.devices.protocol import CATEGORY_PATHS, DeviceMessage, Hello
from app.models import DeviceCommand

log = logging.getLogger(__name__)
T = TypeVar("T")
CHANNEL_PREFIX = "tinyforge:devices:"


class Socket(Protocol):
    async def send_json(self, data: Any) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass
class LiveConnection:
    project_id: int
    hello: Hello
    socket: Socket
    connection_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    sample_command: int | None = None
    sample_deadline: float = 0.0
    snapshot_command: int | None = None
    last_frame_at: float = 0.0
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.socket.send_json(message)


class DeviceHub:
    """One per web process (`app.state.device_hub`); `start()`/`stop()` from the app's lifespan."""

    def __init__(
        self,
        settings: Settings,
        *,
        poll_s: float = 0.25,
        heartbeat_s: float = 5.0,
        frame_interval_s: float = 0.2,
    ):
        self.settings = settings
        self.process_key = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll_s = poll_s
        self.heartbeat_s = heartbeat_s
        self.frame_interval_s = frame_interval_s
        self.use_redis = settings.broker_url.startswith(("redis://", "rediss://"))
        self._sessions = session_factory(settings)
        self._live: dict[str, LiveConnection] = {}
        self._tasks: list[asyncio.Task] = []
        self._redis: Any = None
        self._wake = asyncio.Event()

    # --- database in a thread, one transaction per call -------------------------------------------

    async def _db(self, fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with self._sessions() as session:
                out = fn(session)
                session.commit()
                return out

        return await run_in_threadpool(run)

    # --- lifecycle --------------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._heartbeat_loop(), name="device-hub-heartbeat"))
        if self.use_redis:
            self._tasks.append(asyncio.create_task(self._redis_loop(), name="device-hub-redis"))
        else:
            self._tasks.append(asyncio.create_task(self._poll_loop(), name="device-hub-poll"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for conn in list(self._live.values()):
            with contextlib.suppress(Exception):
                await conn.socket.close(code=1001, reason="the server is shutting down")
        had_devices = bool(self._live)
        self._live.clear()
        if had_devices:
            with contextlib.suppress(Exception):
                await self._db(lambda s: service.forget_process(s, self.process_key))
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()

    # --- connections ------------------------------------------------------------------------------

    async def attach(self, project_id: int, hello: Hello, sock: Socket) -> LiveConnection:
        conn = LiveConnection(project_id=project_id, hello=hello, socket=sock)
        for old in [
            c
            for c in self._live.values()
            if (c.project_id, c.hello.device_id) == (project_id, hello.device_id)
        ]:
            await self._drop(old, "replaced by a newer connection of the same device")
        await self._db(
            lambda s: service.register_connection(
                s,
                project_id,
                hello,
                process_key=self.process_key,
                connection_key=conn.connection_key,
            )
        )
        self._live[conn.connection_key] = conn
        self._ensure_running()
        self._wake.set()
        return conn

    async def detach(self, conn: LiveConnection, reason: str = "the device disconnected") -> None:
        if self._live.pop(conn.connection_key, None) is None:
            return
        pending = [c for c in (conn.sample_command, conn.snapshot_command) if c is not None]

        def forget(s: Session) -> None:
            for command_id in pending:
                service.set_status(
                    s, command_id, "failed", error=f"{reason} before the request finished"
                )
            service.unregister_connection(s, conn.connection_key)

        await self._db(forget)

    async def _drop(self, conn: LiveConnection, reason: str) -> None:
        await self.detach(conn, reason)
        with contextlib.suppress(Exception):
            await conn.socket.close(code=4000, reason=reason[:120])

    def connections(self) -> list[LiveConnection]:
        return list(self._live.values())

    # --- commands: bus → device -------------------------------------------------------------------

    async def notify(self, process_key: str, command_id: int) -> None:
        """Tell the process holding the device that a command is waiting (after the row is
        committed)."""
        if process_key == self.process_key:
            await self._deliver_pending()
        elif self.use_redis:
            await (await self._client()).publish(CHANNEL_PREFIX + process_key, str(command_id))

    async def _client(self) -> Any:
        if self._redis is None:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(self.settings.broker_url)
        return self._redis

    async def _deliver_pending(self) -> None:
        if not self._live:
            return
        for command in await self._db(lambda s: service.claim_pending(s, self.process_key)):
            await self._deliver(command)

    async def _deliver(self, command: DeviceCommand) -> None:
        conn = next(
            (
                c
                for c in self._live.values()
                if (c.project_id, c.hello.device_id) == (command.project_id, command.device_id)
            ),
            None,
        )
        if conn is None:
            await self._db(
                lambda s: service.set_status(
                    s,
                    command.id,
                    "failed",
                    error="the device disconnected before the request reached it",
                )
            )
            return
        try:
            if command.kind == "sample":
                if conn.sample_command is not None:
                    raise RuntimeError(
                        f"the device is still busy with request {conn.sample_command}"
                    )
                p = command.params
                hmac = await self._db(lambda s: service.hmac_key(s, command.project_id))
                conn.sample_command = command.id
                conn.sample_deadline = time.monotonic() + p["lengthMs"] / 1000 + 120
                await conn.send(
                    {
                        "sample": {
                            "label": p["label"],
                            "length": p["lengthMs"],
                            "path": CATEGORY_PATHS[p["category"]],
                            "hmacKey": hmac,
                            "interval": p["intervalMs"],
                            "sensor": p["sensor"],
                        }
                    }
                )
            elif command.kind == "start_snapshot":
                conn.snapshot_command = command.id
                await conn.send({"startSnapshot": True, "resolution": "low"})
            else:
                conn.snapshot_command = command.id
                await conn.send({"stopSnapshot": True})
        except Exception as exc:  # the socket closed under us, or the device is busy
            if conn.sample_command == command.id:
                conn.sample_command = None
            error = str(exc) or type(exc).__name__
            await self._db(lambda s: service.set_status(s, command.id, "failed", error=error))

    # --- device → status --------------------------------------------------------------------------

    async def on_message(self, conn: LiveConnection, msg: DeviceMessage) -> None:
        if msg.kind == "snapshot_frame":
            now = time.monotonic()
            if msg.jpeg and now - conn.last_frame_at >= self.frame_interval_s:
                conn.last_frame_at = now
                await self._db(
                    lambda s: service.store_snapshot(s, conn.connection_key, msg.jpeg or b"")
                )
            return
        if msg.kind.startswith("snapshot_"):
            command_id, conn.snapshot_command = conn.snapshot_command, None
            streaming = msg.kind == "snapshot_started"

            def record(s: Session) -> None:
                if msg.kind != "snapshot_failed":
                    service.set_snapshot_streaming(s, conn.connection_key, streaming)
                if command_id is not None:
                    service.set_status(
                        s, command_id, "finished" if msg.ok else "failed", error=msg.error
                    )

            await self._db(record)
            return
        command_id = conn.sample_command
        if command_id is None or msg.kind == "ignored":
            return
        if msg.kind == "sample" and not msg.ok:
            conn.sample_command = None
            await self._db(lambda s: service.set_status(s, command_id, "failed", error=msg.error))
        elif msg.kind == "finished":
            conn.sample_command = None
            await self._db(lambda s: service.set_status(s, command_id, "finished", progress=100))
        else:
            status = "accepted" if msg.kind == "sample" else msg.kind
            await self._db(
                lambda s: service.set_status(s, command_id, status, progress=msg.progress)
            )

    # --- background loops -------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            self._wake.clear()
            try:
                await self._deliver_pending()
            except Exception:
                log.exception("delivering device commands failed")

    async def _redis_loop(self) -> None:
        while True:
            try:
                pubsub = (await self._client()).pubsub()
                await pubsub.subscribe(CHANNEL_PREFIX + self.process_key)
                await self._deliver_pending()  # anything published before the subscription
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._deliver_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the device command subscription failed; retrying")
                await asyncio.sleep(1.0)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self._heartbeat()
            except Exception:
                log.exception("device heartbeat failed")

    async def _heartbeat(self) -> None:
        if not self._live:
            return
        kept = await self._db(lambda s: service.heartbeat(s, self.process_key))
        now = time.monotonic()
        for conn in list(self._live.values()):
            if conn.connection_key not in kept:
                await self._drop(conn, "replaced by a newer connection of the same device")
            elif conn.sample_command is not None and now > conn.sample_deadline:
                command_id, conn.sample_command = conn.sample_command, None

                def fail(s: Session, c: int = command_id) -> None:
                    service.set_status(
                        s, c, "failed", error="the device did not finish the sample in time"
                    )

                await self._db(fail)
        if self.use_redis:
            await self._deliver_pending()
