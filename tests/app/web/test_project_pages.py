"""Project list, creation (API key shown once), dashboard (keys, snippet, counts), rotation,
deletion, devices."""

from __future__ import annotations

import re

from tests.app.api.helpers import acquisition


def test_create_project_shows_the_api_key_once_and_it_works(browser):
    c = browser.client
    assert "No projects yet" in c.get("/projects").text
    r = browser.post("/projects", {"name": "  Keyword spotting ", "description": "yes/no"})
    assert r.status_code == 303  # post/redirect/get: reloading the page creates nothing
    assert re.fullmatch(r"/projects/\d+\?created=1", r.headers["location"])
    r = c.get(r.headers["location"])
    assert r.status_code == 200 and "Project created: your API key" in r.text
    key = re.search(r'<code id="new-api-key">([^<]+)</code>', r.text).group(1)
    assert "shown only once" in r.text and r.headers["cache-control"] == "no-store"
    assert f'os.environ["EI_API_KEY"] = "{key}"' in r.text  # the SDK needs a full key
    assert '-H "x-api-key: YOUR_DEVICE_KEY"' in r.text  # devices get an ingestion key
    pid = int(re.search(r'action="/projects/(\d+)/rotate-api-key"', r.text).group(1))
    assert (
        c.get(f"/api/{pid}", headers={"x-api-key": key}).json()["project"]["name"]
        == "Keyword spotting"
    )
    page = c.get(f"/projects/{pid}").text
    assert key not in page and "YOUR_API_KEY" in page and key[:8] in page  # the prefix only
    reload = c.get(f"/projects/{pid}?created=1").text  # the reload: no key, no new project
    assert key not in reload and "Project created" not in reload
    assert len(re.findall(r'href="/projects/\d+"', c.get("/projects").text)) == 1
    listing = c.get("/projects").text
    assert f'href="/projects/{pid}"' in listing and "Keyword spotting" in listing


def test_create_project_validation_message_is_next_to_the_field(browser):
    r = browser.post("/projects", {"name": "   "})
    assert r.status_code == 400
    assert 'id="name-error">a project name must be 1 to 200 characters long' in r.text
    assert 'aria-invalid="true" aria-describedby="name-error"' in r.text


def test_dashboard_shows_counts_keys_and_a_snippet_for_this_server(browser, user_project, client):
    pid, key = user_project.project.id, user_project.api_key
    client.post(
        "/api/training/data",
        content=acquisition(hmac_key=user_project.hmac_key, device="board-7"),
        headers={"x-api-key": key, "content-type": "application/json", "x-label": "wave"},
    )
    page = client.get(f"/projects/{pid}").text
    assert 'id="count-samples">1<' in page
    assert user_project.hmac_key in page and 'data-copy="hmac-key-1"' in page
    assert "curl -X POST http://testserver/api/training/files" in page
    assert 'os.environ["EI_API_ENDPOINT"] = "http://testserver/v1"' in page
    devices = client.get(f"/projects/{pid}/devices").text
    assert "board-7" in devices and "TEST_BOARD" in devices


def test_base_url_setting_is_used_in_the_snippet(settings, make_user, make_project):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.app.web.conftest import sign_in

    _, email = make_user()
    with TestClient(
        create_app(settings.model_copy(update={"base_url": "https://forge.example.org/"}))
    ) as c:
        sign_in(c, email)
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/projects").text).group(1)
        page = c.post("/projects", data={"name": "p", "csrf_token": token}).text
        assert "curl -X POST https://forge.example.org/api/training/files" in page


def test_rotate_api_key_revokes_the_old_key(browser, user_project, client):
    pid, old = user_project.project.id, user_project.api_key
    r = browser.post(f"/projects/{pid}/rotate-api-key")
    assert r.status_code == 200
    new = re.search(r'<code id="new-api-key">([^<]+)</code>', r.text).group(1)
    assert new != old
    assert client.get(f"/api/{pid}", headers={"x-api-key": old}).status_code == 401
    assert client.get(f"/api/{pid}", headers={"x-api-key": new}).status_code == 200


def test_rotate_hmac_key(browser, user_project, client):
    pid = user_project.project.id
    r = browser.post(f"/projects/{pid}/rotate-hmac-key")
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{pid}#keys"
    page = client.get(f"/projects/{pid}").text
    assert user_project.hmac_key not in page and "New HMAC key created" in page


def test_delete_project_needs_the_name_typed(browser, user_project, client):
    pid = user_project.project.id
    r = browser.post(f"/projects/{pid}/delete", {"confirm": "wrong"})
    assert r.status_code == 400 and "Type the project&#39;s name" in r.text
    assert client.get(f"/projects/{pid}").status_code == 200
    r = browser.post(f"/projects/{pid}/delete", {"confirm": "keywords"})
    assert r.status_code == 303 and r.headers["location"] == "/projects"
    assert client.get(f"/projects/{pid}").status_code == 404
    assert client.get(f"/api/{pid}", headers={"x-api-key": user_project.api_key}).status_code == 401
