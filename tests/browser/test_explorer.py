"""The feature explorer in a browser (issue 13 item 5): hover names the nearest point's sample (file
name and label), a ring marks the windows the trained model gets wrong, a click opens the sample.
The explorer and the training results are stored as the feature and training jobs store them."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.app.api.helpers import wav_bytes

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

PASSWORD = "correct horse battery"


def _setup(settings, store, live_server):
    from app.core.db import session_scope
    from app.schemas.impulses import ImpulseCreate
    from app.services import artifacts, impulses, projects, users

    with session_scope(settings) as s:
        u = users.create_user(s, email="explore@example.com", password=PASSWORD)
        new = projects.create_project(s, name="explorer", owner=u)
        pid, key = new.project.id, new.api_key
    ids = {}
    for name, label in (("yes.1.wav", "yes"), ("no.1.wav", "no")):
        r = httpx.post(
            live_server + "/api/training/files",
            headers={"x-api-key": key, "x-label": label},
            files={"data": (name, wav_bytes(1.0, rate=8000), "audio/wav")},
        )
        assert r.status_code == 200, r.text
    with session_scope(settings) as s:
        from app.models import Sample

        ids = {smp.filename: smp.id for smp in s.query(Sample).filter_by(project_id=pid)}
        imp = impulses.create_impulse(
            s,
            pid,
            ImpulseCreate.model_validate(
                {
                    "input": {"type": "time-series", "frequency_hz": 8000},
                    "dsp": [{"block": "mfcc"}],
                    "learn": [{"type": "classification", "name": "Yes or no"}],
                }
            ),
        )
        dsp, learn = imp.dsp[0], imp.learn[0]
        # three windows far apart: two of 'yes', one of 'no' (which the model calls 'yes')
        coords = [(0.0, 0.0, "yes.1.wav", "yes", 0), (0.0, 10.0, "yes.1.wav", "yes", 1)]
        coords.append((10.0, 5.0, "no.1.wav", "no", 0))
        points = [
            {
                "x": x,
                "y": y,
                "pcaX": x,
                "pcaY": y,
                "label": lab,
                "category": "training",
                "sampleId": ids[f],
                "window": w,
            }
            for x, y, f, lab, w in coords
        ]
        cfg = impulses.feature_config_hash(imp.input, dsp)
        artifacts.save_features(
            s, store, imp, dsp.id, b"npz", {"config_hash": cfg, "rows": 3, "features": 650}, None
        )
        artifacts.save_feature_explorer(
            s,
            store,
            imp,
            dsp.id,
            {"method": "umap", "points": points, "total": 3, "sampled": False},
            {"revision": imp.revision},
            None,
        )
        preds = {f"{ids['yes.1.wav']}:0": 1, f"{ids['yes.1.wav']}:1": 1, f"{ids['no.1.wav']}:0": 1}
        results = {
            "labels": ["no", "yes"],
            "revision": imp.revision,
            "window_predictions": {"by_window": preds},
        }
        artifacts.save_learn_artifact(
            s,
            store,
            imp,
            learn.id,
            "training-results",
            json.dumps(results).encode(),
            revision=imp.revision,
            job_id=None,
        )
        return pid, imp.id, ids


def test_hover_names_the_nearest_sample_rings_the_wrong_ones_and_click_opens_it(
    page, live_server, settings, store, screenshots
):
    pid, iid, ids = _setup(settings, store, live_server)
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("explore@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/projects$"))
    page.goto(f"{live_server}/projects/{pid}/impulse/{iid}")
    el = page.locator("[data-explorer-url][data-plotted]")
    el.wait_for(timeout=20_000)
    assert el.get_attribute("data-axes") == "UMAP 1, UMAP 2"
    assert el.get_attribute("data-misclassified") == "1"
    assert "1 of 3 windows shown are misclassified by Yes or no" in el.inner_text()

    over = page.locator(".u-over").first
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    readout = page.locator(".explorer-readout")
    seen = {}  # (edge, window) -> (x, y, readout)
    # x has no padding in uPlot: the 'yes' windows sit on the left edge, the 'no' one on the right
    for edge, x in (("left", box["x"] + 2), ("right", box["x"] + box["width"] - 2)):
        for k in range(0, int(box["height"]), 6):
            page.mouse.move(x, box["y"] + k)
            if readout.get_attribute("data-sample-id"):
                text = readout.inner_text()
                seen.setdefault((edge, text.split(" · window ")[1][0]), (x, box["y"] + k, text))
    # the nearest point in screen pixels: top left is window 1, bottom left window 0
    assert set(seen) == {("left", "0"), ("left", "1"), ("right", "0")}, seen
    assert seen[("left", "1")][1] < seen[("left", "0")][1]
    assert seen[("right", "0")][2].startswith("no.1.wav · no · predicted yes (wrong)"), seen
    assert seen[("left", "0")][2].startswith("yes.1.wav · yes · predicted correctly"), seen
    page.screenshot(path=screenshots / "explorer-misclassified.png", full_page=True)

    x, y, _ = seen[("right", "0")]
    page.mouse.click(x, y)
    page.wait_for_url(f"**/projects/{pid}/data/{ids['no.1.wav']}")
    assert page.js_errors == []
