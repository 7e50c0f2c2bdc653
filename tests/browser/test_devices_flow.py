"""Devices in real headless Chromium.

1. The data acquisition page records from a board: a simulated serial device (pty) behind the real
   `tinyforge data-forwarder`; the new sample appears in the list with its plot beside it; a failure
   mid-sample is shown; bulk relabel, the upload progress bar and crop by clicking.
2. The phone page (opened from the QR code page) records audio from Chromium's fake microphone and
   motion from synthetic DeviceMotion events, and records when the dashboard asks.
Screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import numpy as np
import pytest

from tests.app.devices.servers import wait_for
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.paths import REPO_ROOT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

PASSWORD = "correct horse battery"
FAKE_MEDIA = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def owner(settings):
    from app.core.db import session_scope
    from app.services import projects, users

    with session_scope(settings) as s:
        user = users.create_user(s, email="ada@example.com", password=PASSWORD)
        new = projects.create_project(s, name="devices", owner=user)
        return {"email": "ada@example.com", "pid": new.project.id, "key": new.api_key}


def _sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/projects$"))


def _check(page) -> None:
    from tests.browser.test_dashboard_flow import UNLABELLED_JS

    assert page.evaluate(UNLABELLED_JS) == [], page.url
    assert (
        page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1
    ), page.url
    assert page.js_errors == [], page.js_errors


def test_record_from_a_serial_board_preview_bulk_upload_crop(
    page, live_server, owner, screenshots, tmp_path
):
    base, pid, key = live_server, owner["pid"], owner["key"]
    device = subprocess.Popen(
        [sys.executable, "-m", "tests.app.forwarder.serial_device", "--hz", "100", "--axes", "3"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    port = device.stdout.readline().strip()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "HOME": str(tmp_path),
        "TINYFORGE_FORWARDER_CONFIG": str(tmp_path / "fwd.json"),
    }
    log = open(tmp_path / "forwarder.log", "w")
    forwarder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "data-forwarder",
            "--port",
            port,
            "--api-key",
            key,
            "--host",
            base,
            "--axes",
            "k,sin,cos",
            "--device-id",
            "bench-board",
            "--detect-seconds",
            "2",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=REPO_ROOT,
    )
    try:
        _sign_in(page, base, owner["email"])
        page.goto(f"{base}/projects/{pid}/devices")
        wait_for(
            lambda: httpx.get(
                f"{base}/api/{pid}/devices/connected", headers={"x-api-key": key}
            ).json()["devices"],
            timeout=30,
            what="the forwarder to connect",
        )
        page.reload()
        assert "connected" in page.locator("#devices tr[data-device-id='bench-board']").inner_text()
        assert "Sensor with 3 axes (k, sin, cos) (100 Hz)" in page.locator("#devices").inner_text()
        _check(page)
        page.screenshot(path=screenshots / "devices-01-connected.png", full_page=True)

        page.goto(f"{base}/projects/{pid}/data")
        page.wait_for_function("document.querySelector('#record-device').options.length > 0")
        assert page.locator("#record-sensor").input_value() == "Sensor with 3 axes (k, sin, cos)"
        assert page.locator("#record-frequency option").all_inner_texts() == ["100 Hz"]
        page.locator("#record-label").fill("circle")
        page.locator("#record-length").fill("1000")
        page.get_by_role("button", name="Start sampling").click()
        page.wait_for_function(
            "document.querySelector('#record-status').textContent === 'Sample recorded.'",
            timeout=30000,
        )
        # without a reload: the new sample is in the list, selected, and plotted beside it
        assert page.locator("#samples tr[data-sample-id]").count() == 1
        assert "circle" in page.locator("#samples tr.selected").inner_text()
        page.wait_for_selector("#preview-plot[data-plotted='100']")
        assert page.locator("#preview-plot .u-legend .u-series").count() == 4
        _check(page)
        page.screenshot(path=screenshots / "devices-02-recorded.png", full_page=True)

        # a failure mid-sample: the device's message is shown, nothing is stored
        page.locator("#record-length").fill("3000")
        page.get_by_role("button", name="Start sampling").click()
        page.wait_for_function(
            "/Sampling/.test(document.querySelector('#record-status').textContent)", timeout=15000
        )
        device.send_signal(signal.SIGUSR1)
        page.wait_for_function(
            "/^Error: /.test(document.querySelector('#record-status').textContent)", timeout=20000
        )
        assert "is not a line of numbers" in page.locator("#record-status").inner_text()
        assert page.locator("#record-status").get_attribute("role") == "alert"
        page.screenshot(path=screenshots / "devices-03-device-error.png", full_page=True)
    finally:
        forwarder.terminate()
        forwarder.wait(timeout=20)
        device.terminate()
        device.wait(timeout=10)
        log.close()

    # upload with a progress bar (the flash survives the scripted upload)
    from app.ingestion import encode_wav

    rng = np.random.default_rng(0)
    wav = tmp_path / "noise.01.wav"
    wav.write_bytes(
        encode_wav(rng.normal(0, 2000, 16000 * 3).astype(np.int16), rate=16000, bits=16)
    )
    page.goto(f"{base}/projects/{pid}/data")
    page.locator("#upload-files").set_input_files(str(wav))
    page.locator("#upload-category").select_option("training")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/data$"))
    page.wait_for_selector("text=Uploaded 1 file.")
    assert page.locator("#samples tr[data-sample-id]").count() == 2

    # click a row: its plot beside the list; select all: bulk relabel
    page.locator("#samples tr[data-sample-id]", has_text="noise").locator("td").nth(5).click()
    page.wait_for_selector("#preview-plot[data-plotted='48000']")
    page.locator("#select-all").check()
    assert page.locator("#bulk-count").inner_text() == "2 selected"
    page.locator("#bulk-label").fill("wave")
    page.get_by_role("button", name="Relabel selected").click()
    page.wait_for_selector("text=2 samples now labelled 'wave'.")
    assert [
        t.strip()
        for t in page.locator("#samples input[name='label']").evaluate_all(
            "els => els.map(e => e.value)"
        )
    ] == ["wave", "wave"]
    _check(page)
    page.screenshot(path=screenshots / "devices-04-bulk.png", full_page=True)

    # crop the recording on its page
    page.locator("#samples a", has_text="circle").click()
    page.wait_for_selector("#signal-plot[data-plotted]")
    page.locator("#crop-start").fill("200")
    page.locator("#crop-end").fill("700")
    page.get_by_role("button", name="Crop").click()
    page.wait_for_selector("text=Cropped to 200–700 ms.")
    page.wait_for_selector("#signal-plot[data-plotted='50']")
    _check(page)
    page.screenshot(path=screenshots / "devices-05-cropped.png", full_page=True)

    # split the noise recording into two parts
    page.goto(f"{base}/projects/{pid}/data")
    page.locator("#samples a", has_text="noise").click()
    page.locator("#find-events").click()
    page.wait_for_selector("text=0 events found.")  # noise has none: write the parts by hand
    page.locator("#split-segments").fill("0-1000\n1500-2500")
    page.get_by_role("button", name="Split into these parts").click()
    page.wait_for_selector("text=into 2 samples.")
    names = page.locator("#samples a").all_inner_texts()
    assert sum(n.startswith("noise.01.1") or n.startswith("noise.01.2") for n in names) == 2, names


def test_phone_page_records_audio_and_motion(chromium, page, live_server, owner, screenshots):
    base, pid, key = live_server, owner["pid"], owner["key"]
    _sign_in(page, base, owner["email"])
    page.goto(f"{base}/projects/{pid}/devices")
    page.get_by_role("link", name="Use a phone as a device").click()
    page.get_by_role("button", name="Show the QR code").click()
    assert page.locator("#phone-qr svg").count() == 1
    url = page.locator("#phone-link").get_attribute("href")
    assert re.fullmatch(re.escape(base) + r"/phone#apiKey=tf_key_\w+", url)
    _check(page)
    page.screenshot(path=screenshots / "phone-01-qr.png", full_page=True)

    phone_browser = chromium.browser_type.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + FAKE_MEDIA, headless=True
    )
    try:
        phone = phone_browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        errors: list[str] = []
        phone.on("pageerror", lambda exc: errors.append(str(exc)))
        phone.goto(url)
        phone.wait_for_selector("body[data-connected='true']", timeout=20000)
        device_id = phone.locator("#phone-device-id").inner_text()
        assert phone.locator("#phone-sensor option").all_inner_texts() == [
            "Accelerometer",
            "Microphone",
            "Camera",
        ]

        # the fake microphone, recorded here
        phone.locator("#phone-sensor").select_option("Microphone")
        phone.locator("#phone-label").fill("beep")
        phone.locator("#phone-length").fill("1000")
        phone.get_by_role("button", name="Record").click()
        phone.wait_for_function(
            "/^Uploaded sample/.test(document.querySelector('#phone-result').textContent)",
            timeout=30000,
        )

        # motion: synthetic DeviceMotion events every 10 ms
        phone.evaluate("""() => { window.__motion = setInterval(() => window.dispatchEvent(
            new DeviceMotionEvent('devicemotion',
              {accelerationIncludingGravity: {x: 1.5, y: -2.25, z: 9.75}, interval: 10})),
            10); }""")
        phone.locator("#phone-sensor").select_option("Accelerometer")
        phone.locator("#phone-label").fill("still")
        phone.get_by_role("button", name="Record").click()
        phone.wait_for_function(
            "/^Uploaded sample/.test(document.querySelector('#phone-result').textContent)",
            timeout=30000,
        )
        phone.screenshot(path=screenshots / "phone-02-recorded.png", full_page=True)

        # a camera snapshot from Chromium's fake camera
        phone.locator("#phone-sensor").select_option("Camera")
        phone.locator("#phone-label").fill("cam")
        phone.get_by_role("button", name="Record").click()
        phone.wait_for_function(
            "/^Uploaded sample/.test(document.querySelector('#phone-result').textContent)",
            timeout=30000,
        )

        # the dashboard asks the phone to record
        api = httpx.Client(base_url=base, headers={"x-api-key": key}, timeout=10)
        r = api.post(
            f"/api/{pid}/device/{device_id}/start-sampling",
            json={
                "label": "remote",
                "lengthMs": 500,
                "sensor": "Accelerometer",
                "category": "testing",
            },
        )
        assert r.status_code == 200, r.text
        rid = r.json()["id"]
        done = wait_for(
            lambda: (
                (s := api.get(f"/api/{pid}/device/{device_id}/sampling/{rid}").json()["request"])[
                    "finished"
                ]
                and s
            ),
            timeout=20,
            what="the phone to record",
        )
        assert done["status"] == "finished", done
        r = api.post(
            f"/api/{pid}/device/{device_id}/start-sampling",
            json={"label": "x", "lengthMs": 500, "sensor": "Accelerometer", "frequencyHz": 100},
        )
        assert (
            r.status_code == 400
            and "does not sample at 100 Hz (it offers 62.5 Hz)" in r.json()["error"]
        )
        assert errors == []
    finally:
        phone_browser.close()

    samples = {
        s["label"]: s
        for s in api.get(f"/api/{pid}/raw-data", params={"limit": 100}).json()["samples"]
    }
    assert set(samples) == {"beep", "still", "remote", "cam"}
    assert (samples["cam"]["kind"], samples["cam"]["format"]) == ("image", "jpg") and samples[
        "cam"
    ]["imageWidth"] > 0
    beep = samples["beep"]
    assert (beep["valuesCount"], beep["intervalMs"], beep["signatureValidate"]) == (
        16000,
        0.0625,
        True,
    )
    audio = np.asarray(
        api.get(f"/api/{pid}/raw-data/{beep['id']}").json()["payload"]["values"]
    ).ravel()
    assert np.abs(audio).max() > 1000  # Chromium's fake microphone beeps; silence would be ~0
    still = samples["still"]
    assert (
        still["valuesCount"] in (62, 63)
        and still["signatureValidate"]
        and still["deviceName"] == device_id
    )
    motion = np.asarray(api.get(f"/api/{pid}/raw-data/{still['id']}").json()["payload"]["values"])
    assert np.allclose(motion, [1.5, -2.25, 9.75])
    assert samples["remote"]["category"] == "testing" and samples["remote"]["valuesCount"] in (
        31,
        32,
    )
    api.close()
