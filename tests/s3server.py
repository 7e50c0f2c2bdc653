"""A real S3-protocol server on loopback for the object-storage tests: moto in server mode.

MinIO is what docker-compose.yml runs, but neither PyPI nor Debian's archive carries it here, so the
tests talk to moto's standalone server (`python -m moto.server`, from the `moto[server]` package):
a separate process speaking S3 over HTTP, signature v4, multipart uploads, range reads, presigned
URLs, conditional PUTs. The code under test cannot tell it from MinIO or AWS: it only gets an
endpoint URL and credentials.

    S3Server.start() -> server (one per test session: the `s3_server` fixture)
    server.new_bucket() -> name (a fresh, empty bucket: the `s3_bucket` fixture)
    server.env(bucket) -> the TINYFORGE_* / AWS_* variables a process needs to use it
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.processes import start_child

ACCESS_KEY = "tinyforge-test"
SECRET_KEY = "tinyforge-test-secret"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path):
        self.proc = proc
        self.port = port
        self.log_path = log_path
        self.endpoint_url = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, log_path: Path, *, extra_env: dict[str, str] | None = None) -> S3Server:
        port = _free_port()
        log = open(log_path, "ab")
        env = {**os.environ, **(extra_env or {})}
        # start_child: the server dies with the test process, even when pytest is killed
        proc = start_child(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        server = cls(proc, port, log_path)
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto server exited: {log_path.read_text()[-2000:]}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return server
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("moto server did not listen within 30 s")
            time.sleep(0.1)

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        name = f"tf-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def aws_env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }

    def env(self, bucket: str, prefix: str = "tinyforge") -> dict[str, str]:
        return {
            **self.aws_env(),
            "TINYFORGE_STORAGE_URL": f"s3://{bucket}/{prefix}",
            "TINYFORGE_S3_ENDPOINT_URL": self.endpoint_url,
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port, with test credentials in this process's env."""
    server = S3Server.start(tmp_path_factory.mktemp("s3") / "moto.log")
    saved = {k: os.environ.get(k) for k in server.aws_env()}
    os.environ.update(server.aws_env())
    try:
        yield server
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A fresh, empty bucket on the session's server."""
    return s3_server.new_bucket()
