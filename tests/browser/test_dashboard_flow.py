"""The whole flow by clicking, in real headless Chromium: sign in → project → upload FSDD → MFCC
impulse → DSP preview → generate features (real worker) → feature explorer → train → test → live
classification → build, verify and download a deployment.
Screenshots go to test-output/screenshots/ (look at them: the plots must show real data)."""

from __future__ import annotations

import re

import pytest

from tests.paths import FSDD_DIR, require_shared

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

PASSWORD = "correct horse battery"


@pytest.fixture
def user(settings):
    from app.core.db import session_scope
    from app.services import users

    with session_scope(settings) as s:
        users.create_user(s, email="ada@example.com", password=PASSWORD)
    return "ada@example.com"


UNLABELLED_JS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length)
                && !el.getAttribute('aria-label'))
  .map(el => el.outerHTML.slice(0, 120))"""


def _check_page(page) -> None:
    """Every form control has a label; the page does not scroll sideways; no JavaScript error so
    far."""
    assert page.evaluate(UNLABELLED_JS) == [], page.url
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, page.url
    assert page.js_errors == [], page.js_errors


def _sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/")
    assert page.url.endswith("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/projects$"))


@pytest.mark.worker
@pytest.mark.slow
def test_sign_in_upload_design_generate_explore(page, live_server, worker, user, screenshots):
    fsdd = require_shared(FSDD_DIR)
    base = live_server
    page.goto(base + "/")
    _check_page(page)
    page.screenshot(path=screenshots / "01-login.png")
    _sign_in(page, base, user)

    # create a project: the API key is shown once
    page.get_by_label("Name").fill("Spoken digits")
    page.get_by_role("button", name="Create project").click()
    key = page.locator("#new-api-key").inner_text()
    assert key.startswith("tf_")
    assert key in page.locator("#snippet-sdk").inner_text()  # the SDK needs a full key
    _check_page(page)
    page.screenshot(path=screenshots / "02-project-created.png", full_page=True)
    # devices get an ingestion key of their own, shown once in the curl snippet
    page.get_by_role("button", name="Create a device key").click()
    device_key = page.locator("#new-device-key").inner_text()
    assert device_key.startswith("tf_") and device_key != key
    assert device_key in page.locator("#snippet-curl").inner_text()
    _check_page(page)
    pid = re.search(
        r"/projects/(\d+)/", page.locator("form[action$='rotate-api-key']").get_attribute("action")
    ).group(1)

    # upload recordings of "zero" and "one", several files at a time
    page.get_by_role("link", name="Data acquisition").click()
    for digit, label in (("0", "zero"), ("1", "one")):
        files = [
            fsdd / f"{digit}_{who}_{i}.wav"
            for who in ("george", "jackson", "lucas")
            for i in range(4)
        ]
        page.get_by_label("Files (WAV, CSV, JSON, CBOR, JPG, PNG)").set_input_files(
            [str(f) for f in files]
        )
        page.locator("#upload-label").fill(label)
        page.locator("#upload-category").select_option("training")
        with (
            page.expect_navigation()
        ):  # the page's script uploads with a progress bar, then loads the page
            page.get_by_role("button", name="Upload").click()
        assert "Uploaded 12 files." in page.locator("main").inner_text()
    assert page.locator("#count-training").inner_text() == "24"
    for digit, label in (("0", "zero"), ("1", "one")):  # held-out speaker for model testing
        page.locator("#upload-files").set_input_files(
            [str(fsdd / f"{digit}_nicolas_{i}.wav") for i in range(3)]
        )
        page.locator("#upload-label").fill(label)
        page.locator("#upload-category").select_option("testing")
        with (
            page.expect_navigation()
        ):  # the page's script uploads with a progress bar, then loads the page
            page.get_by_role("button", name="Upload").click()
    assert page.locator("#count-testing").inner_text() == "6"
    _check_page(page)
    page.screenshot(path=screenshots / "03-data-acquisition.png", full_page=True)

    # a device sends a signed 3-axis recording: the devices page lists it, its sample plots three
    # axes
    import httpx
    import numpy as np

    from tests.app.api.helpers import acquisition

    hmac_key = page.goto(f"{base}/projects/{pid}") and page.locator("#hmac-key-1").inner_text()
    t = np.arange(200) / 100.0
    values = (
        np.stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * 3 * t), 0.2 * t], axis=1)
        .round(4)
        .tolist()
    )
    body = acquisition(values, hmac_key=hmac_key, device="bench-board-1", interval_ms=10)
    r = httpx.post(
        f"{base}/api/anomaly/data",
        content=body,
        headers={"x-api-key": key, "content-type": "application/json", "x-label": "wave"},
    )
    assert r.status_code == 200, r.text
    page.get_by_role("link", name="Devices").click()
    assert "bench-board-1" in page.locator("main").inner_text()
    page.get_by_role("link", name="Data acquisition").click()
    page.locator("#f-category").select_option("anomaly")
    page.get_by_role("button", name="Filter").click()
    page.locator("#samples a").first.click()
    page.wait_for_selector("#signal-plot[data-plotted]")
    assert page.locator("#signal-plot .u-legend .u-series").count() == 4  # x + three axes
    assert "verified" in page.locator("#signature-status").inner_text()
    _check_page(page)
    page.screenshot(path=screenshots / "04b-sample-3-axis.png", full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())  # "Delete wave.json? ..."
    page.get_by_role(
        "button", name="Delete sample"
    ).click()  # it does not belong in an audio data set
    page.wait_for_url(re.compile(r"/data$"))
    assert "deleted." in page.locator("main").inner_text()

    # filter by label, then open a sample: waveform plotted, audio player present
    page.locator("#f-label").select_option("one")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("#sample-total").inner_text().startswith("15 samples")
    page.locator("#samples a").first.click()
    page.wait_for_selector("#signal-plot[data-plotted]")
    assert int(page.locator("#signal-plot").get_attribute("data-plotted")) > 1000
    page.wait_for_function("document.getElementById('sample-audio').readyState >= 1")
    assert 0.3 < page.evaluate("document.getElementById('sample-audio').duration") < 2.0
    _check_page(page)
    page.screenshot(path=screenshots / "04-sample.png", full_page=True)

    # impulse: 500 ms windows every 250 ms at 8 kHz, MFCC, classification
    page.get_by_role("link", name="Impulse design").click()
    page.get_by_label("Window size (ms)", exact=True).fill("500")
    page.get_by_label("Window increase (ms)", exact=True).fill("250")
    page.get_by_label("Frequency (Hz)", exact=True).fill("8000")
    page.locator("#block").select_option("mfcc")
    page.locator("#learn_type").select_option("classification")
    page.get_by_role("button", name="Create impulse").click()
    page.wait_for_url(re.compile(r"/impulse/\d+$"))
    assert "Impulse &#39;" not in page.content()

    # a server-side validation message appears next to the field, and the keyboard works
    page.locator("#p-mfcc-fft_length").fill("100")
    page.locator("#p-mfcc-fft_length").press("Enter")
    page.wait_for_load_state()
    assert "power of two" in page.locator("#p-mfcc-fft_length-error").inner_text()
    page.locator("#p-mfcc-fft_length").fill("256")
    page.get_by_role("button", name="Save impulse").click()
    page.wait_for_url(re.compile(r"/impulse/\d+$"))

    # DSP preview on a chosen sample: cepstral coefficients and filterbank plotted
    page.get_by_role("button", name="Run preview").click()
    page.wait_for_selector("#dsp-preview-output[data-plotted]")
    assert "features, shape [25, 13]" in page.locator("#dsp-preview-status").inner_text()
    assert page.locator("#dsp-preview-output canvas.heatmap").count() == 1
    _check_page(page)
    page.screenshot(path=screenshots / "05-impulse-preview.png", full_page=True)

    # generate features: live progress, then the page reloads with the feature explorer
    page.get_by_role("button", name="Generate features").click()
    page.wait_for_selector(".job-live")
    page.wait_for_selector("[data-explorer-url][data-plotted]", timeout=120_000)
    windows = int(page.locator("[data-explorer-url]").first.get_attribute("data-plotted"))
    assert windows >= 30 and f"{windows} windows ×" in page.locator("#features").inner_text()
    page.locator("#features").scroll_into_view_if_needed()
    _check_page(page)
    page.screenshot(path=screenshots / "06-feature-explorer.png", full_page=True)

    # training: settings, live log and curves, then float32 vs int8 results with a confusion matrix
    page.get_by_role("link", name="Training").click()
    page.get_by_label("Training cycles (epochs)").fill("30")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_selector(".job-live")
    page.wait_for_selector("#history-plot[data-plotted]", timeout=300_000)
    assert int(page.locator("#history-plot").get_attribute("data-plotted")) == 30
    stats = page.locator("#validation-accuracy").inner_text()
    assert "float32 accuracy" in stats and "int8 accuracy" in stats
    assert page.locator("table.confusion").count() >= 1
    _check_page(page)
    page.screenshot(path=screenshots / "07-training.png", full_page=True)

    # model testing, then live classification of one test sample with per-window scores
    page.get_by_role("link", name="Testing").click()
    page.get_by_role("button", name="Test on the testing data").click()
    page.wait_for_selector("#test-accuracy", timeout=180_000)
    assert page.locator("#test-samples tbody tr").count() == 6
    _check_page(page)
    page.screenshot(path=screenshots / "08-testing.png", full_page=True)
    page.locator("#test-samples a").first.click()
    page.get_by_role("button", name="Classify this sample").click()
    page.wait_for_selector("#classify-plot[data-plotted]")
    assert "predicts" in page.locator("#classify-status").inner_text()
    _check_page(page)
    page.screenshot(path=screenshots / "09-classify.png", full_page=True)

    # deployment: the default target (this machine), compiled int8 library, verified, downloaded
    page.get_by_role("link", name="Deployment").click()
    page.get_by_label("Board or target").select_option("target:linux-x86_64")
    page.get_by_label("Engine").select_option("compiled")
    page.get_by_label("Precision").select_option("int8")
    page.get_by_role("button", name="Build").click()
    page.wait_for_selector(".job-live")
    page.wait_for_selector("article.build", timeout=300_000)
    assert "bit-exact" in page.locator("article.build .verification").first.inner_text()
    with page.expect_download() as info:
        page.locator("article.build h3 a").first.click()
    import zipfile

    path = info.value.path()
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert any(n.endswith(".h") for n in names) and any(n.endswith(".c") for n in names), names
    _check_page(page)
    page.screenshot(path=screenshots / "09b-deployment.png", full_page=True)

    # jobs: the generation job succeeded, its log is there
    page.get_by_role("link", name="Jobs").click()
    assert "succeeded" in page.locator("table").inner_text()
    page.locator("table a").last.click()  # the oldest: generate-features
    page.wait_for_selector(".job-live[data-finished]")
    assert "succeeded" in page.locator(".job-status").inner_text()
    _check_page(page)
    page.screenshot(path=screenshots / "10-job.png", full_page=True)
    page.get_by_role("link", name="Devices").click()
    _check_page(page)
    page.screenshot(path=screenshots / "11-devices.png")

    # the dashboard and data pages at phone size
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/projects/{pid}/data")
    _check_page(page)
    page.screenshot(path=screenshots / "12-data-phone.png", full_page=True)
    page.goto(f"{base}/projects/{pid}")
    _check_page(page)
    page.screenshot(path=screenshots / "13-dashboard-phone.png", full_page=True)

    # sign out
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
