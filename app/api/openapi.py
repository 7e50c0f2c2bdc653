"""An honest OpenAPI spec, and routes that answer 405 where 405 belongs.

Every operation declares the error statuses it can answer, read from what it depends on: a caller
(401 without credentials, 403 for a key or a CSRF token that may not do this), path parameters (404
for an id that does not exist), a request body (413 past the body limit), the job queue (429 past
a project's job limit); every operation may meet a conflicting state (409); every API route may
refuse a value (400). All error answers have the same body, `ErrorResponse`.

A method that the path's own route does not have answers 405 (see `MethodNotAllowed`), even
where a parameterised route of that method would have taken the path (and answered 422 or 401).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

ERROR_SCHEMA = {
    "title": "ErrorResponse",
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "error": {"type": "string", "description": "what was wrong, in one sentence"},
    },
}
REASONS = {
    400: "The request is not valid (the message says why)",
    401: "Missing or unknown credentials (x-api-key, or a dashboard session)",
    403: "These credentials may not do this (the role it needs is named; an ingestion key; a "
    "missing CSRF token)",
    404: "No such project or resource (or not visible to these credentials)",
    409: "Conflict: a duplicate, a concurrent change, or a state that does not allow this",
    413: "The request body is larger than the limit",
    415: "The uploaded file's type is not supported",
    422: "A parameter or a field of the body is invalid",
    429: "Too many jobs queued or running for this project: retry after `Retry-After` seconds",
}


def _dependants(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _calls(route: Any) -> set[str]:
    return {getattr(d.call, "__name__", "") for d in _dependants(route.dependant) if d.call}


def _routes(app: FastAPI) -> Iterator[Any]:
    """Every API route with its effective (prefixed) path: `path_format`, `methods`, `dependant`."""
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            yield ctx


class MethodNotAllowed:
    """Pure ASGI middleware: 405 (with Allow) for a method that the most specific route matching
    the path does not have. `DELETE /api/1/raw-data/count` matched
    `DELETE /api/{projectId}/raw-data/{sampleId}` and answered 422 (sampleId=count), or 401
    without a key, where `/api/{projectId}/raw-data/count` exists for GET only: the answer is 405.
    Only paths under /api (and the SDK's /v1/api) are looked at; the table of route templates is
    read from the app on the first request."""

    def __init__(self, app: Any, api: FastAPI):
        self.app, self.api = app, api
        self._by_length: dict[int, list[tuple[list[str], set[str]]]] | None = None

    def _table(self) -> dict[int, list[tuple[list[str], set[str]]]]:
        if self._by_length is None:
            table: dict[int, list[tuple[list[str], set[str]]]] = {}
            for ctx in _routes(self.api):
                segments = (ctx.path_format or "").split("/")
                table.setdefault(len(segments), []).append((segments, set(ctx.methods or ())))
            self._by_length = table
        return self._by_length

    def allowed(self, path: str) -> set[str] | None:
        """The methods of the most specific templates matching `path` (None: no template)."""
        if path.startswith("/v1/"):
            path = path[3:]
        segments = path.rstrip("/").split("/") if path != "/" else [""]
        best, methods = -1, set()
        for template, template_methods in self._table().get(len(segments), ()):
            literals = 0
            for got, want in zip(segments, template, strict=True):
                if want.startswith("{"):
                    continue
                if got != want:
                    break
                literals += 1
            else:
                if literals > best:
                    best, methods = literals, set(template_methods)
                elif literals == best:
                    methods |= template_methods
        return methods if best >= 0 else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path.startswith("/api/") or path.startswith("/v1/api/")):
            allowed = self.allowed(path)
            method = scope["method"]
            if allowed and method not in allowed and not (method == "HEAD" and "GET" in allowed):
                body = b'{"success":false,"error":"Method Not Allowed"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 405,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"allow", ", ".join(sorted(allowed)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def error_statuses(route: Any) -> set[int]:
    calls = _calls(route)
    methods = route.methods or set()
    codes = {400, 422}
    if "get_caller" in calls or "current_user" in calls:
        codes |= {401, 403}
    if "get_caller" in calls or "{" in route.path_format:
        codes.add(404)
    codes.add(409)  # a concurrent change; a device or job not in a state that allows this
    if methods - {"GET", "HEAD"}:
        codes.add(413)
    if "get_task_sender" in calls:
        codes.add(429)
    if route.tags and "ingestion" in route.tags:
        codes |= {401, 404, 409, 413, 415}
    return codes


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` with every operation's error statuses declared (see the module doc)."""
    by_operation: dict[tuple[str, str], set[int]] = {}
    for route in _routes(app):
        if route.include_in_schema:
            for method in route.methods or ():
                by_operation[(route.path_format, method.lower())] = error_statuses(route)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        spec.setdefault("components", {}).setdefault("schemas", {})["ErrorResponse"] = ERROR_SCHEMA
        ref = {"$ref": "#/components/schemas/ErrorResponse"}
        for path, operations in spec.get("paths", {}).items():
            for method, op in operations.items():
                codes = by_operation.get((path, method))
                if codes is None:
                    continue
                responses = op.setdefault("responses", {})
                for code in sorted(codes):
                    entry = {
                        "description": REASONS[code],
                        "content": {"application/json": {"schema": ref}},
                    }
                    if code == 429:
                        entry["headers"] = {
                            "Retry-After": {
                                "description": "seconds to wait",
                                "schema": {"type": "integer"},
                            }
                        }
                    if code == 422 and str(code) in responses:
                        responses[str(code)] = entry  # our body, not FastAPI's HTTPValidationError
                    responses.setdefault(str(code), entry)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
