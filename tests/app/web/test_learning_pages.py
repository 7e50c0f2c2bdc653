"""Training and model testing pages: states before training, settings validation at the field, job
start."""

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


def test_pages_before_any_impulse_point_to_impulse_design(browser, user_project):
    pid = user_project.project.id
    for page in ("training", "testing"):
        r = browser.client.get(f"/projects/{pid}/{page}")
        assert r.status_code == 200 and f'href="/projects/{pid}/impulse"' in r.text


def test_training_form_shows_defaults_and_untrained_state(browser, user_project, impulse_id):
    pid = user_project.project.id
    page = browser.client.get(f"/projects/{pid}/training").text
    assert 'id="t-epochs" name="epochs" value="40"' in page and 'for="t-learning_rate"' in page
    assert "Not trained yet." in page
    testing = browser.client.get(f"/projects/{pid}/testing").text
    assert "not trained yet" in testing and 'id="start-testing" disabled' in testing
    assert (
        browser.client.get(f"/projects/{pid}/training?impulse={impulse_id}&learn=7").status_code
        == 404
    )


def test_bad_training_setting_is_shown_at_its_field_and_nothing_starts(
    browser, user_project, impulse_id, client
):
    pid = user_project.project.id
    r = browser.post(
        f"/projects/{pid}/training/{impulse_id}/100", {"epochs": "0", "learning_rate": "0.01"}
    )
    assert r.status_code == 422
    assert re.search(r'id="t-epochs-error">[^<]*epochs', r.text)
    assert 'aria-invalid="true"' in r.text and 'value="0"' in r.text
    assert client.get(f"/api/{pid}/jobs").json()["jobs"] == []
    imp = client.get(f"/api/{pid}/impulses/{impulse_id}").json()["impulse"]
    assert imp["learn"][0]["settings"] == {} and imp["revision"] == 1


def _features(client, p, impulse_id, settings, store) -> None:
    """Two one-second recordings at 8 kHz and the impulse's features."""
    import numpy as np

    from app.core.db import session_scope
    from app.services import features
    from tests.app.api.helpers import acquisition, key

    for i, label in enumerate(("yes", "no")):
        values = np.random.default_rng(i).normal(size=(8000, 1)).round(3).tolist()
        r = client.post(
            "/api/training/data",
            content=acquisition(values=values, interval_ms=0.125),
            headers={
                **key(p.api_key),
                "x-file-name": f"{label}.json",
                "x-label": label,
                "content-type": "application/json",
            },
        )
        assert r.status_code == 200, r.text
    features.generate(lambda: session_scope(settings), store, p.project.id, impulse_id)


def test_training_without_features_is_disabled_and_refused_with_the_reason(
    browser, user_project, impulse_id, client
):
    pid = user_project.project.id
    page = browser.client.get(f"/projects/{pid}/training").text
    assert 'id="start-training" disabled' in page
    assert re.search(r'id="train-blocker">Not now: no features for processing block', page)
    r = browser.post(f"/projects/{pid}/training/{impulse_id}/100", {"epochs": "5"})
    assert r.status_code == 303 and "job=" not in r.headers["location"]
    assert "generate features first" in client.get(r.headers["location"]).text
    assert client.get(f"/api/{pid}/jobs").json()["jobs"] == []


def test_start_training_saves_settings_and_queues_a_job(
    browser, user_project, impulse_id, client, settings, store
):
    pid = user_project.project.id
    _features(client, user_project, impulse_id, settings, store)
    r = browser.post(
        f"/projects/{pid}/training/{impulse_id}/100",
        {
            "epochs": "5",
            "learning_rate": "0.01",
            "batch_size": "16",
            "validation_split": "0.25",
            "seed": "3",
        },
    )
    assert r.status_code == 303
    job_id = int(re.search(r"job=(\d+)", r.headers["location"]).group(1))
    job = client.get(f"/api/{pid}/jobs/{job_id}/status").json()["job"]
    assert job["kind"] == "train" and job["params"] == {"impulse_id": impulse_id, "learn_id": 100}
    imp = client.get(f"/api/{pid}/impulses/{impulse_id}").json()["impulse"]
    assert imp["learn"][0]["settings"]["training"] == {
        "epochs": 5,
        "learning_rate": 0.01,
        "batch_size": 16,
        "validation_split": 0.25,
        "seed": 3,
    }
    page = client.get(r.headers["location"]).text
    assert (
        f'data-job-stream="/api/{pid}/jobs/{job_id}/stream"' in page
        and 'data-epoch-plot="live-epochs"' in page
    )
    assert 'value="5"' in page
    assert f'id="train-blocker">Not now: job {job_id} is queued' in page  # not twice
    again = browser.post(f"/projects/{pid}/training/{impulse_id}/100", {"epochs": "5"})
    assert "job=" not in again.headers["location"]
    assert len(client.get(f"/api/{pid}/jobs").json()["jobs"]) == 1


def test_testing_an_untrained_block_is_refused_with_a_message(
    browser, user_project, impulse_id, client
):
    pid = user_project.project.id
    r = browser.post(f"/projects/{pid}/testing/{impulse_id}/100")
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "has no trained model yet: train it first (Training)" in page
    assert 'id="test-blocker">Not now: learning block' in page
    assert client.get(f"/api/{pid}/jobs").json()["jobs"] == []


def test_validation_splits_by_speaker_and_warnings_show_in_log_and_page(
    browser, user_project, settings, store, client
):
    """Samples carrying a `speaker` key: training validates on whole speakers without being told,
    says so in the log and on the page, and warns that 4 validation windows per class say little."""
    import json

    import numpy as np

    from app.core.db import session_scope
    from app.services import features, learning
    from tests.app.api.helpers import acquisition, key

    p = user_project
    pid, h = p.project.id, key(p.api_key)
    rng = np.random.default_rng(0)
    for speaker in ("ann", "bo", "cy"):
        for label, sign in (("yes", 1.0), ("no", -1.0)):
            for i in range(2):
                values = (sign + 0.1 * rng.standard_normal((4, 3))).round(3).tolist()
                r = client.post(
                    "/api/training/data",
                    content=acquisition(values=values),
                    headers={
                        **h,
                        "x-file-name": f"{label}.{speaker}{i}.json",
                        "x-label": label,
                        "x-metadata": json.dumps({"speaker": speaker}),
                        "content-type": "application/json",
                    },
                )
                assert r.status_code == 200, r.text
    impulse = {
        "input": {
            "type": "time-series",
            "window_size_ms": 20,
            "window_increase_ms": 20,
            "frequency_hz": 100,
        },
        "dsp": [{"id": 1, "block": "flatten"}],
        "learn": [
            {
                "id": 2,
                "type": "classification",
                "dsp": [1],
                "settings": {"training": {"epochs": 3, "validation_split": 0.3}},
            }
        ],
    }
    iid = client.post(f"/api/{pid}/impulses", json=impulse, headers=h).json()["id"]
    features.generate(lambda: session_scope(settings), store, pid, iid)
    lines: list[str] = []
    result = learning.train(lambda: session_scope(settings), store, pid, iid, 2, log=lines.append)
    assert result["split"] == {
        "by": "metadata",
        "key": "speaker",
        "suggested": True,
        "n_groups": 3,
        "message": next(line for line in lines if line.startswith("validation split by")),
    }
    assert "validation split by metadata 'speaker' (suggested" in result["split"]["message"]
    # one speaker of three: 2 samples x 2 windows = 4 validation windows per class
    assert result["validation"]["float32"]["n"] == 8
    assert any(
        line.startswith("warning: the validation set is too small per class") for line in lines
    )
    page = browser.client.get(f"/projects/{pid}/training?impulse={iid}&learn=2").text
    assert 'id="validation-split"' in page and "<strong>speaker</strong> (3 values" in page
    assert 'placeholder="suggested: speaker" id="t-split_by_metadata"' in page
    assert 'id="training-warnings"' in page and "too small per class" in page
    for label, sign in (("yes", 1.0), ("no", -1.0)):  # test: per window, per sample, by name
        r = client.post(
            "/api/testing/data",
            content=acquisition(values=[[sign, sign, sign]] * 4),
            headers={
                **h,
                "x-file-name": f"{label}.held-out.json",
                "x-label": label,
                "content-type": "application/json",
            },
        )
        assert r.status_code == 200, r.text
    features.generate(lambda: session_scope(settings), store, pid, iid)
    tested = learning.test(lambda: session_scope(settings), store, pid, iid, 2, log=lines.append)
    assert sorted(x["name"] for x in tested["samples"]) == ["no.held-out.json", "yes.held-out.json"]
    assert tested["min_confidence"] == 0.6 and set(tested["uncertain_windows"]) == {
        "float32",
        "int8",
    }
    testing = browser.client.get(f"/projects/{pid}/testing?impulse={iid}&learn=2").text
    assert "int8 accuracy per window" in testing and "int8 accuracy per sample" in testing
    assert (
        ">yes.held-out.json</a>" in testing and "Uncertain windows (top score &lt; 0.6)" in testing
    )
    # confusion matrices in percent of the true label's row, the count below
    assert re.search(r'class="num diag">\d+\.\d%<br><span class="muted small">\d</span>', page)


def test_a_failed_jobs_traceback_is_folded_behind_details(browser, user_project, settings):
    from app.core.db import session_scope
    from app.services import jobs as job_service

    pid = user_project.project.id
    with session_scope(settings) as s:
        job = job_service.create_job(s, pid, "wait")
        job_service.append_log(
            s,
            job.id,
            'Traceback (most recent call last):\n  File "app/x.py", line 1, in f\nValueError: bad',
        )
        job_service.append_log(s, job.id, "failed: bad")
        job_service.mark(s, job.id, status="failed", error="bad")
        jid = job.id
    page = browser.client.get(f"/projects/{pid}/jobs/{jid}").text
    folded = re.search(r'<li data-line-id="(\d+)" data-line-ids="([\d ]+)"><details>', page)
    assert folded and len(folded.group(2).split()) == 3  # all three lines in one entry
    assert "<summary>details (traceback)</summary>" in page
    assert re.search(r"<li data-line-id=\"\d+\">failed: bad</li>", page)
    # the progress names its stage: the job's latest line
    assert '<span class="job-stage muted small" aria-live="polite">failed: bad</span>' in page


def test_anomaly_results_are_a_table_with_the_threshold(
    browser, user_project, settings, store, client
):
    import numpy as np

    from app.core.db import session_scope
    from app.services import features, learning
    from tests.app.api.helpers import acquisition, key

    p = user_project
    pid, h = p.project.id, key(p.api_key)
    rng = np.random.default_rng(1)
    for category, n, centre in (("training", 6, 0.0), ("testing", 2, 0.0), ("anomaly", 2, 9.0)):
        for i in range(n):
            values = (centre + 0.1 * rng.standard_normal((4, 3))).round(3).tolist()
            r = client.post(
                f"/api/{category}/data",
                content=acquisition(values=values),
                headers={
                    **h,
                    "x-file-name": f"idle.{category}{i}.json",
                    "x-label": "idle",
                    "content-type": "application/json",
                },
            )
            assert r.status_code == 200, r.text
    body = {
        "input": {"type": "time-series", "frequency_hz": 100, "window_size_ms": 20},
        "dsp": [{"id": 1, "block": "flatten"}],
        "learn": [{"id": 3, "type": "anomaly-kmeans", "settings": {"n_clusters": 2}}],
    }
    iid = client.post(f"/api/{pid}/impulses", json=body, headers=h).json()["id"]
    uow = lambda: session_scope(settings)  # noqa: E731
    features.generate(uow, store, pid, iid)
    learning.train(uow, store, pid, iid, 3, log=lambda line: None)
    tested = learning.test(uow, store, pid, iid, 3, log=lambda line: None)
    page = browser.client.get(f"/projects/{pid}/testing?impulse={iid}&learn=3").text
    assert 'id="anomaly-results"' in page and "<pre>{" not in page
    assert f"above the threshold {tested['threshold']:.3g} is flagged" in page
    rows = re.findall(r"<tr><td>(\w+)</td><td class=\"num\">(\d+)</td>", page)
    assert rows == [("testing", "4"), ("anomaly", "4")], rows
