"""Child processes that never outlive their parent, and a listening socket taken before anything
else.

`tinyforge up` runs a Celery worker beside the web server and `tinyforge demo` runs `tinyforge up`;
every path out of the parent (return, exception, SIGINT/SIGTERM/SIGHUP, even SIGKILL) must take the
child with it:

- `start_child` starts the child in its own session (so its whole process group can be stopped)
  and, on Linux, asks the kernel to send it SIGTERM when the parent dies (`PR_SET_PDEATHSIG`);
- `stop_group` stops that group: SIGTERM to the child (a Celery worker then stops its own pool),
  SIGKILL to the whole group after a grace period or once the child has gone;
- `serve_until_signal` runs uvicorn so that a signal ends the server *and returns*, instead of
  uvicorn's default of re-raising the signal (which killed `up` before it could stop its worker).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import IO, Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1


class PortInUse(Exception):
    pass


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    # (a parent that died before prctl ran leaves us orphaned: the caller's stop_group still runs)


def start_child(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
    text: bool = False,
) -> subprocess.Popen:
    """Start `argv` in its own session, to be stopped with the parent (see the module's
    docstring)."""
    return subprocess.Popen(
        argv,
        env=env,
        stdout=stdout,
        stderr=stderr,
        text=text,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def stop_group(proc: subprocess.Popen, *, grace_s: float = 15) -> None:
    """SIGTERM the child, SIGKILL its process group after `grace_s`; returns once the child has
    exited."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # pool processes the child left behind (same group) go too
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def child_process(
    argv: list[str], *, grace_s: float = 15, **kwargs: Any
) -> Iterator[subprocess.Popen]:
    proc = start_child(argv, **kwargs)
    try:
        yield proc
    finally:
        stop_group(proc, grace_s=grace_s)


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket; PortInUse (with the reason) when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {host} is already in use: stop what runs there or choose --port"
            ) from exc
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def stop_signals_raise_keyboard_interrupt() -> Iterator[None]:
    """Until the block ends, SIGTERM and SIGHUP end it as Ctrl-C does, so every `finally` runs."""

    def interrupt(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    original = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS if sig != signal.SIGINT}
    try:
        yield
    finally:
        for sig, handler in original.items():
            signal.signal(sig, handler)


def serve_until_signal(config: Any, sock: socket.socket | list[socket.socket]) -> None:
    """Run uvicorn on `sock` (or several sockets) until SIGINT, SIGTERM or SIGHUP, then return
    normally."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            original = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    Server(config).run(sockets=sock if isinstance(sock, list) else [sock])
