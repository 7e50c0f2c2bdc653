"""A chunked upload from a raw socket while the server's resident memory is sampled."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from urllib.parse import urlsplit

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakRss:
    """Samples a process's RSS every 10 ms in a thread; `.growth` = peak - RSS at start."""

    def __init__(self, pid: int | str = "self"):
        self.pid = pid
        self.start = rss_bytes(pid)
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self.pid))
        return self.peak - self.start


def chunked_multipart(
    base_url: str,
    path: str,
    headers: dict[str, str],
    *,
    total_bytes: int,
    field: str = "data",
    filename: str = "big.csv",
    chunk_bytes: int = 1 << 20,
) -> tuple[int | None, int]:
    """POST one multipart file part of `total_bytes` with Transfer-Encoding: chunked.

    Stops sending as soon as the server answers (or drops the connection).
    Returns (the response status or None when the connection was reset first, bytes sent)."""
    url = urlsplit(base_url)
    boundary = "tinyforgeboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {url.hostname}:{url.port}",
        "Transfer-Encoding: chunked",
        f"Content-Type: multipart/form-data; boundary={boundary}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    block = b"1," * (chunk_bytes // 2)
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

        def chunk(data: bytes) -> None:
            sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")

        def answered() -> bool:
            return bool(select.select([sock], [], [], 0)[0])

        try:
            chunk(head)
            while sent < total_bytes and not answered():
                piece = block[: min(len(block), total_bytes - sent)]
                chunk(piece)
                sent += len(piece)
            if sent >= total_bytes:
                chunk(tail)
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            deadline = time.monotonic() + 60
            response = b""
            while b"\r\n" not in response and time.monotonic() < deadline:
                data = sock.recv(65536)
                if not data:
                    break
                response += data
        except ConnectionResetError:
            return None, sent
    if not response.startswith(b"HTTP/1.1 "):
        return None, sent
    return int(response.split()[1]), sent
