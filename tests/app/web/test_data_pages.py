"""Data acquisition pages: upload (multi-file, label, category), filters, pagination, edits, the
sample page."""

from __future__ import annotations

import re

import pytest

from tests.app.api.helpers import acquisition, wav_bytes
from tests.paths import FSDD_DIR, require_shared


def _upload(
    browser, pid: int, files: list[tuple[str, bytes]], label: str = "", category: str = "training"
):
    return browser.post(
        f"/projects/{pid}/data/upload",
        {"label": label, "category": category},
        files=[("files", (name, data, "audio/wav")) for name, data in files],
    )


def _rows(html: str) -> list[str]:
    return re.findall(r'<a href="/projects/\d+/data/\d+">([^<]+)</a>', html)


@pytest.fixture
def fsdd_files() -> list[tuple[str, bytes]]:
    root = require_shared(FSDD_DIR)
    names = [
        "0_george_0.wav",
        "0_george_1.wav",
        "0_jackson_0.wav",
        "1_george_0.wav",
        "1_jackson_0.wav",
    ]
    return [(n, (root / n).read_bytes()) for n in names]


def test_upload_several_files_with_label_and_category(browser, user_project, fsdd_files):
    pid = user_project.project.id
    r = _upload(browser, pid, fsdd_files[:3], label="zero", category="training")
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{pid}/data"
    _upload(browser, pid, fsdd_files[3:], label="one", category="testing")
    page = browser.client.get(f"/projects/{pid}/data").text
    assert "Uploaded 3 files." in page and "Uploaded 2 files." in page
    assert sorted(_rows(page)) == sorted(n for n, _ in fsdd_files)
    assert re.search(r"<td>one</td><td class=\"num\">0</td><td class=\"num\">2</td>", page)
    assert re.search(r"<td>zero</td><td class=\"num\">3</td><td class=\"num\">0</td>", page)
    assert 'id="count-training">3<' in page and 'id="count-testing">2<' in page


def test_upload_errors_are_reported_per_file(browser, user_project):
    pid = user_project.project.id
    r = _upload(
        browser, pid, [("good.wav", wav_bytes()), ("bad.wav", b"RIFF....not a wav")], label="x"
    )
    page = browser.client.get(r.headers["location"]).text
    assert "Uploaded 1 file." in page and "bad.wav: " in page
    r = browser.post(
        f"/projects/{pid}/data/upload",
        {"label": "x", "category": "bogus"},
        files=[("files", ("a.wav", wav_bytes(), "audio/wav"))],
    )
    page = browser.client.get(r.headers["location"]).text
    assert (
        '<p class="field-error" id="upload-category-error">&#39;bogus&#39; is not one of training'
        in page
    )
    r = browser.post(f"/projects/{pid}/data/upload", {"label": "x", "category": "training"})
    page = browser.client.get(r.headers["location"]).text
    assert (
        '<p class="field-error" id="upload-files-error">Choose at least one file to upload.</p>'
        in page
    )
    assert (
        'id="upload-files-error"' not in browser.client.get(r.headers["location"]).text
    )  # shown once


def test_filters_search_and_pagination(browser, user_project):
    pid = user_project.project.id
    files = [(f"{'up' if i % 2 else 'down'}.{i:02d}.wav", wav_bytes(seed=i)) for i in range(25)]
    _upload(browser, pid, files, category="split")
    c = browser.client
    page1 = c.get(f"/projects/{pid}/data?per_page=20").text
    assert len(_rows(page1)) == 20 and "Page 1 of 2" in page1 and "25 samples match." in page1
    assert len(_rows(c.get(f"/projects/{pid}/data?per_page=20&page=2").text)) == 5
    ups = c.get(f"/projects/{pid}/data?label=up&per_page=100").text
    assert len(_rows(ups)) == 12 and all(n.startswith("up.") for n in _rows(ups))
    assert _rows(c.get(f"/projects/{pid}/data?search=DOWN.04").text) == ["down.04.wav"]
    training = len(_rows(c.get(f"/projects/{pid}/data?category=training&per_page=100").text))
    testing = len(_rows(c.get(f"/projects/{pid}/data?category=testing&per_page=100").text))
    assert training + testing == 25 and training > testing > 0
    assert c.get(f"/projects/{pid}/data?category=nope").status_code == 400
    assert c.get(f"/projects/{pid}/data?page=0").status_code == 422


def test_relabel_move_disable_enable_delete(browser, user_project, client):
    pid = user_project.project.id
    _upload(browser, pid, [("a.wav", wav_bytes())], label="old")
    sid = client.get(f"/api/{pid}/raw-data").json()["samples"][0]["id"]
    back = f"/projects/{pid}/data?label=old&page=1"

    def sample() -> dict:
        return client.get(f"/api/{pid}/raw-data/{sid}").json()["sample"]

    r = browser.post(f"/projects/{pid}/data/{sid}/label", {"label": " new ", "back": back})
    assert r.status_code == 303 and r.headers["location"] == back and sample()["label"] == "new"
    r = browser.post(
        f"/projects/{pid}/data/{sid}/move", {"category": "testing", "back": "https://evil.example/"}
    )
    assert r.headers["location"] == f"/projects/{pid}/data" and sample()["category"] == "testing"
    r = browser.post(f"/projects/{pid}/data/{sid}/move", {"category": "validation"})
    assert (
        "unknown category" in client.get(r.headers["location"]).text
        and sample()["category"] == "testing"
    )
    browser.post(f"/projects/{pid}/data/{sid}/enable", {"enabled": "false"})
    assert sample()["isDisabled"] is True
    assert "disabled</span>" in client.get(f"/projects/{pid}/data").text
    browser.post(f"/projects/{pid}/data/{sid}/enable", {"enabled": "true"})
    assert sample()["isDisabled"] is False
    r = browser.post(f"/projects/{pid}/data/{sid}/delete", {"back": f"/projects/{pid}/data/{sid}"})
    assert r.headers["location"] == f"/projects/{pid}/data"
    assert client.get(f"/api/{pid}/raw-data/{sid}").status_code == 404
    assert browser.client.get(f"/projects/{pid}/data/{sid}").status_code == 404


def test_sample_page_audio_time_series_and_signature(browser, user_project, client):
    pid = user_project.project.id
    _upload(browser, pid, [("yes.1.wav", wav_bytes())], label="yes")
    client.post(
        "/api/training/data",
        content=acquisition(hmac_key=user_project.hmac_key),
        headers={
            "x-api-key": user_project.api_key,
            "content-type": "application/json",
            "x-label": "motion",
        },
    )
    samples = {s["label"]: s["id"] for s in client.get(f"/api/{pid}/raw-data").json()["samples"]}
    audio = client.get(f"/projects/{pid}/data/{samples['yes']}").text
    assert f'data-sample-url="/api/{pid}/raw-data/{samples["yes"]}"' in audio
    assert (
        '<audio id="sample-audio" controls preload="metadata" '
        f'src="/api/{pid}/raw-data/{samples["yes"]}/raw"' in audio
    )
    assert "unsigned" in audio and "8000 Hz" in audio
    motion = client.get(f"/projects/{pid}/data/{samples['motion']}").text
    assert "<audio" not in motion and "accX (m/s2)" in motion
    assert re.search(
        r'id="signature-status">\s*<span class="badge ok">verified</span> HS256', motion
    )
    assert (
        client.get(f"/api/{pid}/raw-data/{samples['yes']}/raw").headers["content-type"]
        == "audio/wav"
    )


def test_image_sample_page_shows_the_image(browser, user_project, client):
    import io

    import numpy as np
    from PIL import Image

    pid = user_project.project.id
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (12, 16, 3), dtype=np.uint8)).save(
        buf, "PNG"
    )
    browser.post(
        f"/projects/{pid}/data/upload",
        {"label": "cat", "category": "training"},
        files=[("files", ("cat.1.png", buf.getvalue(), "image/png"))],
    )
    sid = client.get(f"/api/{pid}/raw-data").json()["samples"][0]["id"]
    page = client.get(f"/projects/{pid}/data/{sid}").text
    assert (
        f'<img class="sample" src="/api/{pid}/raw-data/{sid}/image" alt="Image sample '
        'cat.1.png (cat)">' in page
    )
    assert "16 × 12 px" in page and "data-sample-url" not in page
    assert "16×12" in client.get(f"/projects/{pid}/data").text
    assert client.get(f"/api/{pid}/raw-data/{sid}/image").content == buf.getvalue()
