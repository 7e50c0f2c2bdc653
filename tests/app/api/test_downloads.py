"""Artifact downloads on both blob backends: streamed through the server by default, a 307 to a
presigned URL with TINYFORGE_S3_PRESIGN on S3."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core.db import session_scope
from app.core.storage import get_store
from app.main import create_app
from app.services import artifacts

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ZIP = bytes(range(256)) * 9000  # 2.3 MB: more than one streamed chunk


@pytest.fixture(params=["local", "s3"])
def blob_settings(request, settings):
    if request.param == "local":
        return settings
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return settings.model_copy(
        update={"storage_url": f"s3://{bucket}/tf", "s3_endpoint_url": server.endpoint_url}
    )


def _deployment(s, make_project):
    p = make_project()
    with session_scope(s) as session:
        art = artifacts.save_deployment(
            session,
            get_store(s),
            project_id=p.project.id,
            impulse_id=None,
            job_id=None,
            name="lib-cortex-m4f.zip",
            data=ZIP,
            meta={},
        )
        return p, art.id, art.blob_key


def test_downloads_stream_through_the_server(blob_settings, make_project):
    p, art_id, _ = _deployment(blob_settings, make_project)
    headers = {"x-api-key": p.api_key}
    with TestClient(create_app(blob_settings)) as client:
        pid = p.project.id
        for url in (
            f"/api/{pid}/deployment/download",
            f"/api/{pid}/deployment/download?artifactId={art_id}",
            f"/api/{pid}/artifacts/{art_id}/download",
        ):
            r = client.get(url, headers=headers, follow_redirects=False)
            assert r.status_code == 200, r.text
            assert hashlib.sha256(r.content).digest() == hashlib.sha256(ZIP).digest()
            assert r.headers["content-length"] == str(len(ZIP))
            assert r.headers["content-disposition"] == 'attachment; filename="lib-cortex-m4f.zip"'
        assert client.get(f"/api/{pid}/artifacts/{art_id}/download").status_code == 401
        assert client.get(f"/api/{pid}/artifacts/999/download", headers=headers).status_code == 404


def test_presigned_downloads_redirect_to_the_object_store(
    settings, s3_server, s3_bucket, make_project
):
    s = settings.model_copy(
        update={
            "storage_url": f"s3://{s3_bucket}/tf",
            "s3_endpoint_url": s3_server.endpoint_url,
            "s3_presign": True,
            "s3_presign_expiry_s": 60,
        }
    )
    p, art_id, key = _deployment(s, make_project)
    with TestClient(create_app(s)) as client:
        r = client.get(
            f"/api/{p.project.id}/artifacts/{art_id}/download",
            headers={"x-api-key": p.api_key},
            follow_redirects=False,
        )
        assert r.status_code == 307
        location = r.headers["location"]
        assert location.startswith(f"{s3_server.endpoint_url}/{s3_bucket}/tf/{key}?")
        assert "X-Amz-Expires=60" in location
        # without a key the server refuses before any URL is made
        anon = client.get(
            f"/api/{p.project.id}/artifacts/{art_id}/download", follow_redirects=False
        )
        assert anon.status_code == 401 and "location" not in anon.headers
    got = httpx.get(location)  # straight from the object store, no API key
    assert got.status_code == 200 and got.content == ZIP
    assert got.headers["content-disposition"] == 'attachment; filename="lib-cortex-m4f.zip"'


def test_presign_is_ignored_on_the_local_backend(settings, make_project):
    s = settings.model_copy(update={"s3_presign": True})
    p, art_id, _ = _deployment(s, make_project)
    with TestClient(create_app(s)) as client:
        r = client.get(
            f"/api/{p.project.id}/artifacts/{art_id}/download",
            headers={"x-api-key": p.api_key},
            follow_redirects=False,
        )
    assert r.status_code == 200 and r.content == ZIP
