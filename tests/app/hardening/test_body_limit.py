"""Issue 10 item 2: request bodies are counted while they stream in and stopped at the limit."""

from __future__ import annotations

import pytest

from tests.app.hardening.uploads import PeakRss, chunked_multipart

MB = 1 << 20


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("route", ["files", "model"])
def test_a_chunked_upload_past_the_limit_is_413_and_memory_stays_flat(
    live_server, make_project, settings, route
):
    """300 MB sent without Content-Length: the server answered after holding it all (+300 MB);
    now it stops reading at max_upload_bytes (100 MB) and grows by less than 50 MB."""
    p = make_project()
    path = "/api/training/files" if route == "files" else f"/api/{p.project.id}/models/upload"
    field = "data" if route == "files" else "file"
    total = 300 * MB
    peak = PeakRss()
    status, sent = chunked_multipart(
        live_server, path, {"x-api-key": p.api_key}, total_bytes=total, field=field
    )
    growth = peak.stop()
    print(f"{route}: sent {sent / MB:.0f} MB, status {status}, RSS growth {growth / MB:.1f} MB")
    assert growth < 50 * MB, f"the server grew by {growth / MB:.0f} MB"
    assert sent < total, "the server read the whole body"
    assert status in (413, None)
    assert sent <= settings.max_upload_bytes + 16 * MB


def test_content_length_above_the_limit_is_413_before_the_body(client, make_project, settings):
    p = make_project()
    declared = settings.max_upload_bytes + 1
    for path in (f"/api/{p.project.id}/models/upload", "/api/training/files", "/login"):
        r = client.post(
            path,
            content=b"x" * 10,
            headers={"x-api-key": p.api_key, "content-length": str(declared)},
        )
        assert r.status_code == 413, (path, r.text)
        assert str(settings.max_upload_bytes) in r.json()["error"]
