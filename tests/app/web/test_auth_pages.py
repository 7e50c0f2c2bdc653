"""Sign in, sign out, the anonymous redirect, CSRF on the login form, session cookie flags."""

from __future__ import annotations

from tests.app.web.conftest import PASSWORD, sign_in, token_from


def test_anonymous_root_and_pages_go_to_login(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = client.get("/projects/1/data?page=2", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fprojects%2F1%2Fdata%3Fpage%3D2"
    page = client.get("/login")
    assert page.status_code == 200 and 'name="email"' in page.text and 'for="password"' in page.text


def test_sign_in_sets_httponly_samesite_cookie_and_follows_next(client, make_user):
    _, email = make_user()
    token = token_from(client.get("/login").text)
    r = client.post(
        "/login",
        data={
            "email": email.upper(),
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/projects?x=1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/projects?x=1"
    cookie = r.headers["set-cookie"].lower()
    assert "tinyforge_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/", follow_redirects=False).headers["location"] == "/projects"
    assert (
        client.get("/login?next=/projects/7", follow_redirects=False).headers["location"]
        == "/projects/7"
    )
    assert email in client.get("/projects").text


def test_wrong_password_and_open_redirect_are_refused(client, make_user):
    _, email = make_user()
    token = token_from(client.get("/login").text)
    r = client.post("/login", data={"email": email, "password": "nope-nope", "csrf_token": token})
    assert r.status_code == 401 and "Wrong email or password." in r.text
    r = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert r.status_code == 400 and "Enter your email and password." in r.text
    r = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/projects"


def test_login_without_or_with_a_wrong_csrf_token_is_403(client, make_user):
    _, email = make_user()
    client.get("/login")
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 403
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert client.get("/projects", follow_redirects=False).status_code == 303  # still anonymous


def test_sign_out_needs_csrf_and_ends_the_session(browser):
    c = browser.client
    assert c.post("/logout", follow_redirects=False).status_code == 403
    assert c.get("/projects").status_code == 200
    r = browser.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert c.get("/projects", follow_redirects=False).status_code == 303


def test_signed_in_session_drives_the_json_api_too(browser, user_project):
    r = browser.client.get(f"/api/{user_project.project.id}")
    assert r.status_code == 200 and r.json()["project"]["name"] == "keywords"


def test_production_cookie_is_https_only(settings, make_user):
    from fastapi.testclient import TestClient

    from app.main import create_app

    prod = settings.model_copy(update={"environment": "production", "secret_key": "x" * 40})
    _, email = make_user()
    with TestClient(create_app(prod), base_url="https://testserver") as c:
        r = sign_in(c, email)
        assert r.status_code == 303
        assert "secure" in r.headers["set-cookie"].lower()


def test_repeated_wrong_passwords_are_throttled_with_429(client, make_user):
    _, email = make_user()
    for _ in range(5):
        token = token_from(client.get("/login").text)
        r = client.post(
            "/login", data={"email": email, "password": "wrong-guess", "csrf_token": token}
        )
        assert r.status_code == 401
    token = token_from(client.get("/login").text)
    r = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )  # right, but locked
    assert (
        r.status_code == 429
        and "Too many failed sign-ins" in r.text
        and int(r.headers["retry-after"]) > 200
    )
    assert (
        client.get("/projects", follow_redirects=False).headers["location"].startswith("/login")
    )  # not signed in


def test_favicon(client):
    login = client.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login
    r = client.get("/favicon.ico", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/static/favicon.svg"
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.text.startswith("<svg")
