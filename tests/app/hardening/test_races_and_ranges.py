"""Issue 10 item 8: races and ranges."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.app.api.helpers import acquisition, key, snapshot


def _upload(base: str, api_key: str, n: int) -> None:
    files = [
        (
            "data",
            (f"s{i}.json", acquisition(values=[[float(i), 1.0, 2.0]] * 3), "application/json"),
        )
        for i in range(n)
    ]
    r = httpx.post(
        f"{base}/api/training/files",
        files=files,
        headers=key(api_key, **{"x-label": "a", "x-add-date-id": "1"}),
        timeout=60,
    )
    assert r.status_code == 200, r.text


def test_rebalance_while_deleting_everything_is_never_a_500(live_server, make_project):
    """7 of 15 rounds answered 500 (StaleDataError) on SQLite: rebalance updated rows that the
    other request had deleted."""
    p = make_project()
    statuses: list[tuple[str, int, str]] = []
    for _ in range(10):
        _upload(live_server, p.api_key, 150)
        go = threading.Barrier(2)

        def call(path: str, go: threading.Barrier = go) -> None:
            go.wait()
            r = httpx.post(f"{live_server}/api/{p.project.id}/{path}", headers=key(p.api_key))
            statuses.append((path, r.status_code, r.text[:200]))

        threads = [
            threading.Thread(target=call, args=(path,))
            for path in ("rebalance", "raw-data/delete-all")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(code in (200, 409) for _, code, _ in statuses), statuses


BIG = [2**31, 2**63, 10**30]


@pytest.mark.parametrize("big", BIG)
def test_ids_beyond_the_integer_range_are_404(client, make_project, big):
    """Every such id answered 500 (OverflowError on SQLite, DataError on PostgreSQL)."""
    p = make_project()
    pid = p.project.id
    h = key(p.api_key)
    for method, path in [
        ("GET", f"/api/{pid}/raw-data/{big}"),
        ("GET", f"/api/{big}/raw-data"),
        ("GET", f"/api/{pid}/jobs/{big}/status"),
        ("GET", f"/api/{pid}/raw-data/{big}/wav"),
        ("GET", f"/api/{pid}/impulses/{big}"),
        ("DELETE", f"/api/{pid}/raw-data/{big}"),
        ("POST", f"/api/{pid}/raw-data/{big}/enable"),
    ]:
        r = client.request(method, path, headers=h)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.json()["success"] is False


@pytest.mark.parametrize("name", [b"\xff\xfe.json", b"%FF%FE.json", b"ok%C3.json"])
def test_x_file_name_that_is_not_utf8_is_400(live_server, make_project, settings, name):
    """Over a real socket (the test client re-encodes header bytes as UTF-8)."""
    p = make_project()
    before = snapshot(settings)
    r = httpx.post(
        f"{live_server}/api/training/data",
        content=acquisition(),
        headers={"x-api-key": p.api_key, "content-type": "application/json", "x-file-name": name},
    )
    assert r.status_code == 400, r.text
    assert "x-file-name" in r.json()["error"] and "UTF-8" in r.json()["error"]
    assert snapshot(settings) == before


@pytest.mark.parametrize("name", ["C:\\data\\idle.json", "\\\\server\\share\\idle.json"])
def test_a_windows_absolute_multipart_name_is_refused(client, make_project, settings, name):
    """The multipart parser kept only 'idle.json' of 'C:\\data\\idle.json', so it was stored."""
    p = make_project()
    before = snapshot(settings)
    r = client.post(
        "/api/training/files",
        files=[("data", (name, acquisition(), "application/json"))],
        headers=key(p.api_key),
    )
    assert r.status_code == 400, r.text
    assert "absolute path" in r.json()["error"]
    assert snapshot(settings) == before


def test_a_stale_data_error_anywhere_is_a_409(settings):
    """Any other flush that meets a row deleted meanwhile answers 409 (retry), not 500."""
    from fastapi.testclient import TestClient
    from sqlalchemy.orm.exc import StaleDataError

    from app.main import create_app

    app = create_app(settings)

    def stale() -> dict:
        raise StaleDataError("UPDATE statement on table 'samples' expected to update 1 row(s)")

    app.add_api_route("/test-stale", stale, methods=["POST"])
    r = TestClient(app).post("/test-stale")
    assert r.status_code == 409 and "retry" in r.json()["error"]
