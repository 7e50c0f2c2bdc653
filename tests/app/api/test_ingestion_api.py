"""Device ingestion over HTTP: every format, every header, and bad input that must leave no
trace."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import cbor2
import numpy as np
import pytest
from PIL import Image

from tests.app.api.helpers import acquisition, key, snapshot, wav_bytes


def _post_data(client, api_key, body, *, category="training", **headers):
    h = key(api_key, **{"content-type": "application/json", **headers})
    return client.post(f"/api/{category}/data", content=body, headers=h)


def _samples(client, p, **params):
    return client.get(
        f"/api/{p.project.id}/raw-data", params=params, headers=key(p.api_key)
    ).json()["samples"]


def test_signed_json_is_stored_with_label_from_file_name_and_device(client, make_project):
    p = make_project()
    r = _post_data(
        client, p.api_key, acquisition(hmac_key=p.hmac_key), **{"x-file-name": "wave.01.json"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["files"][0]["success"] is True
    sid = body["files"][0]["sampleId"]
    s = client.get(f"/api/{p.project.id}/raw-data/{sid}", headers=key(p.api_key)).json()
    assert s["sample"]["label"] == "wave"
    assert s["sample"]["signatureValidate"] is True and s["sample"]["signatureMethod"] == "HS256"
    assert s["sample"]["deviceName"] == "dev-1" and s["sample"]["intervalMs"] == 10.0
    assert s["payload"]["values"] == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    devices = client.get(f"/api/{p.project.id}/devices", headers=key(p.api_key)).json()["devices"]
    assert [(d["name"], d["deviceType"], d["samples"]) for d in devices] == [
        ("dev-1", "TEST_BOARD", 1)
    ]


def test_unsigned_cbor_json_labelled_as_cbor_and_flattened_values(client, make_project):
    p = make_project()
    cbor = acquisition(encoding="cbor")
    r = _post_data(client, p.api_key, cbor, **{"content-type": "application/cbor", "x-label": "a"})
    assert r.status_code == 200, r.text
    r = _post_data(
        client, p.api_key, acquisition(), **{"content-type": "application/cbor", "x-label": "b"}
    )
    assert r.status_code == 200, r.text
    flat = acquisition(values=[1.0, 2.0, 3.0, 4.0], sensors=[{"name": "audio", "units": "wav"}])
    r = _post_data(client, p.api_key, flat, **{"x-label": "c"})
    assert r.status_code == 200, r.text
    rows = {s["label"]: s for s in _samples(client, p)}
    assert rows["a"]["signatureValidate"] is False and rows["a"]["signatureMethod"] == "none"
    assert rows["a"]["sha256Hash"] == rows["b"]["sha256Hash"], (
        "same data, other encoding: same content hash"
    )
    assert rows["c"]["valuesCount"] == 4


def test_labels_and_names_are_uri_decoded_and_metadata_kept(client, make_project):
    p = make_project()
    r = _post_data(
        client,
        p.api_key,
        acquisition(),
        **{
            "x-label": quote("caf\u00e9 noise"),
            "x-file-name": quote("my file.json"),
            "x-metadata": json.dumps({"site": "lab 2", "run": 3}),
        },
    )
    assert r.status_code == 200, r.text
    s = _samples(client, p)[0]
    assert s["label"] == "caf\u00e9 noise" and s["filename"] == "my file.json"
    assert s["metadata"]["site"] == "lab 2" and s["metadata"]["run"] == "3"


def test_no_label_and_add_date_id(client, make_project):
    p = make_project()
    r = _post_data(
        client,
        p.api_key,
        acquisition(),
        **{"x-file-name": "idle.json", "x-no-label": "1", "x-add-date-id": "1"},
    )
    assert r.status_code == 200
    s = _samples(client, p)[0]
    assert s["label"] == "" and s["filename"].startswith("idle.") and s["filename"] != "idle.json"


def test_multipart_files_of_every_kind(client, make_project):
    p = make_project()
    img = io.BytesIO()
    Image.fromarray(np.full((12, 16, 3), 200, np.uint8)).save(img, format="PNG")
    csv = b"timestamp,accX,accY\n0,1,2\n10,3,4\n20,5,6\n"
    files = [
        ("data", ("yes.1.wav", wav_bytes(), "audio/wav")),
        ("data", ("shake.2.csv", csv, "text/csv")),
        ("data", ("cat.3.png", img.getvalue(), "image/png")),
        ("data", ("idle.4.json", acquisition(), "application/json")),
    ]
    r = client.post("/api/testing/files", files=files, headers=key(p.api_key))
    assert r.status_code == 200, r.text
    assert [f["success"] for f in r.json()["files"]] == [True] * 4
    by_label = {s["label"]: s for s in _samples(client, p, category="testing")}
    assert set(by_label) == {"yes", "shake", "cat", "idle"}
    assert by_label["yes"]["frequency"] == 8000.0 and by_label["yes"]["valuesCount"] == 2000
    assert by_label["shake"]["intervalMs"] == 10.0 and by_label["shake"]["valuesCount"] == 3
    assert by_label["cat"]["chartType"] == "image" and by_label["cat"]["imageWidth"] == 16
    raw = client.get(
        f"/api/{p.project.id}/raw-data/{by_label['yes']['id']}/raw", headers=key(p.api_key)
    )
    assert raw.content == files[0][1][1] and raw.headers["content-type"] == "audio/wav"


def test_multi_file_request_reports_each_file_and_keeps_only_good_ones(
    client, make_project, settings
):
    p = make_project()
    files = [
        ("data", ("ok.1.json", acquisition(), "application/json")),
        ("data", ("bad.2.json", b"{not json", "application/json")),
        ("data", ("../evil.json", acquisition(values=[[9.0, 9.0, 9.0]]), "application/json")),
    ]
    r = client.post("/api/training/files", files=files, headers=key(p.api_key))
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is False
    assert [f["success"] for f in body["files"]] == [True, False, False]
    assert all(f.get("error") for f in body["files"][1:])
    snap = snapshot(settings)
    assert snap["rows"]["samples"] == 1 and len(snap["files"]) == 1


def test_split_is_deterministic_and_about_80_20(client, make_project):
    p = make_project()
    files = [
        ("data", (f"s.{i}.json", acquisition(values=[[float(i), 0.0, 1.0]]), "application/json"))
        for i in range(200)
    ]
    r = client.post("/api/split/files", files=files, headers=key(p.api_key))
    assert r.status_code == 200 and r.json()["success"], r.text
    counts = client.get(
        f"/api/{p.project.id}/raw-data/label-counts", headers=key(p.api_key)
    ).json()["counts"]
    train, test = counts["training"].get("s", 0), counts["testing"].get("s", 0)
    assert train + test == 200 and 0.70 <= train / 200 <= 0.90
    first = {s["filename"]: s["category"] for s in _samples(client, p, limit=500)}
    client.post(f"/api/{p.project.id}/raw-data/delete-all", headers=key(p.api_key))
    client.post("/api/split/files", files=files, headers=key(p.api_key))
    again = {s["filename"]: s["category"] for s in _samples(client, p, limit=500)}
    assert first == again


def test_duplicates_rejected_only_when_asked(client, make_project, settings):
    p = make_project()
    body = acquisition(hmac_key=p.hmac_key)
    assert _post_data(client, p.api_key, body).status_code == 200
    assert _post_data(client, p.api_key, body).status_code == 200  # duplicates allowed by default
    before = snapshot(settings)
    r = _post_data(
        client, p.api_key, acquisition(), **{"x-disallow-duplicates": "1"}
    )  # same data, unsigned
    assert r.status_code == 409 and "duplicate" in r.json()["error"]
    assert snapshot(settings) == before


def test_project_requiring_signatures_rejects_unsigned(client, make_project, settings):
    p = make_project()
    client.post(f"/api/{p.project.id}", json={"requireSignedData": True}, headers=key(p.api_key))
    before = snapshot(settings)
    r = _post_data(client, p.api_key, acquisition())
    assert r.status_code == 401 and "sign" in r.json()["error"].lower()
    assert snapshot(settings) == before
    assert _post_data(client, p.api_key, acquisition(hmac_key=p.hmac_key)).status_code == 200


def _bad_cases():
    wrong_sig = acquisition(hmac_key="0" * 32)
    tampered = acquisition(hmac_key="KEY").replace(b"4.0", b"4.5")
    return [
        ("malformed json", dict(body=b'{"protected": {"ver": "v1"', ct="application/json"), 400),
        ("not an object", dict(body=b"[1, 2, 3]", ct="application/json"), 400),
        ("garbage cbor", dict(body=b"\xff\x00\x13garbage", ct="application/cbor"), 400),
        (
            "no values",
            dict(
                body=json.dumps(
                    {
                        "protected": {"ver": "v1", "alg": "none"},
                        "signature": "0" * 64,
                        "payload": {"interval_ms": 10, "sensors": [{"name": "a", "units": "x"}]},
                    }
                ).encode()
            ),
            400,
        ),
        (
            "nan value",
            dict(body=acquisition(values=[[1.0, 2.0, 3.0]]).replace(b"2.0", b"NaN")),
            400,
        ),
        ("ragged rows", dict(body=acquisition(values=[[1.0, 2.0, 3.0], [1.0, 2.0]])), 400),
        ("bad interval", dict(body=acquisition(interval_ms=0)), 400),
        ("wrong signature", dict(body=wrong_sig), 401),
        ("tampered body", dict(body=tampered), 401),
        (
            "cbor map that is no message",
            dict(body=cbor2.dumps({"a": 1}), ct="application/cbor"),
            400,
        ),
        (
            "path traversal name",
            dict(body=acquisition(), headers={"x-file-name": "../../etc/x.json"}),
            400,
        ),
        (
            "absolute path name",
            dict(body=acquisition(), headers={"x-file-name": "/etc/passwd.json"}),
            400,
        ),
        ("NUL in name", dict(body=acquisition(), headers={"x-file-name": "a%00b.json"}), 400),
        ("bad metadata", dict(body=acquisition(), headers={"x-metadata": "{oops"}), 400),
        ("metadata not object", dict(body=acquisition(), headers={"x-metadata": "[1]"}), 400),
        (
            "unsupported type",
            dict(
                body=b"MZ\x90\x00binary",
                ct="application/octet-stream",
                headers={"x-file-name": "tool.exe"},
            ),
            415,
        ),
        ("unknown category", dict(body=acquisition(), category="validation"), 404),
    ]


@pytest.mark.parametrize("name,case,status", _bad_cases(), ids=[c[0] for c in _bad_cases()])
def test_bad_bodies_get_their_4xx_and_leave_nothing(
    client, make_project, settings, name, case, status
):
    p = make_project()
    before = snapshot(settings)
    headers = {"content-type": case.get("ct", "application/json"), **case.get("headers", {})}
    r = _post_data(
        client, p.api_key, case["body"], category=case.get("category", "training"), **headers
    )
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and isinstance(body["error"], str) and len(body["error"]) > 10
    assert snapshot(settings) == before


def test_wrong_and_missing_keys_are_401(client, make_project, settings):
    make_project()
    before = snapshot(settings)
    r = client.post(
        "/api/training/data", content=acquisition(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 401 and "x-api-key" in r.json()["error"]
    r = client.post("/api/training/data", content=acquisition(), headers=key("tf_key_" + "0" * 40))
    assert r.status_code == 401 and "not valid" in r.json()["error"]
    assert snapshot(settings) == before


def test_oversize_uploads_are_413(app, client, make_project, settings):
    p = make_project()
    settings.max_file_bytes = 2048
    settings.max_upload_bytes = 4096
    before = snapshot(settings)
    big = acquisition(values=[[float(i), 0.0, 0.0] for i in range(400)])
    assert len(big) > 4096
    r = _post_data(client, p.api_key, big)
    assert r.status_code == 413 and "limit" in r.json()["error"]
    r = client.post(
        "/api/training/files",
        files=[("data", ("big.json", big, "application/json"))],
        headers=key(p.api_key),
    )
    assert r.status_code == 413, r.text
    medium = acquisition(values=[[float(i), 0.0, 0.0] for i in range(150)])
    assert 2048 < len(medium) < 4096
    r = client.post(
        "/api/training/files",
        files=[("data", ("m.json", medium, "application/json"))],
        headers=key(p.api_key),
    )
    assert r.status_code in (400, 413) and r.json()["success"] is False
    assert snapshot(settings) == before


def test_files_endpoint_needs_multipart_field_data(client, make_project):
    p = make_project()
    r = client.post(
        "/api/training/files",
        content=acquisition(),
        headers=key(p.api_key, **{"content-type": "application/json"}),
    )
    assert r.status_code == 400 and "multipart" in r.json()["error"]
    r = client.post(
        "/api/training/files",
        files=[("file", ("a.json", acquisition(), "application/json"))],
        headers=key(p.api_key),
    )
    assert r.status_code == 400 and "'data'" in r.json()["error"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_fast_path_answers_exactly_as_the_route(settings, make_project):
    """`IngestionFastPath` serves /api/{category}/data ahead of the router; with it removed, the
    FastAPI route answers. Both must give the same status and body for good and bad requests."""
    from fastapi.testclient import TestClient

    from app.api.routes.ingestion import IngestionFastPath
    from app.main import create_app

    fast, plain = create_app(settings), create_app(settings)
    plain.user_middleware = [m for m in plain.user_middleware if m.cls is not IngestionFastPath]
    assert any(m.cls is IngestionFastPath for m in fast.user_middleware)

    def answers(app) -> list:
        p = make_project()  # each app its own project: the duplicate check starts empty for both
        requests = [
            ("/api/training/data", acquisition(hmac_key=p.hmac_key), {"x-file-name": "w.1.json"}),
            (
                "/v1/api/testing/data",
                acquisition([[3.0, 1.0, 2.0]]),
                {"x-label": "a%20b", "x-metadata": '{"k": 1}'},
            ),
            (
                "/api/split/data",
                acquisition([[4.0, 1.0, 2.0]]),
                {"x-file-name": "s.1.json", "x-add-date-id": "1"},
            ),
            (
                "/api/training/data",
                acquisition([[5.0, 1.0, 2.0]]),
                {"x-label": "dup", "x-disallow-duplicates": "1"},
            ),
            (
                "/api/training/data",
                acquisition([[5.0, 1.0, 2.0]]),
                {"x-label": "dup", "x-disallow-duplicates": "1"},
            ),
            *[
                (
                    f"/api/{c.get('category', 'training')}/data",
                    c["body"],
                    {"content-type": c.get("ct", "application/json"), **c.get("headers", {})},
                )
                for _, c, _ in _bad_cases()
            ],
            ("/api/training/data", acquisition(), {"x-api-key": "tf_key_wrong"}),
        ]
        out = []
        with TestClient(app) as client:
            for path, body, headers in requests:
                r = client.post(
                    path,
                    content=body,
                    headers=key(p.api_key, **{"content-type": "application/json", **headers}),
                )
                content = r.json()
                for f in content.get("files", []):
                    f.pop("sampleId", None)
                    f["fileName"] = f["fileName"].split(".2")[0]  # the date id differs
                out.append((path, r.status_code, r.headers["content-type"], content))
        return out

    fast_answers, plain_answers = answers(fast), answers(plain)
    assert fast_answers == plain_answers
    assert [a[1] for a in fast_answers[:5]] == [200, 200, 200, 200, 409]
