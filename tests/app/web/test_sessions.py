"""Issue 10 item 5: sessions end on the server (sign-out, password change, member removal), so a
copy of the cookie taken before stops working on the dashboard and the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.web.conftest import sign_in


def _copy(app, browser) -> TestClient:
    """A second client holding a copy of the signed-in browser's cookie."""
    other = TestClient(app)
    other.cookies.set("tinyforge_session", browser.client.cookies.get("tinyforge_session"))
    return other


def _works(client: TestClient, project_id: int) -> tuple[bool, bool]:
    page = client.get("/projects", follow_redirects=False)
    api = client.get(f"/api/{project_id}/raw-data")
    return page.status_code == 200, api.status_code == 200


def test_a_cookie_copied_before_sign_out_no_longer_works(app, browser, user_project):
    stolen = _copy(app, browser)
    assert _works(stolen, user_project.project.id) == (True, True)
    assert browser.post("/logout").status_code == 303
    page = stolen.get("/projects", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    api = stolen.get(f"/api/{user_project.project.id}/raw-data")
    assert api.status_code == 401


def test_a_password_change_ends_every_session_of_the_user(
    app, client, browser, user_project, settings
):
    from app.core.db import session_scope
    from app.models import User
    from app.services import users

    other_device = TestClient(app)
    assert sign_in(other_device, browser.email).status_code == 303
    stolen = _copy(app, browser)
    with session_scope(settings) as s:
        ended = users.set_password(s, s.get(User, browser.user_id), "a brand new password")
    assert ended == 2
    for c in (browser.client, other_device, stolen):
        assert _works(c, user_project.project.id) == (False, False)
    assert sign_in(other_device, browser.email, "a brand new password").status_code == 303
    assert _works(other_device, user_project.project.id) == (True, True)


def test_removing_a_member_ends_their_sessions(app, browser, user_project, settings):
    from app.core.db import session_scope
    from app.services import projects

    stolen = _copy(app, browser)
    with session_scope(settings) as s:
        projects.remove_member(s, user_project.project.id, browser.user_id)
    assert _works(stolen, user_project.project.id) == (False, False)
    assert _works(browser.client, user_project.project.id) == (False, False)
