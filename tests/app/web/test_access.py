"""Every dashboard route: anonymous → /login, another user's project → 404, a POST without CSRF →
403."""

from __future__ import annotations

import re

import pytest

from app.schemas.impulses import ImpulseCreate
from tests.app.api.helpers import snapshot, wav_bytes
from tests.app.web.conftest import sign_in


def _web_routes():
    from app.web.routes import (
        auth,
        data,
        data_tools,
        deployment,
        devices,
        impulses,
        jobs,
        learning,
        members,
        projects,
        versions,
    )

    for module in (
        auth,
        projects,
        data,
        data_tools,
        devices,
        impulses,
        jobs,
        learning,
        deployment,
        members,
        versions,
    ):
        for route in module.router.routes:
            for method in route.methods:
                yield method, route.path


def _fill(path: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


@pytest.fixture
def other_project(settings, make_user, make_project, client):
    """Project B of another user, with a sample, an impulse and a job, so every guessed id
    exists."""
    from app.core.db import session_scope
    from app.models import User
    from app.services import impulses, jobs, projects

    uid, _ = make_user("bob@example.com")
    with session_scope(settings) as s:
        new = projects.create_project(s, name="B", owner=s.get(User, uid))
        imp = impulses.create_impulse(
            s,
            new.project.id,
            ImpulseCreate.model_validate(
                {
                    "input": {"type": "time-series", "frequency_hz": 8000},
                    "dsp": [{"block": "mfcc"}],
                    "learn": [{"id": 100, "type": "classification"}],
                }
            ),
        )
        job = jobs.create_job(s, project_id=new.project.id, kind="wait")
        ids = {
            "project_id": new.project.id,
            "impulse_id": imp.id,
            "job_id": job.id,
            "learn_id": 100,
            "user_id": uid,
            "invitation_id": 1,
            "number": 1,
            "token": "x",
        }
    r = client.post(
        "/api/training/files",
        headers={"x-api-key": new.api_key, "x-label": "yes"},
        files={"data": ("yes.1.wav", wav_bytes(), "audio/wav")},
    )
    ids["sample_id"] = r.json()["files"][0]["sampleId"]
    return ids


def test_route_table_covers_the_pages():
    routes = set(_web_routes())
    for path in (
        "/",
        "/login",
        "/projects",
        "/projects/{project_id}",
        "/projects/{project_id}/data",
        "/projects/{project_id}/data/{sample_id}",
        "/projects/{project_id}/devices",
        "/projects/{project_id}/impulse",
        "/projects/{project_id}/impulse/{impulse_id}",
        "/projects/{project_id}/jobs",
        "/projects/{project_id}/jobs/{job_id}",
    ):
        assert ("GET", path) in routes, path


def test_anonymous_visitors_are_sent_to_login_everywhere(client, other_project):
    for method, path in _web_routes():
        if path in (
            "/login",
            "/logout",
            "/",
            "/phone",
            "/invite/{token}",
            "/invite/{token}/signup",
        ):  # the phone page carries its API key itself; an invitation link is opened signed out
            continue
        r = client.request(method, _fill(path, other_project), follow_redirects=False)
        if method == "GET":
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), (
                method,
                path,
            )
        else:  # no session, so no CSRF token either: refused before anything else
            assert r.status_code in (303, 403), (method, path, r.status_code)


def test_another_users_project_is_404_on_every_route(client, make_user, other_project, settings):
    _, email = make_user("eve@example.com")
    assert sign_in(client, email).status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/projects").text).group(1)
    before = snapshot(settings)
    checked = 0
    for method, path in _web_routes():
        if "{project_id}" not in path:
            continue
        data = {"csrf_token": token} if method == "POST" else None
        r = client.request(method, _fill(path, other_project), data=data, follow_redirects=False)
        assert r.status_code == 404, (method, path, r.status_code, r.text[:300])
        assert "does not exist or you have no access" in r.text and "<html" in r.text
        checked += 1
    assert checked >= 20
    assert snapshot(settings) == before, "a refused request changed something"


def test_every_form_post_without_the_csrf_token_is_403(browser, user_project, settings, client):
    pid = user_project.project.id
    r = client.post(
        "/api/training/files",
        headers={"x-api-key": user_project.api_key, "x-label": "no"},
        files={"data": ("no.1.wav", wav_bytes(), "audio/wav")},
    )
    sid = r.json()["files"][0]["sampleId"]
    from app.core.db import session_scope
    from app.services import impulses, jobs

    with session_scope(settings) as s:
        iid = impulses.create_impulse(
            s,
            pid,
            ImpulseCreate.model_validate(
                {
                    "input": {"type": "time-series"},
                    "dsp": [{"block": "mfcc"}],
                    "learn": [{"id": 100, "type": "classification"}],
                }
            ),
        ).id
        jid = jobs.create_job(s, project_id=pid, kind="wait").id
    ids = {"project_id": pid, "sample_id": sid, "impulse_id": iid, "job_id": jid, "learn_id": 100}
    ids.update(user_id=browser.user_id, invitation_id=1, number=1, token="x")
    before = snapshot(settings)
    posts = [p for m, p in _web_routes() if m == "POST"]
    assert len(posts) >= 14
    for path in posts:
        for data in ({}, {"csrf_token": "wrong"}):
            r = client.post(_fill(path, ids), data=data, follow_redirects=False)
            assert r.status_code == 403, (path, r.status_code)
    assert snapshot(settings) == before
