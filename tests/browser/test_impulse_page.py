"""The impulse page in a browser: the DSP preview's heatmap has labelled axes with units, and the
form shows only the parameters that apply as the choices change (issue 13 item 6)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.app.api.helpers import wav_bytes

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

PASSWORD = "correct horse battery"


def test_heatmap_axes_and_parameters_that_apply(page, live_server, settings, screenshots):
    from app.core.db import session_scope
    from app.services import projects, users

    with session_scope(settings) as s:
        u = users.create_user(s, email="dsp@example.com", password=PASSWORD)
        new = projects.create_project(s, name="dsp axes", owner=u)
        pid, key = new.project.id, new.api_key
    r = httpx.post(
        live_server + "/api/training/files",
        headers={"x-api-key": key, "x-label": "noise"},
        files={"data": ("noise.1.wav", wav_bytes(1.0, rate=8000), "audio/wav")},
    )
    assert r.status_code == 200, r.text
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("dsp@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/projects$"))
    page.goto(f"{live_server}/projects/{pid}/impulse")

    page.select_option("#block", "mfcc")
    page.get_by_role("button", name="Run preview").click()
    fig = page.locator("#dsp-preview-output figure").first
    fig.wait_for(timeout=30_000)
    assert fig.get_attribute("data-x-axis") == "time (s)"
    assert fig.get_attribute("data-y-axis") == "cepstral coefficient"
    assert fig.get_attribute("data-x-range") == "0…0.98"  # 50 frames of 0.02 s in 1 s
    fig.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "impulse-heatmap-mfcc.png", full_page=True)

    page.select_option("#block", "mfe")
    page.get_by_role("button", name="Run preview").click()
    page.wait_for_function(
        "document.querySelector('#dsp-preview-output figure')"
        " && document.querySelector('#dsp-preview-output figure').dataset.yAxis"
        " == 'mel filter centre (Hz)'",
        timeout=30_000,
    )

    # spectral analysis: the filter's cut-off only with a filter, wavelet parameters only for
    # wavelet analysis
    page.select_option("#block", "spectral")
    cutoff, wavelet = page.locator("#p-spectral-filter_cutoff"), page.locator("#p-spectral-wavelet")
    assert cutoff.is_visible() and not wavelet.is_visible()
    page.select_option("#p-spectral-filter_type", "none")
    assert not cutoff.is_visible()
    page.select_option("#p-spectral-analysis_type", "Wavelet")
    assert wavelet.is_visible() and not page.locator("#p-spectral-fft_length").is_visible()
    page.locator("#p-spectral-analysis_type").scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "impulse-spectral-wavelet.png", full_page=True)
    assert page.js_errors == []
