"""A key of project A can neither read nor write project B: checked on every route that takes a
project id."""

from __future__ import annotations

import re

from tests.app.api.helpers import acquisition, key, snapshot


def _project_routes(app):
    """Every (method, path) of the OpenAPI schema that takes a project id (the /v1 copies mirror
    them)."""
    for path, ops in app.openapi()["paths"].items():
        if "{projectId}" in path:
            for method in ops:
                yield method.upper(), path


def test_every_project_route_refuses_another_projects_key(app, client, make_project, settings):
    a, b = make_project("A"), make_project("B")
    # give B some data and a job so that guessed ids exist
    r = client.post(
        "/api/training/data",
        content=acquisition(),
        headers=key(b.api_key, **{"content-type": "application/json"}),
    )
    sample_id = r.json()["files"][0]["sampleId"]
    routes = list(_project_routes(app))
    assert len(routes) >= 15, routes
    before = snapshot(settings)
    for method, path in routes:
        url = path.replace("{projectId}", str(b.project.id))
        url = re.sub(r"\{sampleId\}", str(sample_id), url)
        url = re.sub(r"\{jobId\}", "1", url)
        url = re.sub(r"\{category\}", "training", url)
        url = re.sub(r"\{[^}]+\}", "1", url)
        for prefix in ("", "/v1"):
            resp = client.request(method, prefix + url, headers=key(a.api_key), json={})
            assert resp.status_code == 404, (
                f"{method} {prefix}{url} answered {resp.status_code} to project A's key"
            )
            assert "does not exist or this API key has no access" in resp.json()["error"]
    assert snapshot(settings) == before, "a refused request changed something"


def test_ingestion_writes_only_to_the_keys_project(client, make_project):
    a, b = make_project("A"), make_project("B")
    client.post(
        "/api/training/data",
        content=acquisition(),
        headers=key(a.api_key, **{"content-type": "application/json"}),
    )
    n_a = client.get(f"/api/{a.project.id}/raw-data/count", headers=key(a.api_key)).json()["count"]
    n_b = client.get(f"/api/{b.project.id}/raw-data/count", headers=key(b.api_key)).json()["count"]
    assert (n_a, n_b) == (1, 0)
    projects = client.get("/api/projects", headers=key(a.api_key)).json()["projects"]
    assert [p["id"] for p in projects] == [a.project.id]
