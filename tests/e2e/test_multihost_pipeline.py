"""Several hosts for real (issue 16, item 4): a web server and two Celery workers, each a separate
process with its OWN data directory, sharing nothing but PostgreSQL, Redis and the object store
(moto's S3 server on loopback), run the whole pipeline through the HTTP API:

ingest (signed JSON) -> impulse -> features -> train (+ int8) -> test -> build -> download.

The workers split the queues (one takes default+dsp, the other train+deploy), so the features
one host computes reach the other only through the object store, and so do the trained models on
their way to the build and the web server's downloads. At the end no data directory holds a blob.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest

from app.client import TinyforgeClient
from app.demo import free_port, run_pipeline
from tests.conftest import PG_ADMIN_URL, REDIS_URL, _port_open
from tests.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def shared_services(s3_server, s3_bucket):
    """A fresh PostgreSQL database (migrated), a flushed Redis database and an empty bucket."""
    import redis
    from sqlalchemy import create_engine, text

    from app.core.db import upgrade

    for host, port, what in (("127.0.0.1", 5432, "PostgreSQL"), ("127.0.0.1", 6379, "Redis")):
        if not _port_open(host, port):
            pytest.fail(f"{what} is not running on {host}:{port}")
    name = f"tinyforge_multihost_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(db_url)
    broker = f"{REDIS_URL}/{1 + (os.getpid() + 7) % 14}"
    redis.Redis.from_url(broker).flushdb()
    yield {
        "TINYFORGE_ENVIRONMENT": "test",
        "TINYFORGE_DATABASE_URL": db_url,
        "TINYFORGE_BROKER_URL": broker,
        "TINYFORGE_RESULT_BACKEND": broker,
        **s3_server.env(s3_bucket, "company/tinyforge"),
    }
    redis.Redis.from_url(broker).flushdb()
    from app.core.db import _engine_for

    _engine_for.cache_clear()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Host:
    """One process as if on its own machine: its own data directory, the shared services' URLs."""

    def __init__(self, name: str, root: Path, shared: dict[str, str], argv: list[str]):
        self.name = name
        self.data_dir = root / name
        self.data_dir.mkdir(parents=True)
        self.log_path = root / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TINYFORGE_", "AWS_"))}
        env.update(shared)
        env.update(
            TINYFORGE_DATA_DIR=str(self.data_dir),
            PYTHONPATH=str(REPO_ROOT),
            OPENBLAS_NUM_THREADS="1",
        )
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *argv],
            env=env,
            cwd=self.data_dir,  # nothing relative may land in the repository or a shared folder
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.log():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited {self.proc.returncode}:\n{self.log()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name}: no {needle!r} within {timeout} s:\n{self.log()[-3000:]}"
                )
            time.sleep(0.3)

    def blob_files(self) -> list[str]:
        """Files this host wrote that look like blobs (anything under a `blobs` folder)."""
        return sorted(
            p.relative_to(self.data_dir).as_posix()
            for p in self.data_dir.rglob("*")
            if p.is_file() and "blobs" in p.relative_to(self.data_dir).parts
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)
        try:
            os.killpg(self.proc.pid, 9)  # pool children left behind
        except ProcessLookupError:
            pass
        self._log.close()


def test_web_server_and_two_workers_share_only_postgres_redis_and_s3(
    shared_services, s3_server, s3_bucket, tmp_path
):
    from app.core.config import Settings
    from app.core.db import session_scope
    from app.services import projects

    port = free_port()
    hosts: list[Host] = []
    try:
        web = Host("web", tmp_path, shared_services, ["serve", "--port", str(port)])
        hosts.append(web)
        worker_args = ["worker", "--concurrency", "1", "--loglevel", "INFO", "--queues"]
        dsp = Host("worker-dsp", tmp_path, shared_services, [*worker_args, "default,dsp"])
        hosts.append(dsp)
        train = Host("worker-train", tmp_path, shared_services, [*worker_args, "train,deploy"])
        hosts.append(train)
        for h in (dsp, train):
            h.wait_for(" ready.")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if web.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"web server did not start:\n{web.log()[-3000:]}")
            time.sleep(0.3)

        # an operator's step, from yet another place: the project is a row in the shared database
        operator = Settings(
            database_url=shared_services["TINYFORGE_DATABASE_URL"], data_dir=tmp_path / "operator"
        )
        with session_scope(operator) as s:
            new = projects.create_project(s, name="multi-host")
            pid, api_key, hmac_key = new.project.id, new.api_key, new.hmac_key

        lines: list[str] = []
        with TinyforgeClient(url, api_key, timeout=300) as client:
            summary = run_pipeline(
                client,
                pid,
                hmac_key,
                dataset="motion",
                n_per_label=20,  # the demo's data set (its anomaly verification holds on it)
                epochs=10,
                echo=lines.append,
                build_targets=("linux-x86_64",),
            )
            deployment = summary["deployments"]["linux-x86_64"]
            listed = client.get(f"/api/{pid}/artifacts")["artifacts"]
        assert deployment["bit_exact"] is True, summary
        assert sum(summary["counts"]["training"].values()) > 0

        # downloads through the web server: every artifact byte for byte as its row records it
        with httpx.Client(base_url=url, headers={"x-api-key": api_key}, timeout=120) as http:
            lib = http.get(f"/api/{pid}/deployment/download")
            assert lib.status_code == 200, lib.text
            names = zipfile.ZipFile(io.BytesIO(lib.content)).namelist()
            assert any(n.endswith(".h") for n in names) and any(n.endswith(".c") for n in names)
            for art in listed:
                got = http.get(f"/api/{pid}/artifacts/{art['id']}/download")
                assert got.status_code == 200, (art, got.text)
                assert hashlib.sha256(got.content).hexdigest() == art["sha256"], art["name"]
            kinds = {a["kind"] for a in listed}
            assert {"features", "tflite-int8", "keras-model", "deployment"} <= kinds, kinds

        # the work really was split: features on one host, training and the build on the other
        # (each worker's banner lists every task: count what it received)
        def received(h: Host, task: str) -> int:
            return len(re.findall(rf"Task {re.escape(task)}\[[0-9a-f-]+\] received", h.log()))

        assert received(dsp, "dsp.generate_features") == 1
        assert received(dsp, "train.run") == received(dsp, "deploy.build") == 0
        assert received(train, "train.run") == 2  # the classifier and the anomaly block
        assert received(train, "deploy.build") == 1
        assert received(train, "dsp.generate_features") == 0

        # every blob is in the bucket, none in any host's data directory
        keys = [
            o["Key"]
            for page in s3_server.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=s3_bucket)
            for o in page.get("Contents", ())
        ]
        assert all(k.startswith("company/tinyforge/projects/") for k in keys), keys[:5]
        for part in ("/samples/", "/features/", "/artifacts/tflite-int8/", "/deployments/"):
            assert any(part in k for k in keys), (part, keys[:20])
        for h in hosts:
            assert h.blob_files() == [], (h.name, h.blob_files()[:10])
        print(
            f"\nmulti-host pipeline: stages {summary['stages']}; {len(keys)} objects in the bucket"
        )
    finally:
        for h in hosts:
            h.stop()
