"""Deployment page: presets from the deployment targets, field errors, untrained blocks, the list of
builds."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def impulse_id(settings, user_project):
    from app.core.db import session_scope
    from app.schemas.impulses import ImpulseCreate
    from app.services import impulses

    with session_scope(settings) as s:
        return impulses.create_impulse(
            s,
            user_project.project.id,
            ImpulseCreate.model_validate(
                {
                    "input": {"type": "time-series", "frequency_hz": 8000},
                    "dsp": [{"block": "mfcc"}],
                    "learn": [{"id": 100, "type": "classification"}],
                }
            ),
        ).id


def test_no_impulse_points_to_impulse_design(browser, user_project):
    pid = user_project.project.id
    page = browser.client.get(f"/projects/{pid}/deployment").text
    assert f'href="/projects/{pid}/impulse"' in page


def test_form_offers_every_board_and_target_and_says_untrained(browser, user_project, impulse_id):
    from workers.deploy.targets import BOARDS, TARGETS

    pid = user_project.project.id
    page = browser.client.get(f"/projects/{pid}/deployment").text
    for i, board in enumerate(BOARDS):
        assert f'<option value="board:{i}"' in page and board.name.replace('"', "&#34;") in page
    for name in TARGETS:
        assert f'<option value="target:{name}"' in page
    assert '<option value="target:linux-x86_64" selected>' in page
    assert "not trained yet" in page and 'id="start-build" disabled' in page
    assert '<select id="d-optimize" name="optimize"' in page
    assert '<option value="speed" selected>speed</option><option value="ram">ram</option>' in page


def test_bad_engine_and_untrained_block_are_reported_without_a_job(
    browser, user_project, impulse_id, client
):
    pid = user_project.project.id
    url = f"/projects/{pid}/deployment/{impulse_id}/100"
    r = browser.post(url, {"preset": "board:0", "engine": "turbo", "model_type": "int8"})
    assert r.status_code == 400
    assert re.search(r'id="d-engine-error">engine &#39;turbo&#39; is not known', r.text)
    r = browser.post(url, {"preset": "nowhere", "engine": "compiled", "model_type": "int8"})
    assert r.status_code == 400 and 'id="d-preset-error">choose a board or a target' in r.text
    r = browser.post(
        url,
        {"preset": "board:0", "engine": "tflite-micro", "model_type": "int8", "optimize": "ram"},
    )
    assert r.status_code == 400
    assert 'id="d-optimize-error">optimize &#39;ram&#39; applies to the compiled engine' in r.text
    assert '<option value="ram" selected>ram</option>' in r.text
    r = browser.post(
        url, {"preset": "target:cortex-m4f", "engine": "compiled", "model_type": "int8"}
    )
    assert r.status_code == 409 and "has no trained model yet: train it first" in r.text
    assert 'value="target:cortex-m4f" selected' in r.text
    assert client.get(f"/api/{pid}/jobs").json()["jobs"] == []


def test_builds_are_listed_with_figures_and_download_link(
    browser, user_project, impulse_id, settings
):
    from app.core.db import session_scope
    from app.models import Artifact

    pid = user_project.project.id
    meta = {
        "request": {"target": "cortex-m4f", "engine": "compiled", "modelType": "int8"},
        "bit_exact": True,
        "flash_bytes": 40960,
        "ram_bytes": 9216,
        "instructions": 1234567,
        "arena_bytes": 8000,
        "weights_bytes": 20000,
        "ops": ["CONV_2D", "SOFTMAX"],
        "verification": {"bit_exact": True, "impulse": {"same_class": 1.0}},
    }
    with session_scope(settings) as s:
        s.add(
            Artifact(
                project_id=pid,
                impulse_id=impulse_id,
                kind="deployment",
                name="lib.zip",
                blob_key="projects/x/lib.zip",
                size_bytes=2048,
                sha256="0" * 64,
                meta=meta,
            )
        )
    page = browser.client.get(f"/projects/{pid}/deployment").text
    aid = re.search(r'artifactId=(\d+)" download>lib.zip', page).group(1)
    block = page[page.index(f'id="build-{aid}"') :]
    assert (
        "bit-exact" in block and "40.0 KiB" in block and "9.0 KiB" in block and "1,234,567" in block
    )
    assert "classifies 100.0% of the test windows" in block and "CONV_2D, SOFTMAX" in block
