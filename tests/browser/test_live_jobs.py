"""The jobs list and a page's "recent runs" follow the jobs without a reload (issue 13 item 6):
tinyforge.js polls the JSON job list while a job is queued or running."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

PASSWORD = "correct horse battery"


def _sign_in(page, live_server, email):
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/projects$"))


def _set(settings, job_id, **fields):
    from app.core.db import session_scope
    from app.models import Job

    with session_scope(settings) as s:
        job = s.get(Job, job_id)
        for k, v in fields.items():
            setattr(job, k, v)


def test_jobs_list_and_recent_jobs_update_without_a_reload(
    page, live_server, settings, screenshots
):
    from app.core.db import session_scope
    from app.models import Job
    from app.services import projects, users

    with session_scope(settings) as s:
        u = users.create_user(s, email="live@example.com", password=PASSWORD)
        pid = projects.create_project(s, name="live jobs", owner=u).project.id
        job = Job(project_id=pid, kind="build", status="running", progress=10, params={})
        s.add(job)
        s.flush()
        jid = job.id
    _sign_in(page, live_server, "live@example.com")
    page.goto(f"{live_server}/projects/{pid}/jobs")
    page.evaluate("window.__same_page = true")
    row = page.locator(f'tr[data-job-id="{jid}"]')
    assert row.locator(".badge").inner_text() == "running"

    _set(settings, jid, progress=60)
    page.wait_for_function(
        f"document.querySelector('tr[data-job-id=\"{jid}\"] .job-progress').textContent == '60%'",
        timeout=15_000,
    )
    # a job queued elsewhere appears at the top
    with session_scope(settings) as s:
        other = Job(project_id=pid, kind="train", status="queued", params={})
        s.add(other)
        s.flush()
        oid = other.id
    page.wait_for_selector(f'tr[data-job-id="{oid}"]', timeout=15_000)
    assert page.locator("tbody tr").first.get_attribute("data-job-id") == str(oid)

    _set(settings, jid, status="succeeded", progress=100)
    page.wait_for_function(
        f"document.querySelector('tr[data-job-id=\"{jid}\"] .badge').textContent == 'succeeded'",
        timeout=15_000,
    )
    assert not row.locator(".job-actions form").is_visible()  # no cancel for a finished job
    assert page.evaluate("window.__same_page") is True  # no reload happened
    page.screenshot(path=screenshots / "jobs-live.png", full_page=True)

    # the project page's recent jobs follow too
    page.goto(f"{live_server}/projects/{pid}")
    page.evaluate("window.__same_page = true")
    recent = page.locator(f'.recent-jobs a[data-job-id="{oid}"]')
    assert recent.inner_text() == f"#{oid} queued"
    _set(settings, oid, status="running", progress=30)
    page.wait_for_function(
        f"document.querySelector('.recent-jobs a[data-job-id=\"{oid}\"]').textContent"
        f" == '#{oid} running'",
        timeout=15_000,
    )
    assert page.evaluate("window.__same_page") is True
    page.screenshot(path=screenshots / "project-recent-jobs.png")
    assert page.js_errors == []
