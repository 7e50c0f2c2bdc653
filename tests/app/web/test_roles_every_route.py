"""Every route of the app, with every role (issue 16): 403 exactly where the role may not act.

The routes are enumerated from the app itself (API and dashboard, every method), so a new route
is walked too. The expectation is written out here, not read from `app.services.roles`: reads
need a viewer and changes a member, except the tables below.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from tests.app.web.conftest import PASSWORD, sign_in, token_from

VIEWER, MEMBER, ADMIN, OWNER = 1, 2, 3, 4
NAMES = {VIEWER: "viewer", MEMBER: "member", ADMIN: "admin", OWNER: "owner"}

A, W = "/api/{projectId}", "/projects/{project_id}"
NEEDS = {
    # project settings, keys, members, invitations, audit, restoring versions: admin
    ("POST", A): ADMIN,
    ("GET", f"{A}/apikeys"): ADMIN,
    ("POST", f"{A}/apikeys"): ADMIN,
    ("DELETE", f"{A}/apikeys/{{apiKeyId}}"): ADMIN,
    ("PUT", f"{A}/members/{{userId}}"): ADMIN,
    ("PATCH", f"{A}/members/{{userId}}"): ADMIN,
    ("DELETE", f"{A}/members/{{userId}}"): ADMIN,
    ("GET", f"{A}/invitations"): ADMIN,
    ("POST", f"{A}/invitations"): ADMIN,
    ("DELETE", f"{A}/invitations/{{invitationId}}"): ADMIN,
    ("GET", f"{A}/audit"): ADMIN,
    ("POST", f"{A}/versions/{{number}}/restore"): ADMIN,
    ("DELETE", f"{A}/versions/{{number}}"): ADMIN,
    ("POST", f"{W}/versions/{{number}}/restore"): ADMIN,
    ("POST", f"{W}/versions/{{number}}/delete"): ADMIN,
    ("POST", f"{W}/rotate-api-key"): ADMIN,
    ("POST", f"{W}/rotate-hmac-key"): ADMIN,
    ("POST", f"{W}/api-keys"): ADMIN,
    ("POST", f"{W}/members/{{user_id}}/role"): ADMIN,
    ("POST", f"{W}/members/{{user_id}}/remove"): ADMIN,
    ("POST", f"{W}/invitations"): ADMIN,
    ("POST", f"{W}/invitations/{{invitation_id}}/revoke"): ADMIN,
    ("GET", f"{W}/audit"): ADMIN,
    # only an owner deletes the project
    ("POST", f"{W}/delete"): OWNER,
    # reads that reveal the HMAC key: members (devices need it), not viewers
    ("GET", f"{A}/devkeys"): MEMBER,
    ("GET", f"{A}/devkeys/hmac"): MEMBER,
}
# what a device (ingestion) key may reach among the project's routes
INGESTION = {
    ("GET", f"{A}/devkeys"),
    ("GET", f"{A}/devkeys/hmac"),
    ("POST", f"{A}/devices/create"),
    ("GET", f"{A}/device/{{deviceId}}"),
}
# routes outside a project (no role applies): listed so that a new one is looked at
UNSCOPED = {
    ("GET", "/"),
    ("GET", "/api/deployment/targets"),
    ("GET", "/api/dsp-blocks"),
    ("GET", "/api/health"),
    ("GET", "/api/projects"),
    ("POST", "/api/{category}/data"),
    ("POST", "/api/{category}/files"),
    ("GET", "/favicon.ico"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/phone"),
    ("GET", "/projects"),
    ("POST", "/projects"),
    ("GET", "/invite/{token}"),
    ("POST", "/invite/{token}"),
    ("POST", "/invite/{token}/signup"),
}


def needs(method: str, path: str) -> int:
    return NEEDS.get((method, path), VIEWER if method == "GET" else MEMBER)


def routes(app) -> list[tuple[str, str]]:
    out = set()
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute) and not ctx.path_format.startswith("/v1/"):
            for method in ctx.methods:
                if method != "HEAD":
                    out.add((method, ctx.path_format))
    return sorted(out)


def fill(path: str, ids: dict[str, object]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 987654)), path)


@pytest.fixture
def team(settings, app, client, broker_folders):
    """A project with an owner, an admin, a member, a viewer (each signed in on its own client),
    a bystander member to act on, and an ingestion, a full and an admin API key."""
    from app.core.db import session_scope
    from app.services import projects, users

    with session_scope(settings) as s:
        owner = users.create_user(s, email="owner@example.com", password=PASSWORD)
        new = projects.create_project(s, name="team", owner=owner)
        pid = new.project.id
        people = {}
        for role in ("admin", "member", "viewer", "bystander"):
            u = users.create_user(s, email=f"{role}@example.com", password=PASSWORD)
            projects.add_member(s, new.project, u, role="member" if role == "bystander" else role)
            people[role] = u.id
        keys = {
            role: projects.create_api_key(s, new.project, name=role, role=role)
            for role in ("ingestion", "full", "admin")
        }
    browsers = {}
    for role in ("owner", "admin", "member", "viewer"):
        c = client if role == "owner" else TestClient(app)
        assert sign_in(c, f"{role}@example.com").status_code == 303
        browsers[role] = (c, token_from(c.get("/projects").text))
    ids = {
        "projectId": pid,
        "project_id": pid,
        "userId": people["bystander"],
        "user_id": people["bystander"],
        "category": "training",
        "token": "nope",
    }
    return {"pid": pid, "browsers": browsers, "keys": keys, "ids": ids}


def test_the_route_table_is_what_the_test_knows(app):
    scoped = {r for r in routes(app) if "{projectId}" in r[1] or "{project_id}" in r[1]}
    assert set(routes(app)) - scoped == UNSCOPED
    assert len(scoped) > 100
    assert set(NEEDS) <= scoped, set(NEEDS) - scoped  # the tables name only real routes


def _call(client, method, url, *, headers=None, form_token=None):
    if form_token is not None:  # a dashboard form
        return client.request(method, url, data={"csrf_token": form_token}, follow_redirects=False)
    return client.request(method, url, headers=headers or {}, follow_redirects=False)


def test_every_route_refuses_exactly_what_each_role_may_not_do(app, team):
    checked = {"refused": 0, "allowed": 0, "ingestion": 0}
    scoped = [r for r in routes(app) if "{projectId}" in r[1] or "{project_id}" in r[1]]
    # rotating revokes the keys the walk uses, so it goes last; then the deletion (refused with
    # 400 anyway: the form does not confirm the project's name)
    last = [("POST", f"{W}/rotate-api-key"), ("POST", f"{W}/delete")]
    scoped.sort(key=lambda r: last.index(r) if r in last else -1)
    for method, path in scoped:
        url = fill(path, team["ids"])
        need = needs(method, path)
        api = path.startswith("/api/")
        callers = []
        for role, held in (
            ("viewer", VIEWER),
            ("member", MEMBER),
            ("admin", ADMIN),
            ("owner", OWNER),
        ):
            c, token = team["browsers"][role]
            if api:
                callers.append((role, held, c, {"x-csrf-token": token}, None))
            else:
                callers.append((role, held, c, None, token if method == "POST" else None))
        if api:
            anon = TestClient(app)
            for key_role, held in (("full", MEMBER), ("admin", ADMIN)):
                headers = {"x-api-key": team["keys"][key_role]}
                callers.append((f"{key_role} key", held, anon, headers, None))
            ingestion_ok = (method, path) in INGESTION
            r = _call(anon, method, url, headers={"x-api-key": team["keys"]["ingestion"]})
            assert (r.status_code == 403) != ingestion_ok, (method, path, "ingestion", r.text)
            checked["ingestion"] += 1
        for who, held, c, headers, form in callers:
            r = _call(c, method, url, headers=headers, form_token=form)
            if held < need:
                assert r.status_code == 403, (method, path, who, r.status_code, r.text[:200])
                assert f"needs the {NAMES[need]} role" in r.text, (method, path, who)
                assert NAMES[held] in r.text
                checked["refused"] += 1
            else:
                assert r.status_code != 403, (method, path, who, r.text[:300])
                checked["allowed"] += 1
    print(
        f"{len(scoped)} project routes: {checked['refused']} calls refused, "
        f"{checked['allowed']} allowed, {checked['ingestion']} with an ingestion key"
    )
    assert checked["refused"] > 100 and checked["allowed"] > 500, checked
