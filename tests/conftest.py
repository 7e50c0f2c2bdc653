"""Shared fixtures: settings per database backend, a migrated database, an API client, a real
worker.

Backends: every test that asks for `settings` runs on SQLite and on the PostgreSQL server at
127.0.0.1:5432 (a fresh database per test session, built by running the Alembic migrations).
Each test starts with empty tables and an empty blob store. `worker` starts a real Celery worker
process on that backend's broker (files for SQLite, Redis for PostgreSQL).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("TINYFORGE_ENVIRONMENT", "test")

from app.core.config import Settings
from tests.paths import REPO_ROOT
from tests.s3server import s3_bucket, s3_server  # noqa: F401 - fixtures for every test

PG_ADMIN_URL = os.environ.get(
    "TINYFORGE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TINYFORGE_TEST_REDIS", "redis://127.0.0.1:6379")
BACKENDS = [
    p for p in os.environ.get("TINYFORGE_TEST_BACKENDS", "sqlite,postgresql").split(",") if p
]


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def _databases(tmp_path_factory) -> Iterator[dict[str, dict]]:
    """Create (lazily) one migrated database per backend for the whole test session."""
    from sqlalchemy import create_engine, text

    from app.core.db import upgrade

    made: dict[str, dict] = {}
    root = tmp_path_factory.mktemp("backends")

    def get(backend: str) -> dict:
        if backend in made:
            return made[backend]
        if backend == "sqlite":
            url = f"sqlite:///{root / 'tinyforge.sqlite'}"
            info = {
                "url": url,
                "broker": "filesystem://",
                "broker_dir_root": root / "sqlite-broker",
            }
        elif backend == "postgresql":
            if not _port_open("127.0.0.1", 5432):
                pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
            name = f"tinyforge_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
            # one Redis database per pytest process: xdist workers gw0, gw1... get 1, 2...
            worker = os.environ.get("PYTEST_XDIST_WORKER", "")
            db_index = 1 + (int(worker[2:]) if worker[2:].isdigit() else os.getpid()) % 14
            info = {
                "url": url,
                "broker": f"{REDIS_URL}/{db_index}",
                "pg_name": name,
                "broker_dir_root": root / "pg-broker",
            }
        else:
            raise ValueError(backend)
        upgrade(info["url"])
        made[backend] = info
        return info

    yield get  # type: ignore[misc]

    from app.core.db import _engine_for

    _engine_for.cache_clear()
    for info in made.values():
        if "pg_name" in info:
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{info["pg_name"]}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
    return request.param


@pytest.fixture
def settings(backend: str, _databases) -> Iterator[Settings]:
    """Settings for one backend. Data dir, broker and blobs are shared with that backend's
    workers."""
    info = _databases(backend)
    root: Path = info["broker_dir_root"]
    s = Settings(
        environment="test",
        data_dir=root,
        database_url=info["url"],
        broker_url=info["broker"],
        result_backend=f"db+sqlite:///{root / 'celery-results.sqlite'}",
        storage_dir=root / "blobs",
        job_heartbeat_timeout_s=6.0,
    )
    _wipe(s)
    yield s
    _wipe(s)


def _wipe(s: Settings) -> None:
    """Empty every table, the blob store and the broker: each test starts from a migrated, empty
    state."""
    import shutil

    from app.core.db import get_engine
    from app.models import Base

    engine = get_engine(s)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    if s.storage_dir and s.storage_dir.exists():
        shutil.rmtree(s.storage_dir, ignore_errors=True)
    if s.broker_url.startswith("filesystem"):
        # empty the broker's folders but keep them: a cached Celery client keeps writing into them
        for folder in ("queue", "processed", "control"):
            path = s.broker_dir / folder
            path.mkdir(parents=True, exist_ok=True)
            for f in path.iterdir():
                if f.is_file():
                    f.unlink(missing_ok=True)
    elif s.broker_url.startswith("redis"):
        import redis

        redis.Redis.from_url(s.broker_url).flushdb()


@pytest.fixture
def app(settings: Settings):
    from app.main import create_app

    return create_app(settings)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def session(settings: Settings):
    from app.core.db import session_factory

    s = session_factory(settings)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def store(settings: Settings):
    from app.core.storage import get_store

    return get_store(settings)


@pytest.fixture
def make_project(settings: Settings):
    """make_project(name) -> NewProject(project, api_key, hmac_key), committed."""
    from app.core.db import session_scope
    from app.services import projects

    def make(name: str = "test project", owner=None):
        with session_scope(settings) as s:
            return projects.create_project(s, name=name, owner=owner)

    return make


# --- real worker processes and a real HTTP server -------------------------------------------------


def worker_env(s: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    env.update(
        {
            "TINYFORGE_ENVIRONMENT": "test",
            "TINYFORGE_DATA_DIR": str(s.data_dir),
            "TINYFORGE_DATABASE_URL": s.database_url,
            "TINYFORGE_BROKER_URL": s.broker_url,
            "TINYFORGE_RESULT_BACKEND": s.result_backend,
            "TINYFORGE_STORAGE_DIR": str(s.storage_dir),
            "TINYFORGE_JOB_HEARTBEAT_TIMEOUT_S": str(s.job_heartbeat_timeout_s),
            "TINYFORGE_JOB_MAX_ATTEMPTS": str(s.job_max_attempts),
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    return env


class WorkerProcess:
    def __init__(self, s: Settings, *, concurrency: int = 2, pool: str = "prefork", log_path: Path):
        self.settings = s
        self.log_path = log_path
        self._log = open(log_path, "ab")
        argv = [
            sys.executable,
            "-m",
            "app.cli",
            "worker",
            "--concurrency",
            str(concurrency),
            "--pool",
            pool,
            "--loglevel",
            "INFO",
        ]
        self.proc = subprocess.Popen(
            argv,
            env=worker_env(s),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {self.proc.returncode}:\n{self.log()[-3000:]}"
                )
            if " ready." in self.log():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready within {timeout} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = 9) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM to the parent); SIGKILL the group if it takes longer than 20 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(9)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 9)  # pool children left behind
        self._log.close()


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path):
    """start_worker(**overrides) -> WorkerProcess (stopped at the end of the test)."""
    workers: list[WorkerProcess] = []

    def start(concurrency: int = 2, pool: str = "prefork", **overrides) -> WorkerProcess:
        s = settings.model_copy(update=overrides) if overrides else settings
        w = WorkerProcess(
            s, concurrency=concurrency, pool=pool, log_path=tmp_path / f"worker-{len(workers)}.log"
        )
        workers.append(w)
        return w

    yield start
    for w in workers:
        w.stop()


@pytest.fixture
def worker(start_worker):
    return start_worker()


@pytest.fixture
def live_server(app):
    """The app served by a real uvicorn on a free port, in a thread; yields its base URL."""
    import uvicorn

    from app.demo import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
