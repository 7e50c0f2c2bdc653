"""Issue 11 in real headless Chromium: after training (through the API, with a real worker and
the profile job that follows it) the Training and Deployment pages show latency, RAM and flash
per board, int8 beside float32, the project's board measured; a build card shows milliseconds."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import httpx
import pytest

from app.synthetic import motion_dataset
from tests.app.api.helpers import key
from tests.app.api.test_learning_api import _run, _upload
from tests.browser.test_dashboard_flow import PASSWORD, _check_page, _sign_in
from workers.deploy.mcu import toolchain_available

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

BOARD = "Arduino Nano 33 BLE Sense"
IMPULSE = {
    "name": "motion",
    "input": {
        "type": "time-series",
        "window_size_ms": 1000,
        "window_increase_ms": 500,
        "frequency_hz": 62.5,
    },
    "dsp": [{"id": 1, "block": "spectral", "params": {}}],
    "learn": [
        {
            "id": 2,
            "type": "classification",
            "dsp": [1],
            "settings": {"training": {"epochs": 10, "seed": 3}},
        }
    ],
}


@pytest.fixture
def trained_project(settings, live_server, worker, make_project):
    from app.core.db import session_scope
    from app.services import users

    with session_scope(settings) as s:
        u = users.create_user(s, email="grace@example.com", password=PASSWORD)
        owner = SimpleNamespace(id=u.id)
    p = make_project("Profiles", owner=owner)
    pid, h = p.project.id, key(p.api_key)
    with httpx.Client(base_url=live_server, timeout=60) as client:
        r = client.post(f"/api/{pid}", json={"targetBoard": BOARD}, headers=h)
        assert r.status_code == 200, r.text
        _upload(client, p, motion_dataset(8, seed=5), "training")
        iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
        job, log = _run(client, p, "generate-features", {"impulseId": iid})
        assert job["status"] == "succeeded", log[-20:]
        job, log = _run(client, p, "train", {"impulseId": iid, "learnId": 2})
        assert job["status"] == "succeeded", log[-20:]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            jobs = client.get(f"/api/{pid}/jobs", params={"kind": "profile"}, headers=h).json()
            if jobs["jobs"] and jobs["jobs"][0]["status"] in ("succeeded", "failed"):
                assert jobs["jobs"][0]["status"] == "succeeded", jobs["jobs"][0]
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the profile job did not finish")
    return "grace@example.com", pid, iid


def _table_rows(page) -> dict[str, list[str]]:
    rows = {}
    for tr in page.locator("#profile-table tbody tr").all():
        cells = [c.inner_text().strip() for c in tr.locator("td").all()]
        rows[tr.get_attribute("data-board")] = cells
    return rows


def test_training_and_deployment_pages_show_the_profile(
    page, live_server, trained_project, screenshots
):
    email, pid, iid = trained_project
    _sign_in(page, live_server, email)
    page.goto(f"{live_server}/projects/{pid}/training?impulse={iid}&learn=2")
    page.locator("#profile-table").wait_for()
    page.screenshot(path=screenshots / "i11-training-profile.png", full_page=True)
    rows = _table_rows(page)
    assert len(rows) >= 12 and BOARD in rows
    nano = rows[BOARD]
    # latency int8, latency float32, RAM int8, RAM float32, flash int8, flash float32, method
    assert all(re.fullmatch(r"[\d.]+ ms", c) for c in nano[:2]), nano
    assert all(re.fullmatch(r"[\d.]+ (KiB|B)", c) for c in nano[2:6]), nano
    assert nano[6] == ("measured" if toolchain_available() else "estimated")
    assert page.locator(f'#profile-table tr.chosen[data-board="{BOARD}"]').count() == 1
    assert "Accuracy: int8" in page.locator("#profile").inner_text()
    _check_page(page)
    # the project's board can be changed here; the table marks the new one
    page.get_by_label("Project board").select_option("Teensy 4.1")
    page.get_by_role("button", name="Save board").click()
    page.locator('#profile-table tr.chosen[data-board="Teensy 4.1"]').wait_for()
    page.get_by_label("Project board").select_option(BOARD)
    page.get_by_role("button", name="Save board").click()
    page.locator(f'#profile-table tr.chosen[data-board="{BOARD}"]').wait_for()

    page.goto(f"{live_server}/projects/{pid}/impulse/{iid}")
    cost = page.locator("#dsp-cost-1").inner_text()
    if toolchain_available():  # the DSP block's generated C, measured on the project's board
        assert re.search(rf"On {BOARD}: [\d.]+ ms per window \([\d,]+ cycles\)", cost), cost
    else:
        assert "appears after a learning block it feeds is trained" in cost
    _check_page(page)

    page.goto(f"{live_server}/projects/{pid}/deployment?impulse={iid}&learn=2")
    page.locator("#profile-table").wait_for()
    selected = page.locator("#d-preset option:checked").inner_text()
    assert selected.startswith(BOARD), selected  # the project's board is preselected
    assert len(_table_rows(page)) >= 12
    _check_page(page)
    if not toolchain_available():
        return
    page.get_by_role("button", name="Build").click()
    card = page.locator("article.build .build-latency").first
    card.wait_for(timeout=600_000)
    deadline = time.monotonic() + 600
    while "ms" not in card.inner_text() and time.monotonic() < deadline:
        page.reload()
        card = page.locator("article.build .build-latency").first
        card.wait_for(timeout=60_000)
    page.screenshot(path=screenshots / "i11-deployment-profile.png", full_page=True)
    assert re.search(r"[\d.]+ ms \([\d,]+ cycles at 64 MHz\)", card.inner_text()), card.inner_text()
