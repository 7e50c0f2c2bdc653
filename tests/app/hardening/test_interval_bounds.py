"""Issue 10 item 3: interval_ms is bounded at ingestion; a sample's windows are bounded too."""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.api.helpers import acquisition, key, snapshot
from workers.dsp import DspError, make_windows
from workers.dsp.windowing import MAX_WINDOW_VALUES, TimeSeriesInput


@pytest.mark.parametrize("interval", [1e-300, 1e300, 1e6, 60_000.5, 0.0009])
def test_out_of_range_interval_is_400_and_nothing_stored(client, make_project, settings, interval):
    p = make_project()
    before = snapshot(settings)
    body = acquisition(values=[[float(i), 0.0, 0.0] for i in range(20)], interval_ms=interval)
    r = client.post(
        "/api/training/data",
        content=body,
        headers=key(p.api_key, **{"content-type": "application/json", "x-label": "a"}),
    )
    assert r.status_code == 400, r.text
    assert "interval_ms" in r.json()["error"] and "between" in r.json()["error"]
    csv = "a,b\n" + "\n".join(f"{i},{i}" for i in range(20))
    r = client.post(
        "/api/training/files",
        files=[("data", ("x.csv", csv.encode(), "text/csv"))],
        headers=key(p.api_key, **{"x-interval-ms": repr(interval), "x-label": "a"}),
    )
    assert r.status_code == 400, r.text
    assert "between" in r.json()["error"]
    assert snapshot(settings) == before


@pytest.mark.parametrize("interval", [0.001, 60_000])
def test_the_bounds_themselves_are_accepted_and_the_wav_answers(client, make_project, interval):
    p = make_project()
    body = acquisition(values=[[float(i), 0.0, 0.0] for i in range(20)], interval_ms=interval)
    r = client.post(
        "/api/training/data",
        content=body,
        headers=key(p.api_key, **{"content-type": "application/json", "x-label": "a"}),
    )
    assert r.status_code == 200, r.text
    sid = r.json()["files"][0]["sampleId"]
    r = client.get(f"/api/{p.project.id}/raw-data/{sid}/wav", headers=key(p.api_key))
    assert r.status_code == 200 and r.content[:4] == b"RIFF"


def test_windows_of_one_sample_are_bounded_before_resampling():
    spec = TimeSeriesInput(
        axes=None, window_size_ms=1000, window_increase_ms=250, frequency_hz=16000
    )
    values = np.zeros((20, 1), dtype=np.float32)
    with pytest.raises(DspError, match="too long") as err:
        make_windows(values, interval_ms=60_000, spec=spec)
    assert str(MAX_WINDOW_VALUES) in str(err.value)
    assert make_windows(values, interval_ms=1000, spec=spec).shape == (77, 16000, 1)
