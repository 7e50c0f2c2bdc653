"""The Versions page: save with a description, list, compare two, restore into a new project."""

from __future__ import annotations

import re

from tests.app.api.helpers import wav_bytes


def _upload(client, key: str, label: str) -> int:
    r = client.post(
        "/api/training/files",
        headers={"x-api-key": key, "x-label": label},
        files={"data": (f"{label}.1.wav", wav_bytes(), "audio/wav")},
    )
    assert r.status_code == 200, r.text
    return r.json()["files"][0]["sampleId"]


def test_save_compare_and_restore_a_version(browser, user_project, client):
    pid, key = user_project.project.id, user_project.api_key
    _upload(client, key, "yes")
    page = browser.client.get(f"/projects/{pid}/versions")
    assert page.status_code == 200 and "No version yet" in page.text
    r = browser.post(f"/projects/{pid}/versions", {"description": "first take"})
    assert r.status_code == 303
    added = _upload(client, key, "no")
    assert (
        browser.post(f"/projects/{pid}/versions", {"description": "more data"}).status_code == 303
    )
    page = browser.client.get(f"/projects/{pid}/versions")
    assert "first take" in page.text and "more data" in page.text
    assert 'id="version-2"' in page.text and 'name="a"' in page.text
    diff = browser.client.get(f"/projects/{pid}/versions?a=1&b=2")
    assert diff.status_code == 200
    assert 'id="diff-added">1<' in diff.text and f"ids {added})" in diff.text
    assert 'id="diff-removed">0<' in diff.text
    missing = browser.client.get(f"/projects/{pid}/versions?a=1&b=9")
    assert missing.status_code == 404
    r = browser.post(f"/projects/{pid}/versions/1/restore")
    assert r.status_code == 303
    new_page = browser.client.get(r.headers["location"])
    assert "(version 1)" in new_page.text and re.search(r'id="new-api-key">tf_key_', new_page.text)
    assert 'id="count-samples">1<' in new_page.text
    long = browser.post(f"/projects/{pid}/versions", {"description": "x" * 2001})
    assert long.status_code == 422


def test_delete_a_version(browser, user_project, client, settings):
    pid = user_project.project.id
    assert browser.post(f"/projects/{pid}/versions", {"description": "v1"}).status_code == 303
    blobs = sorted(p.name for p in settings.storage_dir.rglob("*-v1.zip"))
    assert len(blobs) == 1
    assert browser.post(f"/projects/{pid}/versions/1/delete").status_code == 303
    assert "No version yet" in browser.client.get(f"/projects/{pid}/versions").text
    assert not list(settings.storage_dir.rglob("*-v1.zip"))
    assert browser.post(f"/projects/{pid}/versions/1/delete").status_code == 404
    key = {"x-api-key": user_project.api_key}
    assert browser.post(f"/projects/{pid}/versions", {"description": "again"}).status_code == 303
    assert client.delete(f"/api/{pid}/versions/1", headers=key).status_code == 200
    assert client.get(f"/api/{pid}/versions", headers=key).json()["versions"] == []
