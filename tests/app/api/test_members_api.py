"""Members, roles, invitations, API key roles and the audit log through the API (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest

PASSWORD = "correct horse battery"


@pytest.fixture
def team(settings, make_project):
    """A project (its first key is an admin key) with an owner, an admin and a viewer."""
    from app.core.db import session_scope
    from app.models import Project
    from app.services import projects, users

    with session_scope(settings) as s:
        ids = {}
        for name in ("owner", "admin", "viewer"):
            ids[name] = users.create_user(s, email=f"{name}@example.com", password=PASSWORD).id
    new = make_project("team")
    with session_scope(settings) as s:
        from app.models import User

        p = s.get(Project, new.project.id)
        for name in ("owner", "admin", "viewer"):
            projects.add_member(s, p, s.get(User, ids[name]), role=name)
    return {"pid": new.project.id, "key": new.api_key, **ids}


def _h(key: str) -> dict:
    return {"x-api-key": key}


def test_members_are_listed_with_their_roles(client, team):
    r = client.get(f"/api/{team['pid']}/members", headers=_h(team["key"]))
    assert r.status_code == 200, r.text
    got = {m["email"]: m["role"] for m in r.json()["members"]}
    assert got == {
        "owner@example.com": "owner",
        "admin@example.com": "admin",
        "viewer@example.com": "viewer",
    }


def test_role_change_rules(client, team, settings):
    pid, h = team["pid"], _h(team["key"])  # an admin key
    r = client.put(f"/api/{pid}/members/{team['viewer']}", json={"role": "member"}, headers=h)
    assert r.status_code == 200 and r.json()["previousRole"] == "viewer", r.text
    r = client.patch(f"/api/{pid}/members/{team['viewer']}", json={"role": "admin"}, headers=h)
    assert r.json()["role"] == "admin"
    # an admin cannot grant owner, nor touch an owner
    r = client.put(f"/api/{pid}/members/{team['viewer']}", json={"role": "owner"}, headers=h)
    assert r.status_code == 403 and "only an owner" in r.json()["error"]
    r = client.put(f"/api/{pid}/members/{team['owner']}", json={"role": "viewer"}, headers=h)
    assert r.status_code == 403
    r = client.delete(f"/api/{pid}/members/{team['owner']}", headers=h)
    assert r.status_code == 403
    # an unknown role, an unknown member
    r = client.put(f"/api/{pid}/members/{team['viewer']}", json={"role": "boss"}, headers=h)
    assert r.status_code == 422 and "role" in r.json()["error"]
    r = client.put(f"/api/{pid}/members/999999", json={"role": "viewer"}, headers=h)
    assert r.status_code == 404 and "not a member" in r.json()["error"]


def test_the_last_owner_can_be_neither_demoted_nor_removed(settings, team):
    from app.core.db import session_scope
    from app.models import Project
    from app.services import members
    from app.services.errors import Conflict
    from app.services.roles import Role

    with session_scope(settings) as s:
        p = s.get(Project, team["pid"])
        with pytest.raises(Conflict, match="last owner"):
            members.set_role(s, p, team["owner"], Role.ADMIN, by=Role.OWNER, actor=None)
        with pytest.raises(Conflict, match="last owner"):
            members.remove(s, p, team["owner"], by=Role.OWNER, actor=None)
        # with a second owner, the first may step down
        members.set_role(s, p, team["admin"], Role.OWNER, by=Role.OWNER, actor=None)
        members.set_role(s, p, team["owner"], Role.MEMBER, by=Role.OWNER, actor=None)
        assert p.owner_id == team["admin"]


def test_the_last_owner_through_the_api_is_409(client, team, settings):
    """An owner signed in tries to demote and remove themselves: 409, and nothing recorded."""
    from tests.app.web.conftest import sign_in, token_from

    assert sign_in(client, "owner@example.com").status_code == 303
    h = {"x-csrf-token": token_from(client.get("/projects").text)}
    pid = team["pid"]
    r = client.put(f"/api/{pid}/members/{team['owner']}", json={"role": "admin"}, headers=h)
    assert r.status_code == 409 and "last owner" in r.json()["error"], r.text
    r = client.delete(f"/api/{pid}/members/{team['owner']}", headers=h)
    assert r.status_code == 409
    # the owner may make another owner
    r = client.put(f"/api/{pid}/members/{team['admin']}", json={"role": "owner"}, headers=h)
    assert r.status_code == 200
    events = client.get(f"/api/{pid}/audit", headers=h).json()["events"]
    # newest first: the readable entry, then the request's own
    assert [e["action"] for e in events] == [
        "member.role",
        "PUT /api/{projectId}/members/{userId}",
    ], events  # the refused requests left nothing
    assert events[0]["detail"] == {"userId": team["admin"], "from": "admin", "to": "owner"}
    assert events[1]["detail"] == {"path": {"projectId": str(pid), "userId": str(team["admin"])}}


def test_removal_ends_every_session_of_the_person(app, client, team, settings):
    from fastapi.testclient import TestClient

    from tests.app.web.conftest import sign_in

    viewer = TestClient(app)
    assert sign_in(viewer, "viewer@example.com").status_code == 303
    other = TestClient(app)  # a second browser of the same person
    assert sign_in(other, "viewer@example.com").status_code == 303
    assert viewer.get(f"/projects/{team['pid']}").status_code == 200
    r = client.delete(f"/api/{team['pid']}/members/{team['viewer']}", headers=_h(team["key"]))
    assert r.status_code == 200, r.text
    for c in (viewer, other):
        r = c.get("/projects", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    events = client.get(f"/api/{team['pid']}/audit", headers=_h(team["key"])).json()["events"]
    removal = next(e for e in events if e["action"] == "member.remove")
    assert removal["target"] == "viewer@example.com"
    assert removal["detail"]["sessionsEnded"] == 2
    assert removal["actor"].startswith("API key default") and removal["actorApiKeyId"]


def test_api_keys_carry_a_role(client, team):
    pid, admin = team["pid"], _h(team["key"])
    made = {}
    for role in ("ingestion", "full", "admin"):
        r = client.post(f"/api/{pid}/apikeys", json={"name": role, "role": role}, headers=admin)
        assert r.status_code == 200 and r.json()["role"] == role, r.text
        made[role] = r.json()["apiKey"]
    r = client.post(f"/api/{pid}/apikeys", json={"role": "root"}, headers=admin)
    assert r.status_code == 422
    # a full key does a member's work, not an admin's
    full = _h(made["full"])
    assert client.get(f"/api/{pid}/raw-data", headers=full).status_code == 200
    r = client.post(f"/api/{pid}", json={"name": "renamed"}, headers=full)
    assert r.status_code == 403
    assert r.json()["error"] == (
        "this needs the admin role in the project; this full key is member"
    )
    assert client.get(f"/api/{pid}/audit", headers=full).status_code == 403
    # an admin key does an admin's
    r = client.post(f"/api/{pid}", json={"name": "renamed"}, headers=_h(made["admin"]))
    assert r.status_code == 200
    # an ingestion key sends data only
    r = client.get(f"/api/{pid}/raw-data", headers=_h(made["ingestion"]))
    assert r.status_code == 403 and "ingestion" in r.json()["error"]
    # listing shows roles, never keys; revoking ends a key
    keys = client.get(f"/api/{pid}/apikeys", headers=admin).json()["apiKeys"]
    assert {k["name"]: k["role"] for k in keys} == {
        "default": "admin",
        "ingestion": "ingestion",
        "full": "full",
        "admin": "admin",
    }
    assert all("key" not in k for k in keys)
    full_id = next(k["id"] for k in keys if k["name"] == "full")
    assert client.delete(f"/api/{pid}/apikeys/{full_id}", headers=admin).status_code == 200
    assert client.get(f"/api/{pid}/raw-data", headers=full).status_code == 401
    actions = [e["action"] for e in client.get(f"/api/{pid}/audit", headers=admin).json()["events"]]
    assert actions.count("apikey.create") == 3 and "apikey.revoke" in actions


def test_invitations_are_single_use_and_expire(client, team, settings):
    from app.core.db import session_scope
    from app.models import Invitation
    from app.models.base import utcnow

    pid, h = team["pid"], _h(team["key"])
    r = client.post(f"/api/{pid}/invitations", json={"role": "viewer"}, headers=h)
    assert r.status_code == 200, r.text
    url, inv = r.json()["url"], r.json()["invitation"]
    token = url.rsplit("/", 1)[1]
    assert "/invite/" in url and inv["role"] == "viewer"
    with session_scope(settings) as s:  # stored hashed
        row = s.get(Invitation, inv["id"])
        assert row.token_hash != token and token not in row.token_hash
    listed = client.get(f"/api/{pid}/invitations", headers=h).json()["invitations"]
    assert [i["id"] for i in listed] == [inv["id"]]
    # an admin may not invite an owner
    r = client.post(f"/api/{pid}/invitations", json={"role": "owner"}, headers=h)
    assert r.status_code == 403
    r = client.post(f"/api/{pid}/invitations", json={"expiresInDays": 0}, headers=h)
    assert r.status_code == 422 and "expiresInDays" in r.json()["error"]
    # expired
    with session_scope(settings) as s:
        s.get(Invitation, inv["id"]).expires_at = utcnow() - timedelta(seconds=1)
    r = client.get(f"/invite/{token}")
    assert r.status_code == 410 and "expired" in r.text
    assert client.get(f"/api/{pid}/invitations", headers=h).json()["invitations"] == []
    # revoked
    r = client.post(f"/api/{pid}/invitations", json={"role": "member"}, headers=h)
    token2, id2 = r.json()["url"].rsplit("/", 1)[1], r.json()["invitation"]["id"]
    assert client.delete(f"/api/{pid}/invitations/{id2}", headers=h).status_code == 200
    r = client.get(f"/invite/{token2}")
    assert r.status_code == 410 and "revoked" in r.text
    assert client.get("/invite/not-a-token").status_code == 404
    assert client.delete(f"/api/{pid}/invitations/999999", headers=h).status_code == 404
