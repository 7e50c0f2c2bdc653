"""Device ingestion, compatible with Edge Impulse's Ingestion API (same paths, headers and
responses)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from app.ingestion.errors import IngestionError
from app.ingestion.names import decode_header_value
from app.services import samples as sample_service
from app.services.errors import BadRequest, NotFound, ServiceError, TooLarge, Unauthorized
from app.services.ingest_batcher import ProjectAuth
from app.services.samples import FileResult, IngestOptions, PendingSample, UploadedFile

router = APIRouter(prefix="/api", tags=["ingestion"])


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


async def ingestion_auth(state, x_api_key: str | None) -> ProjectAuth:
    """The project of the x-api-key header, through the app's short-lived key cache."""
    if not x_api_key:
        raise Unauthorized("missing credentials: send a project API key in the x-api-key header")
    cache = state.key_cache
    fresh, auth = cache.cached(x_api_key.strip())
    if not fresh:
        auth = await run_in_threadpool(cache.lookup, x_api_key.strip())
    if auth is None:
        raise Unauthorized("the API key in x-api-key is not valid (unknown or revoked)")
    return auth


INLINE_DECODE_BYTES = 64 * 1024  # smaller bodies decode on the event loop; larger ones in a thread


async def _store(
    state,
    auth: ProjectAuth,
    uploads: list[UploadedFile],
    opts: IngestOptions,
) -> tuple[int, dict]:
    def prepare_all() -> list[PendingSample | FileResult | None]:
        return [sample_service.prepare(auth.project_id, u, opts) for u in uploads]

    if sum(len(u.data) for u in uploads) <= INLINE_DECODE_BYTES:
        prepared = prepare_all()
    else:
        prepared = await run_in_threadpool(prepare_all)
    pending = [p for p in prepared if isinstance(p, PendingSample)]
    stored = iter(await state.batcher.submit(pending))
    return _respond(
        [next(stored) if isinstance(p, PendingSample) else p for p in prepared if p is not None]
    )


def _header_text(value: str, *, header: str) -> str:
    """A text header: its raw bytes (latin-1 on the wire) must be UTF-8, and its %-escapes too."""
    try:
        raw = value.encode("latin-1").decode("utf-8")
        return decode_header_value(raw, header=header)
    except UnicodeError:
        raise BadRequest(f"Header {header} is not valid UTF-8.") from None
    except IngestionError as exc:
        raise BadRequest(exc.message) from None


_DISPOSITION_FILENAME = re.compile(r'filename="([^"]*)"|filename=([^;\s]+)', re.IGNORECASE)


def _part_filename(part: UploadFile) -> str | None:
    """The file name as the client sent it. The multipart parser keeps only what follows the last
    backslash of `C:\\dir\\x.json` (an old browser's habit), which would let an absolute path
    through unseen: given whole, the sample service refuses it as docs/ingestion.md says."""
    m = _DISPOSITION_FILENAME.search(part.headers.get("content-disposition", ""))
    if not m or not part.filename:
        return part.filename
    raw = m.group(1) if m.group(1) is not None else m.group(2)
    return raw if raw != part.filename and raw.endswith("\\" + part.filename) else part.filename


def _options(
    category: str,
    settings,
    auth: ProjectAuth,
    *,
    x_label,
    x_no_label,
    x_disallow_duplicates,
    x_add_date_id,
    x_metadata,
    x_interval_ms,
) -> IngestOptions:
    if category not in sample_service.INGEST_CATEGORIES:
        raise NotFound(f"unknown category '{category}': use training, testing, anomaly or split")
    metadata: dict = {}
    if x_metadata:
        try:
            metadata = json.loads(x_metadata)
        except ValueError as exc:
            raise BadRequest(f"x-metadata is not valid JSON: {exc}") from exc
        if not isinstance(metadata, dict):
            raise BadRequest("x-metadata must be a JSON object of key/value pairs")
    interval = None
    if x_interval_ms:
        try:
            interval = float(x_interval_ms)
        except ValueError as exc:
            raise BadRequest("x-interval-ms must be a number of milliseconds") from exc
    return IngestOptions(
        category=category,
        label=_header_text(x_label, header="x-label") if x_label is not None else None,
        no_label=_flag(x_no_label),
        disallow_duplicates=_flag(x_disallow_duplicates),
        add_date_id=_flag(x_add_date_id),
        metadata=metadata,
        hmac_keys=auth.hmac_keys,
        require_signature=auth.require_signed_data,
        max_file_bytes=settings.max_file_bytes,
        csv_interval_ms=interval,
    )


def _respond(results: list[sample_service.FileResult]) -> tuple[int, dict]:
    """(status, body) of an ingestion request: per-file results, the first error when all failed."""
    files = [r.as_json() for r in results]
    ok = all(r.success for r in results) and bool(results)
    if ok:
        return 200, {"success": True, "files": files}
    failed = [r for r in results if not r.success]
    error = "; ".join(r.error or "failed" for r in failed) if failed else "no files were uploaded"
    status = 200 if len(failed) < len(results) else (failed[0].status if failed else 400)
    return status, {"success": False, "error": error, "files": files}


async def _read_body(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body is {int(declared)} bytes; the limit is {limit} bytes")
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the request body exceeds the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


# Headers are read from the request directly rather than declared as parameters: FastAPI's
# dependency solving of eight header parameters cost more than decoding the sample itself on this
# hot path. They are still documented in the OpenAPI schema through `openapi_extra`.
_HEADER_DOCS = {
    "x-api-key": "project API key (required)",
    "x-label": "label (URI-encoded); default: the file name before the first '.'",
    "x-file-name": "file name (URI-encoded; /data only)",
    "x-no-label": "1: store without a label",
    "x-disallow-duplicates": "1: refuse data the project already holds (409)",
    "x-add-date-id": "1: make the file name unique with a date id",
    "x-metadata": "JSON object of metadata",
    "x-interval-ms": "sample interval for a CSV without timestamps",
}
_OPENAPI = {
    "parameters": [
        {
            "name": k,
            "in": "header",
            "required": k == "x-api-key",
            "description": v,
            "schema": {"type": "string"},
        }
        for k, v in _HEADER_DOCS.items()
    ]
}


def _header_options(h: Mapping[str, str]) -> dict[str, str | None]:
    return {
        "x_label": h.get("x-label"),
        "x_no_label": h.get("x-no-label"),
        "x_disallow_duplicates": h.get("x-disallow-duplicates"),
        "x_add_date_id": h.get("x-add-date-id"),
        "x_metadata": h.get("x-metadata"),
        "x_interval_ms": h.get("x-interval-ms"),
    }


async def ingest_data_body(
    state,
    category: str,
    headers: Mapping[str, str],
    body: AsyncIterator[bytes],
) -> tuple[int, dict]:
    """One sample in the body: (status, response body). `headers` has lower-case names."""
    settings = state.settings
    auth = await ingestion_auth(state, headers.get("x-api-key"))
    data = await _read_body(
        body, headers.get("content-length"), min(settings.max_upload_bytes, settings.max_file_bytes)
    )
    opts = _options(category, settings, auth, **_header_options(headers))
    content_type = headers.get("content-type")
    x_file_name = headers.get("x-file-name")
    if x_file_name:
        name = _header_text(x_file_name, header="x-file-name")
    else:
        ext = "cbor" if content_type and "cbor" in content_type else "json"
        name = f"{opts.label or 'sample'}.{ext}"
    return await _store(
        state, auth, [UploadedFile(filename=name, data=data, content_type=content_type)], opts
    )


@router.post(
    "/{category}/data",
    summary="Ingest one sample in the data acquisition format (JSON or CBOR)",
    openapi_extra=_OPENAPI,
)
async def ingest_data(category: str, request: Request) -> JSONResponse:
    # Served by `IngestionFastPath` for the four categories; this route documents it and answers the
    # rest.
    status, content = await ingest_data_body(
        request.app.state, category, request.headers, request.stream()
    )
    return JSONResponse(content, status_code=status)


@router.post(
    "/{category}/files",
    summary="Ingest files (multipart field 'data'): JSON, CBOR, WAV, CSV, JPG, PNG",
    openapi_extra=_OPENAPI,
)
async def ingest_files(category: str, request: Request) -> JSONResponse:
    settings = request.app.state.settings
    auth = await ingestion_auth(request.app.state, request.headers.get("x-api-key"))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes:
        raise TooLarge(
            f"the request body is {int(declared)} bytes; the limit is "
            f"{settings.max_upload_bytes} bytes"
        )
    opts = _options(category, settings, auth, **_header_options(request.headers))
    if not (request.headers.get("content-type") or "").startswith("multipart/form-data"):
        raise BadRequest("send the files as multipart/form-data in a field named 'data'")
    try:
        form = await request.form(
            max_files=settings.max_files_per_request, max_part_size=settings.max_file_bytes
        )
    except TooLarge:
        raise
    except Exception as exc:  # malformed multipart, too many files, a part too large
        raise BadRequest(f"could not read the multipart body: {exc}") from exc
    try:
        parts = [p for p in form.getlist("data") if isinstance(p, UploadFile)]
        if not parts:
            raise BadRequest("no files found: send them in the multipart field named 'data'")
        uploads, total = [], 0
        for part in parts:
            total += part.size or 0
            if total > settings.max_upload_bytes:
                raise TooLarge(
                    f"the uploaded files exceed the limit of {settings.max_upload_bytes} "
                    "bytes per request"
                )
            if (part.size or 0) > settings.max_file_bytes:
                raise TooLarge(
                    f"{part.filename or 'a file'} is {part.size} bytes; "
                    f"the limit is {settings.max_file_bytes} bytes per file"
                )
            data = await part.read()
            uploads.append(
                UploadedFile(
                    filename=_part_filename(part), data=data, content_type=part.content_type
                )
            )
    finally:
        await form.close()
    status, content = await _store(request.app.state, auth, uploads, opts)
    return JSONResponse(content, status_code=status)


_DATA_PATH = re.compile(r"(?:/v1)?/api/(training|testing|anomaly|split)/data")
_JSON_HEADERS = [(b"content-type", b"application/json")]


class IngestionFastPath:
    """Pure ASGI middleware serving `POST /api/{category}/data` (and `/v1/...`) ahead of the session
    middleware, the router and FastAPI's request handling: the devices' hot path. Same code, same
    responses as the route above; every other request passes through untouched."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not (m := _DATA_PATH.fullmatch(scope["path"]))
        ):
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for name, value in reversed(
            scope["headers"]
        ):  # the first of repeated headers wins, as in Starlette
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect()
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        try:
            status, content = await ingest_data_body(
                scope["app"].state, m.group(1), headers, body()
            )
        except ServiceError as exc:
            status, content = exc.status, {"success": False, "error": exc.message}
        except ClientDisconnect:
            return
        payload = orjson.dumps(content)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})
