"""Studio-style sample API: list, filter, page, read, edit, delete, rebalance."""

from __future__ import annotations

from tests.app.api.helpers import acquisition, key, snapshot


def _ingest(client, p, n, label, category="training"):
    files = [
        (
            "data",
            (
                f"{label}.{i}.json",
                acquisition(values=[[float(i), 1.0, 2.0], [3.0, 4.0, 5.0]]),
                "application/json",
            ),
        )
        for i in range(n)
    ]
    r = client.post(f"/api/{category}/files", files=files, headers=key(p.api_key))
    assert r.status_code == 200 and r.json()["success"], r.text
    return [f["sampleId"] for f in r.json()["files"]]


def test_list_filters_and_pagination(client, make_project):
    p = make_project()
    _ingest(client, p, 5, "idle")
    _ingest(client, p, 3, "wave")
    _ingest(client, p, 2, "wave", "testing")
    pid, h = p.project.id, key(p.api_key)
    page = client.get(
        f"/api/{pid}/raw-data", params={"category": "training", "limit": 3, "offset": 0}, headers=h
    ).json()
    assert page["totalCount"] == 8 and len(page["samples"]) == 3
    page2 = client.get(
        f"/api/{pid}/raw-data", params={"category": "training", "limit": 3, "offset": 6}, headers=h
    ).json()
    assert len(page2["samples"]) == 2
    assert {s["id"] for s in page["samples"]}.isdisjoint({s["id"] for s in page2["samples"]})
    waves = client.get(f"/api/{pid}/raw-data", params={"labels": '["wave"]'}, headers=h).json()
    assert waves["totalCount"] == 5
    assert (
        client.get(
            f"/api/{pid}/raw-data/count",
            params={"category": "testing", "labels": '["wave"]'},
            headers=h,
        ).json()["count"]
        == 2
    )
    assert (
        client.get(f"/api/{pid}/raw-data", params={"search": "IDLE.3"}, headers=h).json()[
            "totalCount"
        ]
        == 1
    )
    counts = client.get(f"/api/{pid}/raw-data/label-counts", headers=h).json()["counts"]
    assert counts == {"training": {"idle": 5, "wave": 3}, "testing": {"wave": 2}, "anomaly": {}}
    bad = client.get(f"/api/{pid}/raw-data", params={"category": "nope"}, headers=h)
    assert bad.status_code == 422 and "category" in bad.json()["error"]
    bad = client.get(f"/api/{pid}/raw-data", params={"labels": '{"a": 1}'}, headers=h)
    assert bad.status_code == 400


def test_edit_move_enable_rename(client, make_project):
    p = make_project()
    (sid,) = _ingest(client, p, 1, "idle")
    pid, h = p.project.id, key(p.api_key)
    assert client.post(
        f"/api/{pid}/raw-data/{sid}/edit-label", json={"label": "rest"}, headers=h
    ).json()["success"]
    assert client.post(
        f"/api/{pid}/raw-data/{sid}/move", json={"newCategory": "anomaly"}, headers=h
    ).json()["success"]
    assert client.post(f"/api/{pid}/raw-data/{sid}/disable", headers=h).json()["success"]
    assert client.post(
        f"/api/{pid}/raw-data/{sid}/rename", json={"name": "renamed.json"}, headers=h
    ).json()["success"]
    s = client.get(f"/api/{pid}/raw-data/{sid}", headers=h).json()["sample"]
    assert (s["label"], s["category"], s["isDisabled"], s["filename"]) == (
        "rest",
        "anomaly",
        True,
        "renamed.json",
    )
    assert client.post(f"/api/{pid}/raw-data/{sid}/enable", headers=h).json()["success"]
    assert (
        client.get(f"/api/{pid}/raw-data/{sid}", headers=h).json()["sample"]["isDisabled"] is False
    )
    r = client.post(
        f"/api/{pid}/raw-data/{sid}/move", json={"newCategory": "validation"}, headers=h
    )
    assert r.status_code == 422 and "newCategory" in r.json()["error"]
    r = client.post(f"/api/{pid}/raw-data/{sid}/rename", json={"name": "../x"}, headers=h)
    assert r.status_code == 400
    r = client.get(f"/api/{pid}/raw-data/999999", headers=h)
    assert r.status_code == 404 and "sample 999999" in r.json()["error"]


def test_delete_removes_row_and_blob(client, make_project, settings):
    p = make_project()
    ids = _ingest(client, p, 3, "idle")
    _ingest(client, p, 2, "idle", "testing")
    pid, h = p.project.id, key(p.api_key)
    assert len(snapshot(settings)["files"]) == 2  # the files of one request share a pack file
    raw = client.get(f"/api/{pid}/raw-data/{ids[1]}/raw", headers=h).content
    assert client.delete(f"/api/{pid}/raw-data/{ids[0]}", headers=h).json()["success"]
    assert client.get(f"/api/{pid}/raw-data/{ids[0]}", headers=h).status_code == 404
    assert len(snapshot(settings)["files"]) == 2  # the pack still holds ids[1] and ids[2]
    assert client.get(f"/api/{pid}/raw-data/{ids[1]}/raw", headers=h).content == raw
    assert client.post(f"/api/{pid}/raw-data/delete-all/testing", headers=h).json()["deleted"] == 2
    assert len(snapshot(settings)["files"]) == 1
    assert client.post(f"/api/{pid}/raw-data/delete-all", headers=h).json()["deleted"] == 2
    snap = snapshot(settings)
    assert snap["rows"]["samples"] == 0 and snap["files"] == []


def test_rebalance_moves_to_about_80_20(client, make_project):
    p = make_project()
    _ingest(client, p, 100, "idle", "training")
    pid, h = p.project.id, key(p.api_key)
    out = client.post(f"/api/{pid}/rebalance", headers=h).json()
    assert out["success"] and 70 <= out["ratio"]["trainingPercent"] <= 90 and out["moved"] > 0
    again = client.post(f"/api/{pid}/rebalance", headers=h).json()
    assert again["moved"] == 0, "rebalancing twice moves nothing the second time"


def test_project_info_and_settings(client, make_project):
    p = make_project("Alpha")
    pid, h = p.project.id, key(p.api_key)
    info = client.get(f"/api/{pid}", headers=h).json()
    assert info["project"]["name"] == "Alpha" and info["sampleCounts"] == {
        "training": 0,
        "testing": 0,
        "anomaly": 0,
    }
    r = client.post(f"/api/{pid}", json={"name": ""}, headers=h)
    assert r.status_code == 422 and "name" in r.json()["error"]
    assert client.post(f"/api/{pid}", json={"name": "Beta"}, headers=h).json()["success"]
    assert client.get(f"/api/{pid}", headers=h).json()["project"]["name"] == "Beta"
