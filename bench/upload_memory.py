"""Server memory during a chunked upload larger than the limit (issue 10 item 2).

Run:  PYTHONPATH=. .venv/bin/python bench/upload_memory.py [--mb 1024]

Starts the app under uvicorn in its own process (embedded SQLite in a temporary folder), sends
`--mb` megabytes as one multipart file with Transfer-Encoding: chunked (no Content-Length) to
`/api/training/files` and to the model upload, and prints, for each, the bytes the client got to
send before the answer, the answer, and the server process's peak RSS growth (sampled every 10 ms
from /proc). Baseline, measured in the same run: the server's RSS before the upload.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.hardening.uploads import PeakRss, chunked_multipart, rss_bytes  # noqa: E402

MB = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TINYFORGE_DATA_DIR": tmp, "TINYFORGE_ENVIRONMENT": "test"}
        env["PYTHONPATH"] = str(ROOT)
        from app.core.config import Settings
        from app.core.db import session_scope, upgrade
        from app.services import projects

        settings = Settings(data_dir=Path(tmp), environment="test")
        upgrade(settings.database_url)
        with session_scope(settings) as s:
            made = projects.create_project(s, name="bench")
            project_id, api_key = made.project.id, made.api_key
        port = 8765
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
             "--port", str(port), "--log-level", "warning"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    urllib.request.urlopen(base + "/api/health")
                    break
                except OSError:
                    time.sleep(0.1)
            print(f"limit: max_upload_bytes = {settings.max_upload_bytes / MB:.0f} MB")
            print(f"server RSS before: {rss_bytes(server.pid) / MB:.1f} MB")
            for path, field in (
                ("/api/training/files", "data"),
                (f"/api/{project_id}/models/upload", "file"),
            ):
                peak = PeakRss(server.pid)
                t0 = time.monotonic()
                status, sent = chunked_multipart(
                    base, path, {"x-api-key": api_key}, total_bytes=args.mb * MB, field=field
                )
                growth = peak.stop()
                print(
                    f"{path}: offered {args.mb} MB chunked, sent {sent / MB:.0f} MB, "
                    f"answer {status} after {time.monotonic() - t0:.1f} s, "
                    f"server RSS growth {growth / MB:.1f} MB (peak {peak.peak / MB:.1f} MB)"
                )
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
