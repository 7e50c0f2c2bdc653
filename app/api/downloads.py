"""Artifact downloads: streamed through this server, or a redirect to the object store.

Streaming is the default on both backends: the bytes pass through the server in 1 MiB pieces
(never whole in memory), the project's API key or session is checked for the request, and the
client only ever needs to reach this server. With ``TINYFORGE_S3_PRESIGN=true`` and the S3 backend,
a download answers ``307`` with a presigned URL (valid ``TINYFORGE_S3_PRESIGN_EXPIRY_S``) and the
bytes come straight from the object store, which must then be reachable by the clients under the
address in ``TINYFORGE_S3_ENDPOINT_URL``.
"""

from __future__ import annotations

from fastapi.responses import RedirectResponse, Response, StreamingResponse

from app.core.config import Settings
from app.core.storage import BlobStore
from app.models import Artifact
from app.services import artifacts


def artifact_download(
    store: BlobStore, settings: Settings, art: Artifact, *, media_type: str | None = None
) -> Response:
    if settings.s3_presign:
        url = store.presigned_url(
            art.blob_key, filename=art.name, expires_s=settings.s3_presign_expiry_s
        )
        if url is not None:
            return RedirectResponse(url, status_code=307)
    chunks = store.iter_chunks(art.blob_key)  # opens the blob now: a missing one fails here
    return StreamingResponse(
        chunks,
        media_type=media_type or artifacts.media_type(art),
        headers={
            "content-disposition": f'attachment; filename="{art.name}"',
            "content-length": str(art.size_bytes),
        },
    )
