"""`tinyforge storage check` as an operator runs it: on each backend, and on each way S3 goes
wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.demo import free_port
from tests.paths import REPO_ROOT


def check(data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("TINYFORGE_", "AWS_"))} | {
        "TINYFORGE_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(REPO_ROOT),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "storage", "check"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )


def test_check_on_the_local_directory(tmp_path):
    proc = check(tmp_path / "d")
    assert proc.returncode == 0, proc.stderr
    assert "backend: local" in proc.stdout
    assert f"location: local directory {tmp_path / 'd' / 'blobs'}" in proc.stdout
    assert "ok: wrote, read back and deleted 64 bytes" in proc.stdout
    assert not [p for p in (tmp_path / "d" / "blobs").rglob("*") if p.is_file()]  # probe gone


def test_check_on_s3(tmp_path, s3_server, s3_bucket):
    proc = check(tmp_path / "d", **s3_server.env(s3_bucket, "team/tinyforge"))
    assert proc.returncode == 0, proc.stderr
    assert "backend: s3" in proc.stdout
    assert f"s3://{s3_bucket}/team/tinyforge at {s3_server.endpoint_url}" in proc.stdout
    assert "ok: wrote, read back and deleted" in proc.stdout
    assert "Contents" not in s3_server.client().list_objects_v2(Bucket=s3_bucket)  # probe gone


def test_check_names_what_is_wrong(tmp_path, s3_server):
    missing = check(tmp_path / "d", **s3_server.env("no-such-bucket"))
    assert missing.returncode == 1
    assert "the bucket 'no-such-bucket' does not exist" in missing.stderr, missing.stderr

    env = s3_server.env("b-u-c-k-e-t") | {
        "TINYFORGE_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"
    }
    down = check(tmp_path / "d", **env)
    assert down.returncode == 1
    assert "cannot reach the endpoint" in down.stderr and "TINYFORGE_S3_ENDPOINT_URL" in down.stderr

    bad_url = check(tmp_path / "d", TINYFORGE_STORAGE_URL="s3://x/y")
    assert bad_url.returncode != 0 and "not a valid bucket name" in bad_url.stderr

    env = s3_server.env("any-bucket")
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    env |= {"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    anonymous = check(tmp_path / "d", **env, AWS_EC2_METADATA_DISABLED="true")
    assert anonymous.returncode == 1
    assert "no credentials: set AWS_ACCESS_KEY_ID" in anonymous.stderr, anonymous.stderr
