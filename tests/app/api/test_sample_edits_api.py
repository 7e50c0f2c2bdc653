"""Bulk edits, crop and split through the API; a refused edit leaves everything as it was."""

from __future__ import annotations

import numpy as np

from app.ingestion import encode_wav
from tests.app.api.helpers import acquisition, key, snapshot


def _upload(client, api_key, body, name, label="a", category="training", ctype="application/json"):
    r = client.post(
        f"/api/{category}/data",
        content=body,
        headers=key(api_key, **{"x-label": label, "x-file-name": name, "content-type": ctype}),
    )
    assert r.status_code == 200, r.text
    return r.json()["files"][0]["sampleId"]


def test_bulk_relabel_move_delete(client, make_project, settings):
    p = make_project()
    k = key(p.api_key)
    ids = [
        _upload(client, p.api_key, acquisition([[float(i), 1.0, 2.0]] * 5), f"s{i}.json")
        for i in range(4)
    ]
    base = f"/api/{p.project.id}/raw-data"
    assert (
        client.post(
            f"{base}/batch/edit-label", json={"ids": ids[:3], "label": "wave"}, headers=k
        ).json()["count"]
        == 3
    )
    assert (
        client.post(
            f"{base}/batch/move", json={"ids": ids[1:3], "category": "testing"}, headers=k
        ).json()["count"]
        == 2
    )
    rows = {
        s["id"]: (s["label"], s["category"]) for s in client.get(base, headers=k).json()["samples"]
    }
    assert rows == {
        ids[0]: ("wave", "training"),
        ids[1]: ("wave", "testing"),
        ids[2]: ("wave", "testing"),
        ids[3]: ("a", "training"),
    }
    before = snapshot(settings)
    r = client.post(f"{base}/batch/delete", json={"ids": [ids[0], 999999]}, headers=k)
    assert r.status_code == 404 and "999999" in r.json()["error"]
    assert snapshot(settings) == before  # all or nothing
    r = client.post(f"{base}/batch/move", json={"ids": ids, "category": "nowhere"}, headers=k)
    assert r.status_code == 422
    assert (
        client.post(f"{base}/batch/delete", json={"ids": ids[:2]}, headers=k).json()["count"] == 2
    )
    assert sorted(s["id"] for s in client.get(base, headers=k).json()["samples"]) == ids[2:]


def test_crop_and_split_a_time_series(client, make_project, settings):
    p = make_project()
    k = key(p.api_key)
    values = [[float(i), float(i % 7), -float(i)] for i in range(100)]  # 1 s at 100 Hz
    sid = _upload(
        client,
        p.api_key,
        acquisition(values, hmac_key=p.hmac_key, device="board"),
        "walk.json",
        label="walk",
        category="testing",
    )
    base = f"/api/{p.project.id}/raw-data"
    before = snapshot(settings)
    for body, expected in (
        ({"startMs": 500, "endMs": 400}, "start < end"),
        ({"startMs": 2000, "endMs": 3000}, "outside"),
    ):
        r = client.post(f"{base}/{sid}/crop", json=body, headers=k)
        assert r.status_code == 400 and expected in r.json()["error"]
    assert snapshot(settings) == before
    new = client.post(f"{base}/{sid}/crop", json={"startMs": 200, "endMs": 700}, headers=k).json()[
        "sampleId"
    ]
    assert client.get(f"{base}/{sid}", headers=k).status_code == 404
    got = client.get(f"{base}/{new}", headers=k).json()
    assert got["sample"]["label"] == "walk" and got["sample"]["category"] == "testing"
    assert got["sample"]["deviceName"] == "board" and got["sample"]["filename"] == "walk.json"
    assert (
        "hmac_key_index" not in got["sample"]["metadata"] and not got["sample"]["signatureValidate"]
    )
    assert np.array_equal(np.asarray(got["payload"]["values"])[:, 0], np.arange(20, 70))
    parts = client.post(
        f"{base}/{new}/split",
        json={"segments": [{"startMs": 0, "endMs": 100}, {"startMs": 300, "endMs": 500}]},
        headers=k,
    ).json()["sampleIds"]
    firsts = [client.get(f"{base}/{i}", headers=k).json()["payload"]["values"][0][0] for i in parts]
    assert firsts == [20.0, 50.0]
    names = sorted(s["filename"] for s in client.get(base, headers=k).json()["samples"])
    assert names == ["walk.1.json", "walk.2.json"]


def test_split_audio_by_detected_events(client, make_project):
    p = make_project()
    k = key(p.api_key)
    rate = 8000
    rng = np.random.default_rng(0)
    x = rng.normal(0, 100, 4 * rate)
    t = np.arange(int(0.25 * rate)) / rate
    for c in (0.7, 2.0, 3.3):
        a = int((c - 0.125) * rate)
        x[a : a + len(t)] += 9000 * np.sin(2 * np.pi * 500 * t) * np.hanning(len(t))
    body = encode_wav(np.clip(x, -32768, 32767).astype(np.int16), rate=rate, bits=16)
    r = client.post(
        "/api/training/files",
        files={"data": ("yes.wav", body, "audio/wav")},
        headers=key(p.api_key, **{"x-label": "yes"}),
    )
    sid = r.json()["files"][0]["sampleId"]
    base = f"/api/{p.project.id}/raw-data"
    segs = client.get(
        f"{base}/{sid}/find-segments", params={"segmentLengthMs": 1000}, headers=k
    ).json()["segments"]
    assert [round((s["startMs"] + s["endMs"]) / 2 / 100) for s in segs] == [7, 20, 33]
    ids = client.post(f"{base}/{sid}/split", json={"segments": segs}, headers=k).json()["sampleIds"]
    rows = [client.get(f"{base}/{i}", headers=k).json()["sample"] for i in ids]
    assert [(s["label"], s["valuesCount"], s["format"]) for s in rows] == [("yes", 8000, "wav")] * 3
    wav = client.get(f"{base}/{ids[1]}/wav", headers=k)
    assert wav.content[:4] == b"RIFF"
    assert client.get(f"{base}/{sid}/find-segments", headers=k).status_code == 404
