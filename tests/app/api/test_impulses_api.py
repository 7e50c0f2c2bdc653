"""Impulse design, parameter validation, DSP preview and feature generation through the API."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from app.ingestion import sign_acquisition
from app.schemas.impulses import ImpulseCreate
from app.synthetic import motion_dataset
from tests.app.api.helpers import key, snapshot, wav_bytes
from tests.paths import FSDD_DIR, require_shared

MOTION_IMPULSE = {
    "name": "motion",
    "input": {
        "type": "time-series",
        "window_size_ms": 1000,
        "window_increase_ms": 500,
        "frequency_hz": 62.5,
    },
    "dsp": [
        {"id": 1, "block": "spectral", "params": {}},
        {"id": 2, "block": "flatten", "params": {}},
    ],
    "learn": [{"id": 3, "type": "classification", "dsp": [1, 2]}],
}


def _upload_motion(client, p, n_per_label=3):
    files = []
    for i, (label, values) in enumerate(motion_dataset(n_per_label, seed=1)):
        payload = {
            "device_name": "d",
            "device_type": "t",
            "interval_ms": 16,
            "sensors": [{"name": a, "units": "m/s2"} for a in ("accX", "accY", "accZ")],
            "values": values.tolist(),
        }
        files.append(
            (
                "data",
                (f"{label}.{i}.json", sign_acquisition(payload, hmac_key=None), "application/json"),
            )
        )
    r = client.post("/api/split/files", files=files, headers=key(p.api_key))
    assert r.json()["success"], r.text
    return len(files)


def test_dsp_blocks_schema_lists_every_block_with_parameters(client):
    blocks = {b["name"]: b for b in client.get("/api/dsp-blocks").json()["blocks"]}
    assert set(blocks) == {"raw", "flatten", "spectral", "spectrogram", "mfe", "mfcc", "image"}
    mfcc = {p["name"]: p for p in blocks["mfcc"]["params"]}
    assert mfcc["num_cepstral"]["default"] == 13 and mfcc["frame_length"]["default"] == 0.02
    assert mfcc["num_filters"]["default"] == 32 and mfcc["fft_length"]["default"] == 256
    assert all("implementation_version" in b for b in blocks.values())


def test_create_update_revision_and_validation_errors(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    r = client.post(f"/api/{pid}/impulses", json=MOTION_IMPULSE, headers=h)
    assert r.status_code == 200, r.text
    imp = r.json()["impulse"]
    assert imp["revision"] == 1 and imp["dsp"][0]["params"]["fft_length"] > 0  # defaults filled in
    iid = imp["id"]
    same = client.put(f"/api/{pid}/impulses/{iid}", json={"name": "renamed"}, headers=h).json()[
        "impulse"
    ]
    assert same["revision"] == 1 and same["name"] == "renamed"
    dangling = client.put(
        f"/api/{pid}/impulses/{iid}", json={"dsp": [{"id": 1, "block": "flatten"}]}, headers=h
    )
    assert dangling.status_code == 422 and "learn[0].dsp" in dangling.json()["error"]
    changed = client.put(
        f"/api/{pid}/impulses/{iid}",
        json={
            "dsp": [{"id": 1, "block": "flatten"}],
            "learn": [{"id": 3, "type": "classification", "dsp": [1]}],
        },
        headers=h,
    )
    assert changed.json()["impulse"]["revision"] == 2
    bad_cases = [
        (
            {"dsp": [{"id": 1, "block": "mfcc", "params": {"num_cepstral": 0}}]},
            "dsp[0].params.num_cepstral",
        ),
        (
            {"dsp": [{"id": 1, "block": "mfcc", "params": {"frame_length": "long"}}]},
            "dsp[0].params.frame_length",
        ),
        ({"dsp": [{"id": 1, "block": "mfcc", "params": {"bogus": 1}}]}, "bogus"),
        ({"dsp": [{"id": 1, "block": "nope"}]}, "dsp[0].block"),
        ({"dsp": [{"id": 1, "block": "image"}]}, "image input"),
        (
            {"input": {"type": "time-series", "window_size_ms": -5, "frequency_hz": 100}},
            "input.window_size_ms",
        ),
        ({"input": {"type": "audio"}}, "input.type"),
        ({"learn": [{"type": "classification", "dsp": [9]}]}, "learn[0].dsp"),
        ({"dsp": []}, "dsp"),
    ]
    for body, needle in bad_cases:
        r = client.put(f"/api/{pid}/impulses/{iid}", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert needle in r.json()["error"], (needle, r.json()["error"])
    mfcc_range = client.put(f"/api/{pid}/impulses/{iid}", json=bad_cases[0][0], headers=h).json()[
        "error"
    ]
    assert "between" in mfcc_range, "the error names the allowed range"
    assert client.get(f"/api/{pid}/impulses/{iid}", headers=h).json()["impulse"]["revision"] == 2


def test_dsp_run_preview_on_values_and_on_a_stored_sample(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(8000, 1)).tolist()
    r = client.post(
        f"/api/{pid}/dsp/run",
        json={"block": "mfcc", "params": {}, "values": values, "interval_ms": 0.125},
        headers=h,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["shape"] == [50, 13] and len(out["features"]) == 650 and out["graphs"]
    r = client.post(
        "/api/training/files",
        files=[("data", ("yes.1.wav", wav_bytes(seconds=1.0), "audio/wav"))],
        headers=h,
    )
    sid = r.json()["files"][0]["sampleId"]
    r = client.post(f"/api/{pid}/dsp/run", json={"block": "mfe", "sample_id": sid}, headers=h)
    assert r.status_code == 200 and r.json()["shape"][1] == 40
    bad = client.post(
        f"/api/{pid}/dsp/run",
        json={
            "block": "mfcc",
            "params": {"num_filters": 1},
            "values": values,
            "interval_ms": 0.125,
        },
        headers=h,
    )
    assert bad.status_code == 422 and "num_filters" in bad.json()["error"]
    nan = client.post(
        f"/api/{pid}/dsp/run",
        content=b'{"block": "flatten", "values": [[1.0], [NaN]], "interval_ms": 10}',
        headers={**h, "content-type": "application/json"},
    )
    assert nan.status_code == 400 and "NaN" in nan.json()["error"]
    missing = client.post(f"/api/{pid}/dsp/run", json={"block": "mfcc"}, headers=h)
    assert missing.status_code == 400 and "values" in missing.json()["error"]


@pytest.mark.worker
def test_generate_features_job_then_incremental_rerun(client, make_project, worker, settings):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    n = _upload_motion(client, p)
    iid = client.post(f"/api/{pid}/impulses", json=MOTION_IMPULSE, headers=h).json()["id"]

    def run_job():
        jid = client.post(
            f"/api/{pid}/jobs/generate-features", json={"impulseId": iid}, headers=h
        ).json()["id"]
        for _ in range(600):
            job = client.get(f"/api/{pid}/jobs/{jid}/status", headers=h).json()["job"]
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        log = [
            ln["data"]
            for ln in client.get(f"/api/{pid}/jobs/{jid}/stdout", headers=h).json()["stdout"]
        ]
        assert job["status"] == "succeeded", "\n".join(log[-30:])
        return job

    first = run_job()["result"]["blocks"]
    assert first["1"]["computed"] == n and first["1"]["reused"] == 0
    assert first["1"]["rows"] == n * 3  # 2 s samples, 1 s windows every 0.5 s -> 3 windows
    summary = client.get(f"/api/{pid}/impulses/{iid}/features/1", headers=h).json()
    assert summary["rows"] == n * 3 and summary["labels"] == ["circle", "idle", "shake", "wave"]
    explorer = client.get(f"/api/{pid}/impulses/{iid}/features/2/explorer", headers=h).json()
    assert explorer["method"] in ("pca", "tsne", "umap") and len(explorer["points"]) == n * 3
    assert {pt["label"] for pt in explorer["points"]} == {"circle", "idle", "shake", "wave"}
    art = client.get(f"/api/{pid}/artifacts/{summary['artifactId']}/download", headers=h)
    with np.load(io.BytesIO(art.content)) as z:
        assert z["X"].shape == (n * 3, summary["features"]) and len(z["sample_ids"]) == n * 3
        assert np.isfinite(z["X"]).all()
    _upload_motion(client, p, n_per_label=1)  # 4 more samples
    second = run_job()["result"]["blocks"]
    assert second["1"]["computed"] == 4 and second["1"]["reused"] == n
    assert second["1"]["rows"] == (n + 4) * 3
    blobs_before = len(snapshot(settings)["files"])
    run_job()
    assert len(snapshot(settings)["files"]) == blobs_before, (
        "re-running replaces artifacts, it does not pile them up"
    )


def test_generate_features_errors(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    r = client.post(f"/api/{pid}/jobs/generate-features", json={"impulseId": 999}, headers=h)
    assert r.status_code == 404 and "impulse 999" in r.json()["error"]
    iid = client.post(f"/api/{pid}/impulses", json=MOTION_IMPULSE, headers=h).json()["id"]
    r = client.post(
        f"/api/{pid}/jobs/generate-features", json={"impulseId": iid, "dspId": 7}, headers=h
    )
    assert r.status_code == 404 and "no processing block 7" in r.json()["error"]
    r = client.get(f"/api/{pid}/impulses/{iid}/features/1", headers=h)
    assert r.status_code == 404 and "generate-features" in r.json()["error"]


def test_features_service_on_fsdd_recordings(settings, make_project, session, store):
    """The job's library function, without Celery: FSDD audio through MFCC, with a too-short sample
    skipped."""
    from app.core.db import session_scope
    from app.services import features, impulses
    from app.services.samples import IngestOptions, UploadedFile, ingest

    fsdd = require_shared(FSDD_DIR)
    p = make_project()
    for digit in "01":
        files = [
            UploadedFile(f.name, f.read_bytes())
            for f in sorted(fsdd.glob(f"{digit}_jackson_[0-4].wav"))
        ]
        results = ingest(
            session, store, p.project, files, IngestOptions(category="training", label=digit)
        )
        assert all(r.success for r in results)
    imp = impulses.create_impulse(
        session,
        p.project.id,
        ImpulseCreate.model_validate(
            {
                "input": {
                    "type": "time-series",
                    "window_size_ms": 1000,
                    "window_increase_ms": 1000,
                    "frequency_hz": 8000,
                    "pad_short": True,
                },
                "dsp": [{"id": 1, "block": "mfcc", "params": {}}],
            }
        ),
    )
    lines = []
    session.commit()
    uow = lambda: session_scope(settings)  # noqa: E731
    out = features.generate(
        uow, store, p.project.id, imp.id, progress=lambda pct, line=None: lines.append((pct, line))
    )
    assert out["blocks"]["1"]["rows"] == 10 and out["blocks"]["1"]["shape"] == [50, 13]
    assert lines[-1][0] >= 98 and all(0 <= pct <= 100 for pct, _ in lines)
    imp2 = impulses.create_impulse(
        session,
        p.project.id,
        ImpulseCreate.model_validate(
            {
                "input": {
                    "type": "time-series",
                    "window_size_ms": 1000,
                    "window_increase_ms": 1000,
                    "frequency_hz": 8000,
                    "pad_short": False,
                },
                "dsp": [{"id": 1, "block": "mfcc", "params": {}}],
            }
        ),
    )
    session.commit()
    with pytest.raises(Exception, match="too short"):
        features.generate(uow, store, p.project.id, imp2.id)


def test_samples_with_other_axes_are_skipped_with_a_reason(settings, make_project, session, store):
    from app.core.db import session_scope
    from app.services import features, impulses
    from app.services.samples import IngestOptions, UploadedFile, ingest
    from tests.app.api.helpers import acquisition

    p = make_project()
    files = [UploadedFile(f"yes.{i}.wav", wav_bytes(seconds=0.5, seed=i)) for i in range(3)]
    files.append(
        UploadedFile("odd.json", acquisition(values=[[1.0, 2.0, 3.0]] * 4000, interval_ms=0.125))
    )
    assert all(
        r.success
        for r in ingest(session, store, p.project, files, IngestOptions(category="training"))
    )
    imp = impulses.create_impulse(
        session,
        p.project.id,
        ImpulseCreate.model_validate(
            {
                "input": {
                    "type": "time-series",
                    "window_size_ms": 500,
                    "window_increase_ms": 500,
                    "frequency_hz": 8000,
                },
                "dsp": [{"id": 1, "block": "mfcc"}],
            }
        ),
    )
    session.commit()
    lines = []
    out = features.generate(
        lambda: session_scope(settings),
        store,
        p.project.id,
        imp.id,
        progress=lambda pct, line=None: lines.append(line or ""),
    )
    assert out["blocks"]["1"]["rows"] == 3 and out["blocks"]["1"]["skipped"] == 1
    assert any("skipped sample" in ln and "[4000, 3]" in ln for ln in lines), lines


def test_browser_sessions_need_the_csrf_header_on_the_json_api(client, make_project, settings):
    from app.core.db import session_scope
    from app.services import users

    with session_scope(settings) as s:
        owner = users.create_user(s, email="csrf@example.com", password="long enough password")
    p = make_project("mine", owner=owner)
    r = client.post(
        "/login",
        data={
            "email": "csrf@example.com",
            "password": "long enough password",
            "csrf_token": _csrf(client),
        },
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text
    ok = client.get(f"/api/{p.project.id}/raw-data")
    assert ok.status_code == 200
    r = client.post(f"/api/{p.project.id}/jobs/wait", json={"seconds": 0})
    assert r.status_code == 403 and "x-csrf-token" in r.json()["error"]
    r = client.post(
        f"/api/{p.project.id}/jobs/wait", json={"seconds": 0}, headers={"x-csrf-token": "wrong"}
    )
    assert r.status_code == 403


def _csrf(client) -> str:
    import re

    html = client.get("/login").text
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return m.group(1) if m else ""
