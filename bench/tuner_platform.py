"""The motion search of bench/tuner_vs_default.py through the running platform: `tinyforge up`
(web + a worker with 2 processes: the coordinator and one trial), a second worker on the `tune`
queue (1 process), the demo's motion data uploaded, `tinyforge tune` with the default impulse's
latency as the limit. Prints the CLI's table, the wall time and on which workers trials ran.

    PYTHONPATH=. python bench/tuner_platform.py --max-latency-ms 0.101
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from app.demo import _motion_files, free_port
    from app.ingestion import sign_acquisition

    ap = argparse.ArgumentParser()
    ap.add_argument("--max-latency-ms", type=float, default=0.101)
    ap.add_argument("--trials", type=int, default=9)
    ap.add_argument("--max-epochs", type=int, default=30)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tuner-platform-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    env.update(TINYFORGE_DATA_DIR=str(tmp / "data"), PYTHONPATH=str(ROOT))
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def cli(*a: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *a],
            env=env,
            cwd=ROOT,
            text=True,
            capture_output=True,
            **kw,
        )

    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "up", "--port", str(port), "--concurrency", "2"],
                env=env,
                cwd=ROOT,
                stdout=open(tmp / "up.log", "w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(
                    "platform did not come up: " + (tmp / "up.log").read_text()[-2000:]
                )
            time.sleep(0.5)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", "-Q", "tune", "--concurrency", "1"],
                env=env,
                cwd=ROOT,
                stdout=open(tmp / "worker2.log", "w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        project = json.loads(cli("project", "create", "--name", "motion", "--json").stdout)
        folder = tmp / "upload"
        folder.mkdir()
        for category, name, _label, values in _motion_files(20):
            if category != "training":
                continue
            payload = {
                "device_name": "d",
                "device_type": "t",
                "interval_ms": 16,
                "sensors": [{"name": a, "units": "m/s2"} for a in ("accX", "accY", "accZ")],
                "values": values.tolist(),
            }
            (folder / name).write_bytes(sign_acquisition(payload, hmac_key=None))
        up = cli(
            "upload",
            str(folder),
            "--url",
            url,
            "--api-key",
            project["api_key"],
            "--category",
            "training",
        )
        print(up.stdout.strip())
        t0 = time.perf_counter()
        run = cli(
            "tune",
            "--url",
            url,
            "--api-key",
            project["api_key"],
            "--board",
            "Arduino Nano 33 BLE Sense",
            "--max-latency-ms",
            str(args.max_latency_ms),
            "--trials",
            str(args.trials),
            "--max-epochs",
            str(args.max_epochs),
            "--top",
            "5",
            timeout=7200,
        )
        wall = time.perf_counter() - t0
        print(run.stdout, run.stderr[-600:])
        h = {"x-api-key": project["api_key"]}
        pid = project["id"]
        jobs = httpx.get(
            f"{url}/api/{pid}/jobs", params={"kind": "tune-trial", "limit": 200}, headers=h
        ).json()["jobs"]
        print("trial jobs per worker process:", Counter(j["worker"] for j in jobs))
        print(f"search wall time through the platform: {wall:.0f} s")
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=30)
            except Exception:
                os.killpg(p.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
