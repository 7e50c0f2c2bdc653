"""Issue 10 item 4: ingestion-only keys for devices. With the key every device carries, anyone
could switch off the signature requirement (`POST /api/{id} {"requireSignedData": false}`)."""

from __future__ import annotations

import re

from tests.app.api.helpers import acquisition, key


def _device_key(browser, project_id: int) -> str:
    r = browser.post(f"/projects/{project_id}/device-key")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    device_key = re.search(r'<code id="new-device-key">([^<]+)</code>', r.text).group(1)
    assert f'-H "x-api-key: {device_key}"' in r.text  # the snippet carries the device key
    return device_key


def test_a_device_key_sends_data_and_nothing_else(browser, user_project, client):
    pid = user_project.project.id
    device_key = _device_key(browser, pid)

    r = client.post(
        "/api/training/data",
        content=acquisition(),
        headers=key(device_key, **{"content-type": "application/json", "x-label": "a"}),
    )
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/testing/files",
        files=[("data", ("b.01.json", acquisition(), "application/json"))],
        headers=key(device_key),
    )
    assert r.status_code == 200, r.text
    # what a device asks before sending: its project, the HMAC key, registering itself
    assert client.get("/api/projects", headers=key(device_key)).status_code == 200
    devkeys = client.get(f"/api/{pid}/devkeys", headers=key(device_key)).json()
    assert devkeys["hmacKey"] == user_project.hmac_key
    r = client.post(
        f"/api/{pid}/devices/create",
        json={"deviceId": "dev-9", "deviceType": "BOARD"},
        headers=key(device_key),
    )
    assert r.status_code == 200, r.text

    for method, path, body in [
        ("POST", f"/api/{pid}", {"requireSignedData": False}),
        ("GET", f"/api/{pid}", None),
        ("GET", f"/api/{pid}/raw-data", None),
        ("POST", f"/api/{pid}/raw-data/delete-all", None),
        ("POST", f"/api/{pid}/jobs/wait", {"seconds": 0}),
        ("POST", f"/v1/api/{pid}", {"requireSignedData": False}),
    ]:
        r = client.request(method, path, json=body, headers=key(device_key))
        assert r.status_code == 403, (method, path, r.text)
        assert "ingestion key" in r.json()["error"]
    # the project's first key (an admin key since issue 16) changes settings
    r = client.post(
        f"/api/{pid}", json={"requireSignedData": True}, headers=key(user_project.api_key)
    )
    assert r.status_code == 200
    keys = browser.client.get(f"/projects/{pid}").text
    assert "ingestion only" in keys and "(default, admin" in keys


def test_project_create_prints_an_admin_key(tmp_path):
    from tests.app.test_cli import run

    proc = run(["project", "create", "--name", "p"], tmp_path / "d")
    printed = re.search(r"tf_key_[0-9a-f]+", proc.stdout).group(0)
    from app.core.config import Settings
    from app.core.db import session_scope
    from app.services import projects

    settings = Settings(data_dir=tmp_path / "d", environment="test")
    with session_scope(settings) as s:
        api_key, _ = projects.key_and_project(s, printed)
        assert api_key.role == "admin"  # the project's first key acts as an admin (issue 16)
