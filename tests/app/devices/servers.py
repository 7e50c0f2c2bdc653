"""Real `tinyforge serve` processes for the device tests (several may share one database and
broker)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import worker_env
from tests.paths import REPO_ROOT


def loopback_address() -> str:
    """A random 127.x.y.z: Edge Impulse's tools use fixed ports (4800/4802/4810), the address can
    vary, so tests that need those ports do not collide with each other or with a server on
    127.0.0.1."""
    rng = random.SystemRandom()
    return f"127.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(2, 254)}"


class ServerProcess:
    """`python -m app.cli serve` on `host:port` (with `--ei-ports`: also 4800, 4802 and 4810)."""

    def __init__(
        self,
        settings,
        *,
        host: str,
        port: int,
        log_path: Path,
        ei_ports: bool = False,
        extra_env: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
        scheme: str = "http",
    ):
        self.url = f"{scheme}://{host}:{port}"
        self.log_path = log_path
        self._log = open(log_path, "ab")
        argv = [sys.executable, "-m", "app.cli", "serve", "--host", host, "--port", str(port)]
        if ei_ports:
            argv.append("--ei-ports")
        argv += extra_args
        env = {**worker_env(settings), **(extra_env or {})}
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}:\n{self.log()[-3000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/health", timeout=2, verify=False).status_code == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
