"""Defaults from the data (one set for the API, /api/dsp-blocks and the dashboard) and an impulse
validated as a whole when saved (issue 13 item 3)."""

from __future__ import annotations

import numpy as np

from app.core.db import session_scope
from tests.app.api.helpers import acquisition, key

FLATTEN = [{"id": 1, "block": "flatten"}]


def _upload(client, p, *, seconds: float, hz: float, n: int = 3) -> None:
    rows = int(seconds * hz)
    for i in range(n):
        values = np.round(np.random.default_rng(i).normal(size=(rows, 3)), 3).tolist()
        r = client.post(
            "/api/training/data",
            content=acquisition(values=values, interval_ms=1000.0 / hz),
            headers={
                **key(p.api_key),
                "x-file-name": f"walk.{i}.json",
                "x-label": "walk",
                "content-type": "application/json",
            },
        )
        assert r.status_code == 200, r.text


def test_a_10_hz_data_set_gets_10_hz_and_a_window_it_can_fill(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, seconds=0.6, hz=10.0)  # a smartwatch: 6 readings per sample
    defaults = client.get(f"/api/{pid}/impulse-defaults", headers=h).json()["input"]
    assert defaults == {"frequency_hz": 10.0, "window_size_ms": 600.0, "window_increase_ms": 600.0}
    body = {"input": {"type": "time-series"}, "dsp": FLATTEN}
    imp = client.post(f"/api/{pid}/impulses", json=body, headers=h).json()["impulse"]
    assert {k: imp["input"][k] for k in defaults} == defaults  # not up-sampled to 100 Hz or 16 kHz
    given = {"type": "time-series", "frequency_hz": 20, "window_size_ms": 400}
    imp = client.post(
        f"/api/{pid}/impulses", json={"input": given, "dsp": FLATTEN}, headers=h
    ).json()["impulse"]
    assert imp["input"]["frequency_hz"] == 20 and imp["input"]["window_increase_ms"] == 400


def test_the_declared_defaults_are_the_schemas(client, make_project):
    from app.schemas.impulses import TimeSeriesInputBlock

    declared = {
        p["name"]: p["default"]
        for p in client.get("/api/dsp-blocks").json()["inputs"]["time-series"]["params"]
    }
    schema = TimeSeriesInputBlock()
    assert declared["frequency_hz"] == schema.frequency_hz == 16000.0
    assert declared["window_size_ms"] == schema.window_size_ms == 1000.0
    assert declared["window_increase_ms"] == schema.window_increase_ms == 1000.0
    p = make_project()  # no data: the declarations
    defaults = client.get(f"/api/{p.project.id}/impulse-defaults", headers=key(p.api_key)).json()
    assert defaults["input"] == {
        "frequency_hz": 16000.0,
        "window_size_ms": 1000.0,
        "window_increase_ms": 1000.0,
    }


def test_an_impulse_is_checked_as_a_whole_with_every_error_at_once(client, make_project):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    body = {
        "input": {
            "type": "time-series",
            "frequency_hz": 100,
            "window_size_ms": 500,
            "window_increase_ms": 500,
        },
        "dsp": [
            {"id": 1, "block": "spectral", "params": {"fft_length": 256}},  # 50-sample window
            {"id": 2, "block": "mfcc", "params": {"num_filters": -3}},
        ],
        "learn": [
            {"id": 3, "type": "classification", "dsp": [1, 9]},
            {"id": 4, "type": "classification", "settings": {"training": {"epochs": 0}}},
        ],
    }
    r = client.post(f"/api/{pid}/impulses", json=body, headers=h)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [e.split(":")[0] for e in errors] == [
        "dsp[1].params.num_filters",
        "learn[0].dsp",
        "learn[1]",
    ], errors
    assert "epochs" in errors[2]
    # the others fixed: the FFT longer than the window is caught when saved, not in the feature job
    body["dsp"][1]["params"] = {}
    body["learn"] = body["learn"][:1]
    body["learn"][0]["dsp"] = [1, 2]
    r = client.post(f"/api/{pid}/impulses", json=body, headers=h)
    assert r.status_code == 422
    assert r.json()["error"].startswith(
        "dsp[0].params.fft_length: got 256; must be at most the window length (50 samples)"
    ), r.json()
    assert client.get(f"/api/{pid}/impulses", headers=h).json()["impulses"] == []


def test_the_feature_job_says_what_it_resamples(client, make_project, settings, store):
    from app.services import features

    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, seconds=2.0, hz=10.0, n=2)
    body = {
        "input": {"type": "time-series", "frequency_hz": 100, "window_size_ms": 1000},
        "dsp": FLATTEN,
    }
    iid = client.post(f"/api/{pid}/impulses", json=body, headers=h).json()["id"]
    lines: list[str] = []
    summary = features.generate(
        lambda: session_scope(settings),
        store,
        pid,
        iid,
        progress=lambda _p, line=None: line and lines.append(line),
    )
    assert summary["resampled"]["samples"] == 2
    assert "resampling to the impulse's 100 Hz: 2 at 10 Hz (up-sampled 10x)" in lines
    # the explorer's projection says what it does before it does it
    assert any(
        line.startswith("feature explorer: projecting 4 of 4 windows to 2-D (PCA") for line in lines
    ), lines
