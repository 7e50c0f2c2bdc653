"""The README's first run, as a new user does it: `tinyforge demo`, then `tinyforge up` on the same
data directory, sign in with the credentials the demo printed, open the demo's project and see its
model and its library. Screenshots go to test-output/screenshots/first-run-*.png."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from tests.paths import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.worker]


def _env(data_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    env.update(TINYFORGE_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO_ROOT))
    return env


def test_demo_then_up_then_sign_in_and_see_the_model_and_library(page, tmp_path, screenshots):
    from app.core.processes import stop_group
    from app.demo import free_port

    d = tmp_path / "d"
    demo = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--json", "--epochs", "8"],
        env=_env(d),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    summary = json.loads(demo.stdout)
    access = summary["dashboard"]
    assert access["user"] == "admin@tinyforge.local" and len(access["password"]) >= 12
    assert access["start"] == "tinyforge up"
    assert access["project_url"] == f"http://127.0.0.1:8000/projects/{summary['project_id']}"
    assert access["password"] in demo.stderr  # the text the user reads says it too

    port = free_port()  # the README's `tinyforge up` serves on 8000; any free port here
    up = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
        env=_env(d),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert up.poll() is None and time.monotonic() < deadline, "tinyforge up did not come up"
            time.sleep(0.3)

        page.goto(access["url"].replace("http://127.0.0.1:8000", base))
        page.get_by_label("Email").fill(access["user"])
        page.get_by_label("Password").fill(access["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/projects")
        page.screenshot(path=screenshots / "first-run-1-projects.png", full_page=True)
        page.get_by_role("link", name="motion demo").first.click()
        page.wait_for_url(access["project_url"].replace("http://127.0.0.1:8000", base))
        assert page.locator("#count-samples").inner_text() == str(summary["samples"])
        page.screenshot(path=screenshots / "first-run-2-project.png", full_page=True)

        page.get_by_role("link", name="Training", exact=True).click()
        acc = page.locator("#validation-accuracy")
        assert acc.is_visible()
        assert f"{summary['validation_accuracy']['int8'] * 100:.1f}" in acc.inner_text()
        page.screenshot(path=screenshots / "first-run-3-model.png", full_page=True)

        # the feature explorer: labelled axes, hover names the nearest point, a click opens it
        page.get_by_role("link", name="Impulse design", exact=True).click()
        page.wait_for_selector("[data-plotted]", timeout=60_000)
        over = page.locator(".u-over").first
        over.scroll_into_view_if_needed()
        box = over.bounding_box()
        readout = page.locator(".explorer-readout").first
        hit = None
        for i in range(1, 60):
            for j in range(1, 20):
                x, y = box["x"] + box["width"] * i / 60, box["y"] + box["height"] * j / 20
                page.mouse.move(x, y)
                if readout.get_attribute("data-sample-id"):
                    hit = (x, y, readout.get_attribute("data-sample-id"))
                    break
            if hit:
                break
        assert hit, "no point under the cursor anywhere"
        axes = page.locator("[data-plotted]").first.get_attribute("data-axes")
        assert re.fullmatch(r"(t-SNE|UMAP|PCA) 1, \1 2", axes), axes
        page.screenshot(path=screenshots / "first-run-explorer.png", full_page=True)
        sample_id = hit[2]
        page.mouse.click(hit[0], hit[1])
        page.wait_for_url(f"**/projects/{summary['project_id']}/data/{sample_id}")

        page.goto(access["project_url"].replace("http://127.0.0.1:8000", base) + "/deployment")
        zip_name = summary["deployments"]["linux-x86_64"]["zip"]
        assert page.get_by_text(zip_name).first.is_visible()
        page.screenshot(path=screenshots / "first-run-4-library.png", full_page=True)
        assert page.js_errors == []
    finally:
        stop_group(up, grace_s=40)
    out = up.stdout.read()
    assert "password:" not in out  # the demo made the first user; `up` does not invent another
