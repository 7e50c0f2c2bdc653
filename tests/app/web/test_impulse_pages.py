"""Impulse design: the form built from the block declarations, server validation next to the field,
jobs."""

from __future__ import annotations

import re

from tests.app.api.helpers import wav_bytes

MFCC_FORM = {
    "name": "kws",
    "input_type": "time-series",
    "in.axes": "",
    "in.window_size_ms": "1000",
    "in.window_increase_ms": "500",
    "in.frequency_hz": "8000",
    "in.pad_short": ["false", "true"],
    "block": "mfcc",
    "p.mfcc.num_cepstral": "13",
    "p.mfcc.fft_length": "256",
    "learn_type": "classification",
}


def test_new_impulse_form_lists_every_declared_block_and_parameter(browser, user_project, client):
    pid = user_project.project.id
    page = client.get(f"/projects/{pid}/impulse").text
    decl = client.get("/api/dsp-blocks").json()
    for block in decl["blocks"]:
        assert f'<option value="{block["name"]}"' in page
        for p in block["params"]:
            assert f'name="p.{block["name"]}.{p["name"]}"' in page, (block["name"], p["name"])
            assert f'for="p-{block["name"]}-{p["name"]}"' in page or p["type"] == "bool"
    for p in decl["inputs"]["time-series"]["params"]:
        assert f'name="in.{p["name"]}"' in page
    assert '<option value="mfcc" selected>' in page


def test_create_impulse_then_edit_with_validation_message_at_the_field(
    browser, user_project, client
):
    pid = user_project.project.id
    r = browser.post(f"/projects/{pid}/impulse", MFCC_FORM)
    assert r.status_code == 303
    iid = int(r.headers["location"].rsplit("/", 1)[1])
    imp = client.get(f"/api/{pid}/impulses/{iid}").json()["impulse"]
    assert (
        imp["input"]["frequency_hz"] == 8000
        and imp["input"]["pad_short"] is True
        and imp["input"]["axes"] is None
    )
    assert imp["dsp"][0]["block"] == "mfcc" and imp["dsp"][0]["params"]["num_cepstral"] == 13
    assert imp["learn"][0]["type"] == "classification"
    assert (
        client.get(f"/projects/{pid}/impulse", follow_redirects=False)
        .headers["location"]
        .endswith(f"/impulse/{iid}")
    )

    bad = {**MFCC_FORM, "p.mfcc.fft_length": "100"}
    r = browser.post(f"/projects/{pid}/impulse/{iid}", bad)
    assert r.status_code == 422
    err = re.search(r'<p class="field-error" id="p-mfcc-fft_length-error">([^<]+)</p>', r.text)
    assert err and "got 100" in err.group(1) and "power of two" in err.group(1), err and err.group(
        1
    )
    assert 'value="100"' in r.text  # the submitted value is kept
    assert client.get(f"/api/{pid}/impulses/{iid}").json()["impulse"]["revision"] == 1

    r = browser.post(f"/projects/{pid}/impulse/{iid}", {**MFCC_FORM, "in.window_size_ms": "abc"})
    assert r.status_code == 422 and 'id="in-window_size_ms-error"' in r.text

    r = browser.post(f"/projects/{pid}/impulse/{iid}", {**MFCC_FORM, "p.mfcc.num_cepstral": "12"})
    assert r.status_code == 303
    imp = client.get(f"/api/{pid}/impulses/{iid}").json()["impulse"]
    assert imp["revision"] == 2 and imp["dsp"][0]["params"]["num_cepstral"] == 12
    assert "generate features again" in client.get(r.headers["location"]).text


def test_wrong_block_for_the_input_is_reported_at_the_block_field(browser, user_project):
    pid = user_project.project.id
    r = browser.post(
        f"/projects/{pid}/impulse",
        {
            **MFCC_FORM,
            "input_type": "image",
            "img.width": "32",
            "img.height": "32",
            "block": "mfcc",
        },
    )
    assert r.status_code == 422
    assert re.search(r'id="block-error">[^<]*processes timeseries input', r.text)


def test_generate_features_starts_a_job_and_the_page_follows_it(browser, user_project, client):
    pid = user_project.project.id
    client.post(
        "/api/training/files",
        headers={"x-api-key": user_project.api_key, "x-label": "a"},
        files={"data": ("a.1.wav", wav_bytes(1.0), "audio/wav")},
    )
    iid = int(
        browser.post(f"/projects/{pid}/impulse", MFCC_FORM).headers["location"].rsplit("/", 1)[1]
    )
    page = client.get(f"/projects/{pid}/impulse/{iid}").text
    assert "No features generated yet." in page and '<option value="' in page  # preview sample list
    r = browser.post(f"/projects/{pid}/impulse/{iid}/generate")
    assert r.status_code == 303
    job_id = int(re.search(r"job=(\d+)", r.headers["location"]).group(1))
    job = client.get(f"/api/{pid}/jobs/{job_id}/status").json()["job"]
    assert job["kind"] == "generate-features" and job["params"]["impulse_id"] == iid
    page = client.get(r.headers["location"]).text
    assert f'data-job-stream="/api/{pid}/jobs/{job_id}/stream"' in page
    assert f'data-reload-on-end="/projects/{pid}/impulse/{iid}#features"' in page


def test_jobs_list_job_page_and_cancel(browser, user_project, client, settings):
    from app.core.db import session_scope
    from app.services import jobs

    pid = user_project.project.id
    with session_scope(settings) as s:
        jid = jobs.create_job(s, project_id=pid, kind="wait", params={"seconds": 1}).id
    listing = client.get(f"/projects/{pid}/jobs").text
    assert (
        f'href="/projects/{pid}/jobs/{jid}"' in listing
        and '<span class="badge queued">queued</span>' in listing
    )
    page = client.get(f"/projects/{pid}/jobs/{jid}").text
    assert "queued wait job" in page and "Cancel job" in page
    r = browser.post(f"/projects/{pid}/jobs/{jid}/cancel")
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert (
        "Cancellation of job" in page
        and "cancelled before it started" in page
        and "Cancel job" not in page
    )
    r = browser.post(f"/projects/{pid}/jobs/{jid}/cancel")
    assert "has already finished" in client.get(r.headers["location"]).text
    assert client.get(f"/projects/{pid}/jobs/999999").status_code == 404


def test_second_processing_block_and_an_anomaly_block_from_the_form(browser, user_project, client):
    """An empty extra slot adds a block; its errors come back at its own fields; ids of unchanged
    blocks survive edits (so their features and models stay attached)."""
    pid = user_project.project.id
    page = client.get(f"/projects/{pid}/impulse").text
    assert (
        'name="block.1"' in page
        and 'name="p1.mfe.num_filters"' in page
        and 'name="anomaly_type"' in page
    )
    form = {
        **MFCC_FORM,
        "block.1": "mfe",
        "p1.mfe.num_filters": "32",
        "anomaly_type": "anomaly-kmeans",
    }
    r = browser.post(f"/projects/{pid}/impulse", form)
    assert r.status_code == 303, r.text
    iid = int(r.headers["location"].rsplit("/", 1)[1])
    imp = client.get(f"/api/{pid}/impulses/{iid}").json()["impulse"]
    assert [(b["id"], b["block"]) for b in imp["dsp"]] == [(1, "mfcc"), (2, "mfe")]
    assert imp["dsp"][1]["params"]["num_filters"] == 32
    assert [(b["type"], b["dsp"]) for b in imp["learn"]] == [
        ("classification", [1, 2]),
        ("anomaly-kmeans", [1, 2]),
    ]
    learn_ids = [b["id"] for b in imp["learn"]]

    page = client.get(
        f"/projects/{pid}/impulse/{iid}"
    ).text  # the saved blocks and a third, empty slot
    assert '<option value="mfe" selected>' in page and 'name="block.2"' in page
    assert '<option value="anomaly-kmeans" selected>' in page

    r = browser.post(f"/projects/{pid}/impulse/{iid}", {**form, "p1.mfe.fft_length": "100"})
    assert r.status_code == 422
    err = re.search(r'<p class="field-error" id="p1-mfe-fft_length-error">([^<]+)</p>', r.text)
    assert err and "got 100" in err.group(1), r.text[-2000:]

    r = browser.post(
        f"/projects/{pid}/impulse/{iid}",
        {
            **form,
            "p1.mfe.num_filters": "40",
            "anomaly_type": "anomaly-gmm",
            "block.2": "spectrogram",
        },
    )
    assert r.status_code == 303
    imp = client.get(f"/api/{pid}/impulses/{iid}").json()["impulse"]
    assert [(b["id"], b["block"]) for b in imp["dsp"]] == [
        (1, "mfcc"),
        (2, "mfe"),
        (max(learn_ids) + 1, "spectrogram"),
    ]
    assert imp["learn"][0]["id"] == learn_ids[0] and imp["learn"][1] == {
        **imp["learn"][1],
        "id": learn_ids[1],
        "type": "anomaly-gmm",
    }
    assert all(b["dsp"] == [1, 2, max(learn_ids) + 1] for b in imp["learn"])

    r = browser.post(
        f"/projects/{pid}/impulse/{iid}", {**MFCC_FORM}
    )  # slots emptied, no anomaly block
    assert r.status_code == 303
    imp = client.get(f"/api/{pid}/impulses/{iid}").json()["impulse"]
    assert [b["block"] for b in imp["dsp"]] == ["mfcc"] and [b["id"] for b in imp["learn"]] == [
        learn_ids[0]
    ]


def test_new_impulse_form_takes_its_defaults_from_the_data(browser, user_project, client):
    import numpy as np

    from tests.app.api.helpers import acquisition, key

    p = user_project
    values = np.zeros((30, 3)).tolist()  # 3 s at 10 Hz
    r = client.post(
        "/api/training/data",
        content=acquisition(values=values, interval_ms=100),
        headers={
            **key(p.api_key),
            "x-file-name": "walk.1.json",
            "x-label": "walk",
            "content-type": "application/json",
        },
    )
    assert r.status_code == 200, r.text
    page = browser.client.get(f"/projects/{p.project.id}/impulse").text
    for name, value in (
        ("frequency_hz", "10.0"),
        ("window_size_ms", "1000.0"),
        ("window_increase_ms", "1000.0"),
    ):
        assert re.search(rf'name="in.{name}" data-type="float"\s+value="{value}"', page), name


def test_saved_impulse_shows_block_cards_with_output_shapes(browser, user_project, client):
    from tests.app.api.helpers import acquisition, key
    from workers.dsp import get_block

    p = user_project
    pid, h = p.project.id, key(p.api_key)
    for label in ("yes", "no"):
        r = client.post(
            "/api/training/data",
            content=acquisition(values=[[0.1, 0.2, 0.3]] * 150, interval_ms=10),
            headers={
                **h,
                "x-file-name": f"{label}.json",
                "x-label": label,
                "content-type": "application/json",
            },
        )
        assert r.status_code == 200, r.text
    body = {
        "input": {"type": "time-series", "frequency_hz": 100, "window_size_ms": 1000},
        "dsp": [{"id": 1, "block": "flatten"}],
        "learn": [{"id": 2, "type": "classification"}],
    }
    iid = client.post(f"/api/{pid}/impulses", json=body, headers=h).json()["id"]
    page = browser.client.get(f"/projects/{pid}/impulse/{iid}").text
    cards = re.findall(r'<strong>([^<]+)</strong><span class="out">([^<]+)</span>', page)
    flat = get_block("flatten").output_shape(
        window_samples=100, n_axes=3, frequency_hz=100, params={}
    )
    assert cards == [
        ("Time-series input", "100 × 3"),
        ("Flatten", "×".join(map(str, flat))),
        ("classification", "2 classes"),
    ], cards
    assert "(block 1)" not in page  # blocks by name, not id


def _param_hidden(page: str, field_id: str) -> bool:
    """Whether the <div> holding the input `field_id` is rendered hidden."""
    at = page.index(f'id="{field_id}"')
    div = page[page.rindex("<div", 0, at) : page.index(">", page.rindex("<div", 0, at)) + 1]
    return " hidden" in div


def test_the_form_shows_only_the_parameters_that_apply(browser, user_project, client):
    pid = user_project.project.id
    page = client.get(f"/projects/{pid}/impulse").text
    # spectral analysis by default: a low-pass filter and FFT analysis
    assert not _param_hidden(page, "p-spectral-filter_cutoff")
    assert not _param_hidden(page, "p-spectral-fft_length")
    assert _param_hidden(page, "p-spectral-wavelet")
    assert _param_hidden(page, "p-spectral-wavelet_level")
    assert 'data-shown-when="{&#34;analysis_type&#34;: [&#34;Wavelet&#34;]}"' in page  # for the JS

    form = {
        **MFCC_FORM,
        "in.frequency_hz": "100",
        "in.window_size_ms": "2000",
        "block": "spectral",
        "p.spectral.filter_type": "none",
        "p.spectral.analysis_type": "Wavelet",
        "p.spectral.wavelet_level": "2",
    }
    r = browser.post(f"/projects/{pid}/impulse", form)
    assert r.status_code == 303, r.text[-2000:]
    page = client.get(r.headers["location"]).text
    assert _param_hidden(page, "p-spectral-filter_cutoff")
    assert _param_hidden(page, "p-spectral-filter_order")
    assert _param_hidden(page, "p-spectral-fft_length")
    assert _param_hidden(page, "p-spectral-do_log")
    assert not _param_hidden(page, "p-spectral-wavelet")
    assert not _param_hidden(page, "p-spectral-wavelet_level")
    assert not _param_hidden(page, "p-spectral-analysis_type")


def test_resampling_is_said_before_and_after_generating_features(
    browser, user_project, client, settings, store
):
    from app.core.db import session_scope
    from app.services import artifacts
    from app.services import impulses as impulse_service

    pid = user_project.project.id
    for i in range(2):
        client.post(
            "/api/training/files",
            headers={"x-api-key": user_project.api_key, "x-label": "a"},
            files={"data": (f"a.{i}.wav", wav_bytes(1.0, rate=8000, seed=i), "audio/wav")},
        )
    at_rate = {**MFCC_FORM, "in.frequency_hz": "8000"}
    r = browser.post(f"/projects/{pid}/impulse", at_rate)
    page = client.get(r.headers["location"]).text
    assert 'id="resampling"' not in page  # the samples' own rate: nothing to say

    iid = int(r.headers["location"].rsplit("/", 1)[1])
    r = browser.post(f"/projects/{pid}/impulse/{iid}", {**MFCC_FORM, "in.frequency_hz": "16000"})
    note = re.search(
        r'<p class="resampling small" id="resampling">(.*?)</p>',
        client.get(r.headers["location"]).text,
        re.S,
    )
    text = re.sub(r"<[^>]+>", "", note.group(1))
    assert "differs from the samples' rate" in text
    assert "generating features will resample 2 samples at 8000 Hz up-sampled 2×" in text

    with session_scope(settings) as s:  # as the feature job leaves it
        impulse = impulse_service.get_impulse(s, pid, iid)
        block = impulse.dsp[0]
        meta = {"config_hash": impulse_service.feature_config_hash(impulse.input, block)}
        artifacts.save_features(s, store, impulse, block.id, b"npz", {**meta, "rows": 2}, None)
    page = client.get(f"/projects/{pid}/impulse/{iid}").text
    text = re.sub(r"<[^>]+>", "", re.search(r'id="resampling">(.*?)</p>', page, re.S).group(1))
    assert text == "Resampled to the impulse's 16000 Hz: 2 samples at 8000 Hz up-sampled 2×."
