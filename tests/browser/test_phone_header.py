"""On a phone the header is one compact line: the project name shortened, the email left out."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

PASSWORD = "correct horse battery"


def test_compact_header_on_a_phone(chromium, live_server, settings, screenshots):
    from app.core.db import session_scope
    from app.services import projects, users

    with session_scope(settings) as s:
        u = users.create_user(s, email="phone@example.com", password=PASSWORD)
        pid = projects.create_project(
            s, name="A project with a rather long name for a phone screen", owner=u
        ).project.id
    context = chromium.new_context(viewport={"width": 375, "height": 700})
    page = context.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("phone@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/projects$"))
    page.goto(f"{live_server}/projects/{pid}")
    header = page.locator("header.top").bounding_box()
    assert header["height"] <= 50, header
    assert not page.locator("header.top .who").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=screenshots / "phone-header.png")
    context.close()
