"""How long a second project's short job waits behind a flood of jobs from a first project.

Run:  PYTHONPATH=. .venv/bin/python bench/job_fairness.py [--flood 200] [--seconds 0.5]

For each configuration, on a fresh embedded deployment (SQLite, filesystem broker, one real Celery
worker with 2 processes, the app under uvicorn): project A submits `--flood` diagnostic jobs of
`--seconds` each as fast as it can over HTTP, then project B submits one 0.1 s job; printed are how
many of A's submissions were accepted / refused (429), and the time from B's submission until B's
job succeeded. Baseline, measured in the same run: the same flood with the limits lifted
(TINYFORGE_MAX_ACTIVE_JOBS_PER_PROJECT and TINYFORGE_MAX_DISPATCHED_JOBS_PER_PROJECT = 100000),
i.e. every submission accepted and every message sent to the broker at once, as before issue 10.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(flood: int, seconds: float, limits: dict[str, str], port: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
        env.update(
            {"TINYFORGE_DATA_DIR": tmp, "TINYFORGE_ENVIRONMENT": "test", "PYTHONPATH": str(ROOT)}
        )
        env.update(limits)
        from app.core.config import Settings
        from app.core.db import session_scope, upgrade
        from app.services import projects

        settings = Settings(data_dir=Path(tmp), environment="test")
        upgrade(settings.database_url)
        with session_scope(settings) as s:
            a = projects.create_project(s, name="flood")
            b = projects.create_project(s, name="quiet")
            a_id, a_key, b_id, b_key = a.project.id, a.api_key, b.project.id, b.api_key
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", "--concurrency", "2"],
                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            ),
            subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                 "--port", str(port), "--log-level", "warning"],
                env=env, cwd=ROOT,
            ),
        ]  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=60) as c:
                for _ in range(300):
                    try:
                        c.get("/api/health")
                        break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                t0 = time.monotonic()
                codes = [
                    c.post(
                        f"/api/{a_id}/jobs/wait",
                        json={"seconds": seconds},
                        headers={"x-api-key": a_key},
                    ).status_code
                    for _ in range(flood)
                ]
                t_flood = time.monotonic() - t0
                t1 = time.monotonic()
                job = c.post(
                    f"/api/{b_id}/jobs/wait", json={"seconds": 0.1}, headers={"x-api-key": b_key}
                ).json()["id"]
                while True:
                    st = c.get(f"/api/{b_id}/jobs/{job}/status", headers={"x-api-key": b_key})
                    if st.json()["job"]["status"] in ("succeeded", "failed"):
                        break
                    if time.monotonic() - t1 > 900:
                        return "B's job did not finish within 900 s"
                    time.sleep(0.2)
                waited = time.monotonic() - t1
            ok, refused = codes.count(200), codes.count(429)
            return (
                f"A: {flood} submissions in {t_flood:.1f} s, {ok} accepted, {refused} refused "
                f"(429); B's 0.1 s job succeeded {waited:.1f} s after its submission"
            )
        finally:
            for p in procs:
                try:
                    os.killpg(p.pid, 9) if p.args[3] == "worker" else p.terminate()
                except ProcessLookupError:
                    pass
                p.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    lifted = {
        "TINYFORGE_MAX_ACTIVE_JOBS_PER_PROJECT": "100000",
        "TINYFORGE_MAX_DISPATCHED_JOBS_PER_PROJECT": "100000",
    }
    print("limits lifted (as before): " + run(args.flood, args.seconds, lifted, 8771))
    print("default limits:            " + run(args.flood, args.seconds, {}, 8772))


if __name__ == "__main__":
    main()
