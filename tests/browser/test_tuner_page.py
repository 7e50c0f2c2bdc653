"""The tuner page in headless Chromium: start a search with a narrowed space (real worker), the
live trial table and scatter, the Pareto front, constraint filters, "use this configuration"."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from app.ingestion import sign_acquisition
from app.synthetic import motion_dataset
from tests.browser.test_dashboard_flow import PASSWORD, _check_page, _sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
SPACE = {
    "window_size_ms": [1000],
    "downsample": [2, 4],
    "dsp": ["flatten", "raw"],
    "network": ["dense"],
    "width": [4, 8],
    "depth": [1],
}


@pytest.fixture
def user(settings):
    from app.core.db import session_scope
    from app.services import users

    with session_scope(settings) as s:
        users.create_user(s, email="ada@example.com", password=PASSWORD)
    return "ada@example.com"


def _upload(base: str, api_key: str) -> None:
    files = []
    for i, (label, v) in enumerate(motion_dataset(3, seed=2)):
        payload = {
            "device_name": "d",
            "device_type": "t",
            "interval_ms": 16,
            "sensors": [{"name": a, "units": "m/s2"} for a in ("accX", "accY", "accZ")],
            "values": v.tolist(),
        }
        body = sign_acquisition(payload, hmac_key=None)
        files.append(("data", (f"{label}.{i}.json", body, "application/json")))
    r = httpx.post(f"{base}/api/training/files", files=files, headers={"x-api-key": api_key})
    assert r.json()["success"], r.text


def test_tuner_page_live_table_scatter_filters_and_apply(
    page, live_server, worker, user, screenshots
):
    base = live_server
    _sign_in(page, base, user)
    page.get_by_label("Name").fill("Gestures")
    page.get_by_role("button", name="Create project").click()
    api_key = page.locator("#new-api-key").inner_text()
    _upload(base, api_key)

    page.get_by_role("link", name="Tuner").click()
    _check_page(page)
    # a bad space is refused on the form, with the reason
    page.get_by_label("Search space override (JSON, optional)").fill('{"width": [0]}')
    page.get_by_role("button", name="Start tuner").click()
    assert "space.width: got 0" in page.locator("#tune-error").inner_text()

    page.get_by_label("Trials").fill("3")
    page.get_by_label("Epochs (last rung)").fill("2")
    page.get_by_label("Search space override (JSON, optional)").fill(json.dumps(SPACE))
    page.get_by_role("button", name="Start tuner").click()
    page.wait_for_url(re.compile(r"/tuner\?job=\d+$"))
    assert "Tuner job" in page.locator("main").inner_text()
    # the table fills in live (the page polls), until the job ends
    page.wait_for_function(
        "document.getElementById('tuner-status').textContent === 'succeeded'", timeout=600_000
    )
    rows = page.locator("#tuner-trials tbody tr")
    assert rows.count() == 3
    assert page.locator("#tuner-scatter circle.point").count() == 3
    assert page.locator("#tuner-scatter circle.pareto").count() >= 1
    assert (
        page.locator("#tuner-trials tbody tr.pareto").count()
        == page.locator("#tuner-scatter circle.pareto").count()
    )
    _check_page(page)
    page.screenshot(path=screenshots / "tuner-01-trials.png", full_page=True)

    # constraint filters hide what does not meet them
    page.get_by_label("Show latency ≤ (ms)").fill("0.000001")
    assert page.locator("#tuner-scatter circle.point").count() == 0
    assert rows.count() == 0
    page.get_by_label("Show latency ≤ (ms)").fill("")
    assert rows.count() == 3

    first = page.locator("#tuner-trials tbody tr").first
    trial_id = first.get_attribute("data-trial")
    first.get_by_role("button", name=f"Use the configuration of trial {trial_id}").click()
    page.wait_for_url(re.compile(r"/impulse/\d+$"))
    assert f"created from trial {trial_id}" in page.locator("main").inner_text()
    page.screenshot(path=screenshots / "tuner-02-applied.png", full_page=True)
    assert page.js_errors == [], page.js_errors
