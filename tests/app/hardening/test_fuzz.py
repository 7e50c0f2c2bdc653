"""Issue 10 item 10 and its fuzz run: schemathesis over the OpenAPI spec, against the real server
on SQLite, with the project's API key and without one. Checks: no 5xx, every status declared in
the spec, 405 (not 422) for a method a path does not have. Bounded: a few examples per operation
(~1-2 minutes in all on a 2-core machine); the job stream (an endless SSE) is left out."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

CHECKS = "not_a_server_error,status_code_conformance,unsupported_method"


def _schemathesis(base_url: str, *headers: str, report: Path) -> subprocess.CompletedProcess:
    argv = [
        str(Path(sys.executable).with_name("st")),
        "--no-color",
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "5",
        "--seed",
        "10",
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--exclude-path-regex",
        "/stream$",
    ]
    for h in headers:
        argv += ["-H", h]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=900, cwd=REPO_ROOT, check=False
    )
    report.write_text(proc.stdout + proc.stderr)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("with_key", [True, False], ids=["api-key", "anonymous"])
def test_schemathesis_finds_no_server_error_and_no_undeclared_status(
    live_server, make_project, tmp_path, with_key
):
    p = make_project("fuzzed")
    headers = [f"x-api-key: {p.api_key}"] if with_key else []
    proc = _schemathesis(live_server, *headers, report=tmp_path / "schemathesis.txt")
    out = proc.stdout + proc.stderr
    generated = re.search(r"(\d+) generated", out)
    print(f"schemathesis ({'with' if with_key else 'without'} a key): {generated and generated[0]}")
    assert generated and int(generated[1]) > 500, out[-3000:]
    assert proc.returncode == 0, out[-6000:]


@pytest.mark.parametrize("with_key", [True, False], ids=["api-key", "anonymous"])
def test_a_method_the_path_does_not_have_is_405_not_422(client, make_project, with_key):
    """The fuzzer found 422 (and 401 without a key) where the path exists for another method."""
    p = make_project()
    headers = {"x-api-key": p.api_key} if with_key else {}
    pid = p.project.id
    for method, path, allow in [
        ("DELETE", f"/api/{pid}/raw-data/count", "GET"),
        ("GET", f"/api/{pid}/raw-data/delete-all", "POST"),
        ("POST", "/api/health", "GET"),
        ("POST", "/api/projects", "GET"),
        ("DELETE", f"/v1/api/{pid}/raw-data/label-counts", "GET"),
    ]:
        r = client.request(method, path, headers=headers)
        assert r.status_code == 405, (method, path, r.status_code, r.text)
        assert r.headers["allow"] == allow
    if with_key:  # the parameterised routes still answer
        assert client.get(f"/api/{pid}/raw-data/12345", headers=headers).status_code == 404
        assert client.post(f"/api/{pid}", json={}, headers=headers).status_code == 200


def test_every_operation_declares_its_error_statuses(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/{projectId}/jobs/wait"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "413", "422", "429"} <= set(op)
    assert "Retry-After" in op["429"]["headers"]
    ingestion = spec["paths"]["/api/{category}/files"]["post"]["responses"]
    assert {"400", "401", "409", "413", "415"} <= set(ingestion)
