"""`tinyforge demo`: the whole platform on the embedded defaults, driven through its own API.

Today: start the platform (web server + a real Celery worker), create a project, ingest a
synthetic motion data set through the ingestion API (signed with the project's HMAC key), and
run a job on the worker. Later stages (impulse, features, training, deployment) join as they land.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager

import httpx

from app.client import TinyforgeClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_platform(port: int, *, echo: Callable[[str], None], env: dict[str, str] | None = None):
    """Run `tinyforge up` in a child process until the block ends; yield its URL."""
    from app.cli import _stop

    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "up", "--port", str(port)],
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(f"the platform exited with code {proc.returncode}:\n{out[-3000:]}")
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the platform did not answer on /api/health within 120 s")
            time.sleep(0.3)
        echo(f"platform up at {url}")
        yield url
    finally:
        _stop(proc)


def run_demo(*, port: int = 0, keep: bool = False, echo: Callable[[str], None] = print,
             n_per_label: int = 10) -> dict:
    from app.core.db import session_scope, upgrade
    from app.ingestion import sign_acquisition
    from app.services import projects
    from app.synthetic import motion_dataset

    stages: dict[str, float] = {}
    t0 = time.monotonic()
    upgrade()
    port = port or free_port()
    with running_platform(port, echo=echo) as url:
        stages["start"] = round(time.monotonic() - t0, 2)

        t = time.monotonic()
        with session_scope() as session:
            new = projects.create_project(session, name=f"Motion demo {time.strftime('%Y-%m-%d %H:%M:%S')}")
            project_id, api_key, hmac_key = new.project.id, new.api_key, new.hmac_key
        echo(f"created project {project_id}")
        stages["create_project"] = round(time.monotonic() - t, 2)

        t = time.monotonic()
        data = motion_dataset(n_per_label, seed=0)
        with TinyforgeClient(url, api_key) as client:
            for i, (label, values) in enumerate(data):
                payload = {"device_name": "demo-board-01", "device_type": "TINYFORGE_DEMO", "interval_ms": 16,
                           "sensors": [{"name": "accX", "units": "m/s2"}, {"name": "accY", "units": "m/s2"},
                                       {"name": "accZ", "units": "m/s2"}],
                           "values": values.round(4).tolist()}
                body = sign_acquisition(payload, hmac_key=hmac_key)
                client.ingest("split", body, file_name=f"{label}.{i:03d}.json", label=label)
            counts = client.get(f"/api/{project_id}/raw-data/label-counts")["counts"]
            echo(f"ingested {len(data)} signed samples: " + ", ".join(
                f"{c} {sum(v.values())}" for c, v in counts.items() if v))
            stages["ingest"] = round(time.monotonic() - t, 2)

            t = time.monotonic()
            job_id = client.post(f"/api/{project_id}/jobs/summarize-data")["id"]
            job = client.wait_for_job(project_id, job_id, timeout=600, on_line=lambda line: echo(f"  [job {job_id}] {line}"))
            stages["summarize_job"] = round(time.monotonic() - t, 2)
            if job["status"] != "succeeded":
                raise RuntimeError(f"job {job_id} {job['status']}: {job.get('error')}")
        summary = {
            "project_id": project_id, "url": url, "samples": len(data), "counts": counts,
            "job": {"id": job_id, "status": job["status"], "result": job["result"]},
            "stages": stages,
            # filled once training lands (issue 4): float32 and int8 accuracy on the test set
            "test_accuracy": {"float32": None, "int8": None},
        }
        if keep:
            echo(f"platform still running at {url} (Ctrl-C to stop); API key {api_key}")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return summary
