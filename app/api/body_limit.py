"""A request body limit enforced while the body streams in, before any route reads it.

`Content-Length` above the limit is answered with 413 before a byte of the body is read. A body
without one (chunked) is counted as it arrives: past the limit, the next read raises and whatever
the application then answers is replaced by the 413, so no route (a multipart parser, a model
upload, a dashboard form) ever holds more than the limit, and a chunked body of any size costs
the server only what it has buffered.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.services.errors import TooLarge


class BodyTooLarge(TooLarge):
    """Raised by `receive` once the body passes the limit (routes may catch it; the 413 stands)."""


class BodyLimit:
    """Pure ASGI middleware: at most `limit` bytes of body per HTTP request."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def _answer(self, send: Send, message: str) -> None:
        payload = orjson.dumps({"success": False, "error": message})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > limit:
                    await self._answer(
                        send, f"the request body is {int(value)} bytes; the limit is {limit} bytes"
                    )
                    return
                break
        received = 0
        exceeded = False
        started = False
        message_413 = f"the request body exceeds the limit of {limit} bytes"

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(message_413)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(message_413)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # the application answered after its body read failed: the answer is the 413
                if not started:
                    started = True
                    await self._answer(send, message_413)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                started = True
                await self._answer(send, message_413)
