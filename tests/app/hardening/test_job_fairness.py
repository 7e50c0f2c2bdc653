"""Issue 10 item 6: one project's flood of jobs is capped (429 + Retry-After) and cannot queue
ahead of another project's job."""

from __future__ import annotations

import time

import pytest

from tests.app.api.helpers import key

pytestmark = pytest.mark.worker


def _submit(client, p, seconds):
    return client.post(
        f"/api/{p.project.id}/jobs/wait", json={"seconds": seconds}, headers=key(p.api_key)
    )


def _job(client, p, job_id):
    return client.get(f"/api/{p.project.id}/jobs/{job_id}/status", headers=key(p.api_key)).json()[
        "job"
    ]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_flood_is_capped_and_another_project_is_served_next(
    client, make_project, worker, settings
):
    a, b = make_project("flood"), make_project("quiet")
    flood = [_submit(client, a, 1.0) for _ in range(settings.max_active_jobs_per_project + 5)]
    accepted = [r.json()["id"] for r in flood if r.status_code == 200]
    refused = [r for r in flood if r.status_code != 200]
    assert len(accepted) == settings.max_active_jobs_per_project
    assert len(refused) == 5 and all(r.status_code == 429 for r in refused)
    assert int(refused[0].headers["retry-after"]) > 0
    assert "at most" in refused[0].json()["error"]

    t0 = time.monotonic()
    quiet = _submit(client, b, 0.1).json()["id"]
    while _job(client, b, quiet)["status"] != "succeeded":
        assert time.monotonic() - t0 < 120
        time.sleep(0.1)
    waited = time.monotonic() - t0
    done_before = sum(_job(client, a, j)["status"] == "succeeded" for j in accepted)
    print(f"project B's 0.1 s job finished after {waited:.1f} s; {done_before} flood jobs before")
    # the broker held at most max_dispatched (2) of the flood's jobs ahead of B's
    assert done_before <= settings.max_dispatched_jobs_per_project + 2, done_before

    deadline = time.monotonic() + 120  # and the flood itself is served to the end
    while any(_job(client, a, j)["status"] != "succeeded" for j in accepted[-3:]):
        assert time.monotonic() < deadline
        time.sleep(0.5)
