"""The Members page, invitations by link (signed in, signed out with a new account), the audit log
page (issue 16)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.app.web.conftest import PASSWORD, sign_in, token_from


def _link(html: str) -> str:
    m = re.search(r'<code id="invite-link">[^<]*(/invite/[^<]+)</code>', html)
    assert m, "the page shows no invitation link"
    return m.group(1)


def test_an_admin_invites_and_a_new_person_joins_signed_out(app, browser, user_project, settings):
    pid = user_project.project.id
    page = browser.client.get(f"/projects/{pid}/members")
    assert page.status_code == 200 and "ada@example.com" in page.text
    r = browser.post(f"/projects/{pid}/invitations", {"role": "viewer", "days": "7"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    link = _link(r.text)
    # a stranger, signed out, opens the link: sign in or create an account
    stranger = TestClient(app)
    page = stranger.get(link)
    assert page.status_code == 200 and 'id="invite-role">viewer<' in page.text
    assert 'action="/login"' in page.text and f'action="{link}/signup"' in page.text
    token = token_from(page.text)
    r = stranger.post(
        f"{link}/signup",
        data={"csrf_token": token, "name": "Grace", "email": "x", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "not a valid email" in r.text
    r = stranger.post(
        f"{link}/signup",
        data={
            "csrf_token": token,
            "name": "Grace",
            "email": "grace@example.com",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{pid}", r.text
    page = stranger.get(f"/projects/{pid}")
    assert page.status_code == 200 and 'id="my-role">viewer<' in page.text
    assert "Delete this project" not in page.text and "Rotate HMAC key" not in page.text
    # the link worked once
    again = TestClient(app).get(link)
    assert again.status_code == 410 and "already used" in again.text
    # the audit page names who joined
    audit = browser.client.get(f"/projects/{pid}/audit")
    assert "invitation.accept" in audit.text and "grace@example.com" in audit.text
    assert "invitation.create" in audit.text


def test_a_signed_in_user_joins_with_the_button(app, browser, user_project, make_user):
    pid = user_project.project.id
    link = _link(browser.post(f"/projects/{pid}/invitations", {"role": "member"}).text)
    make_user("bob@example.com")
    bob = TestClient(app)
    assert sign_in(bob, "bob@example.com").status_code == 303
    assert bob.get(f"/projects/{pid}").status_code == 404
    page = bob.get(link)
    assert "Join as bob@example.com" in page.text
    r = bob.post(link, data={"csrf_token": token_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert 'id="my-role">member<' in bob.get(f"/projects/{pid}").text


def test_role_select_and_removal_on_the_page(app, browser, user_project, make_user, settings):
    from app.core.db import session_scope
    from app.models import Project, User
    from app.services import projects

    pid = user_project.project.id
    uid, _ = make_user("bob@example.com")
    with session_scope(settings) as s:
        projects.add_member(s, s.get(Project, pid), s.get(User, uid), role="viewer")
    bob = TestClient(app)
    assert sign_in(bob, "bob@example.com").status_code == 303
    viewer_page = bob.get(f"/projects/{pid}/members")
    assert viewer_page.status_code == 200 and "Create invitation link" not in viewer_page.text
    assert bob.get(f"/projects/{pid}/audit").status_code == 403
    page = browser.client.get(f"/projects/{pid}/members")
    assert f'id="role-{uid}"' in page.text
    r = browser.post(f"/projects/{pid}/members/{uid}/role", {"role": "admin"})
    assert r.status_code == 303
    assert 'id="my-role">admin<' in bob.get(f"/projects/{pid}").text
    # the last owner cannot step down
    r = browser.post(f"/projects/{pid}/members/{browser.user_id}/role", {"role": "member"})
    assert r.status_code == 409 and "last owner" in r.text
    r = browser.post(f"/projects/{pid}/members/{uid}/remove")
    assert r.status_code == 303
    r = bob.get("/projects", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_an_api_key_with_a_role_from_the_dashboard(browser, user_project, client):
    pid = user_project.project.id
    r = browser.post(f"/projects/{pid}/api-keys", {"name": "ci", "role": "full"})
    assert r.status_code == 200
    key = re.search(r'<code id="new-api-key">([^<]+)</code>', r.text).group(1)
    assert client.get(f"/api/{pid}/raw-data", headers={"x-api-key": key}).status_code == 200
    r = client.post(f"/api/{pid}", json={"name": "x"}, headers={"x-api-key": key})
    assert r.status_code == 403
    r = browser.post(f"/projects/{pid}/api-keys", {"name": "ci", "role": "root"})
    assert r.status_code == 400 and "unknown API key role" in r.text


def test_the_audit_log_keeps_successful_changes_only(browser, user_project, settings):
    from app.core.db import session_scope
    from app.models import AuditEvent

    pid = user_project.project.id
    # a page answering 400 (the deletion not confirmed) and a refused one (409) leave nothing
    assert browser.post(f"/projects/{pid}/delete", {"confirm": "wrong"}).status_code == 400
    r = browser.post(f"/projects/{pid}/members/{browser.user_id}/role", {"role": "viewer"})
    assert r.status_code == 409
    with session_scope(settings) as s:
        assert s.query(AuditEvent).count() == 0
    assert browser.post(f"/projects/{pid}/rotate-hmac-key").status_code == 303
    page = browser.client.get(f"/projects/{pid}/audit")
    assert (
        "hmackey.rotate" in page.text and "POST /projects/{project_id}/rotate-hmac-key" in page.text
    )
    assert "ada@example.com" in page.text


def test_a_viewer_is_told_the_project_is_read_only(app, browser, user_project, make_user, settings):
    from app.core.db import session_scope
    from app.models import Project, User
    from app.services import projects

    pid = user_project.project.id
    uid, _ = make_user("vi@example.com")
    with session_scope(settings) as s:
        projects.add_member(s, s.get(Project, pid), s.get(User, uid), role="viewer")
    vi = TestClient(app)
    assert sign_in(vi, "vi@example.com").status_code == 303
    assert 'id="read-only"' in vi.get(f"/projects/{pid}/data").text
    assert 'id="read-only"' not in browser.client.get(f"/projects/{pid}/data").text
    r = vi.post(
        f"/projects/{pid}/data/upload",
        data={"csrf_token": token_from(vi.get("/projects").text)},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert "this needs the member role in the project; you are viewer" in r.text
