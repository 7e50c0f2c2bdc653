"""Ingestion throughput: signed JSON samples posted concurrently to the real HTTP server on
PostgreSQL.

    .venv/bin/python bench/ingest.py [--samples 6000] [--web-workers 2] [--clients 2] \
        [--connections 8]
    .venv/bin/python bench/ingest.py --storage s3   # the same on S3, as a ratio to local

With ``--storage s3`` the run is made twice on the same database and project, first with blobs in a
local directory (the baseline), then on S3: the server named by TINYFORGE_STORAGE_URL and
TINYFORGE_S3_ENDPOINT_URL (and AWS_* credentials) when they are set, else moto's S3 server started
on loopback (tests/s3server.py), and prints the S3 rate as a ratio to the local one.

Starts `tinyforge serve` (uvicorn) on a fresh PostgreSQL database, pre-builds N distinct signed
samples (3 axes × 250 values, HMAC-SHA256), posts them from several client processes (raw sockets,
pre-serialised requests) over keep-alive connections, and prints samples/s next to the same server's
trivial endpoint (`GET /api/health`) measured in the same run with the same clients. Then checks
that every sample sent is stored exactly once (by content hash). Target: ≥ 1,000 samples/s on a
2-core machine.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_ADMIN = os.environ.get(
    "TINYFORGE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _client_worker(port: int, requests: list[bytes], connections: int, out) -> None:
    """Send pre-serialised HTTP/1.1 `requests` over `connections` keep-alive sockets from one
    process.

    A lean client (raw sockets, one selector, no header parsing beyond status and Content-Length) so
    that the load generator takes as little as possible of the CPU the server shares with it.
    Reports (ok, failed, statuses, client CPU seconds).
    """
    import resource
    import selectors
    import socket

    sel = selectors.DefaultSelector()
    todo = list(reversed(requests))
    statuses: dict[int, int] = {}
    ok = bad = 0

    def send_next(sock: socket.socket) -> bool:
        if not todo:
            return False
        sock.sendall(todo.pop())
        return True

    for _ in range(min(connections, len(requests))):
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sel.register(sock, selectors.EVENT_READ, bytearray())
        send_next(sock)
    while sel.get_map():
        for key, _ in sel.select():
            sock, buf = key.fileobj, key.data
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed a keep-alive connection")
            buf += chunk
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = bytes(buf[:head_end]).lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                line_end = head.find(b"\r\n", at)
                length = int(head[at + 15 : line_end if line_end > 0 else None])
            if len(buf) < head_end + 4 + length:
                continue
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                ok += 1
            else:
                bad += 1
            del buf[: head_end + 4 + length]
            if not send_next(sock):
                sel.unregister(sock)
                sock.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put((ok, bad, statuses, usage.ru_utime + usage.ru_stime))


def _http_request(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    if body is not None:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def _cpu_seconds(pids: list[int], *, kernel_only: bool = False) -> float:
    """utime + stime (or stime alone) of the given processes (those that still exist)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[12]) + (0 if kernel_only else int(fields[11]))
    return total / tick


def _children(pid: int) -> list[int]:
    out = [pid]
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, ValueError):
                pass
    return out


def _postgres_pids() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip().startswith("postgres"):
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def _machine_busy_seconds() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _start_profilers(
    server_pid: int, out_dir: Path, *, gil_only: bool = False
) -> list[tuple[subprocess.Popen, Path]]:
    import shutil

    if not shutil.which(
        "py-spy", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
    ):
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    spies = []
    for pid in _children(server_pid)[1:]:  # the uvicorn workers, not the supervisor
        out = out_dir / f"worker-{pid}.txt"
        spy = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--output",
                str(out),
                "--nonblocking",
                *(["--gil"] if gil_only else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        )
        spies.append((spy, out))
    time.sleep(1.0)  # let py-spy attach
    return spies


def _stop_profilers(spies: list[tuple[subprocess.Popen, Path]]) -> None:
    import signal
    from collections import Counter

    own: Counter = Counter()
    total = 0
    for spy, out in spies:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        for line in out.read_text().splitlines() if out.exists() else []:
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            total += int(count)
            own[stack.split(";")[-1]] += int(count)
    if total:
        print(
            f"\nserver workers, where the samples were taken (own time, top 25 of {total} samples):"
        )
        for frame, n in own.most_common(25):
            print(f"  {100 * n / total:5.1f}%  {frame[:150]}")


class Run:
    """One load run: wall time, replies, and CPU seconds spent by server, PostgreSQL, clients and
    the machine."""

    def __init__(
        self,
        port: int,
        requests: list[bytes],
        clients: int,
        connections: int,
        server_pid: int,
        s3_pid: int | None = None,
    ):
        server_pids, pg_pids = _children(server_pid), _postgres_pids()
        s0, p0, m0 = _cpu_seconds(server_pids), _cpu_seconds(pg_pids), _machine_busy_seconds()
        s3_pids = [s3_pid] if s3_pid else []
        o0 = _cpu_seconds(s3_pids)
        k0 = _cpu_seconds(server_pids, kernel_only=True)
        q: mp.Queue = mp.Queue()
        procs = [
            mp.Process(target=_client_worker, args=(port, requests[i::clients], connections, q))
            for i in range(clients)
        ]
        t0 = time.perf_counter()
        for p in procs:
            p.start()
        results = [q.get() for _ in procs]
        for p in procs:
            p.join()
        self.elapsed = time.perf_counter() - t0
        self.server_cpu = _cpu_seconds(server_pids) - s0
        self.server_kernel = _cpu_seconds(server_pids, kernel_only=True) - k0
        self.pg_cpu = (
            _cpu_seconds(_postgres_pids()) - p0
        )  # backends that ended meanwhile are missed
        self.machine_cpu = _machine_busy_seconds() - m0
        self.s3_cpu = _cpu_seconds(s3_pids) - o0 if s3_pids else None
        self.client_cpu = sum(r[3] for r in results)
        self.ok, self.bad = sum(r[0] for r in results), sum(r[1] for r in results)
        self.statuses: dict = {}
        for r in results:
            for k, v in r[2].items():
                self.statuses[k] = self.statuses.get(k, 0) + v

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed

    def cpu_line(self) -> str:
        n = max(self.ok + self.bad, 1)
        ms = lambda sec: 1000 * sec / n  # noqa: E731
        return (
            f"CPU ms/request: server {ms(self.server_cpu):.2f} "
            f"({ms(self.server_kernel):.2f} in the kernel), postgres {ms(self.pg_cpu):.2f}, "
            + (f"S3 server {ms(self.s3_cpu):.2f}, " if self.s3_cpu is not None else "")
            + f"clients {ms(self.client_cpu):.2f}, whole machine {ms(self.machine_cpu):.2f} "
            f"(machine {100 * self.machine_cpu / self.elapsed / os.cpu_count():.0f}% busy)"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument(
        "--connections", type=int, default=8, help="keep-alive connections per client process"
    )
    ap.add_argument(
        "--profile",
        metavar="DIR",
        help="record the server workers with py-spy during the ingestion "
        "run (collapsed stacks and a top-functions summary in DIR)",
    )
    ap.add_argument(
        "--gil", action="store_true", help="with --profile: sample only the thread holding the GIL"
    )
    ap.add_argument(
        "--storage",
        choices=("local", "s3"),
        default="local",
        help="s3: measure on S3 too and print the ratio to the local backend",
    )
    args = ap.parse_args()

    import numpy as np
    from sqlalchemy import create_engine, text

    from app.core.db import session_factory, upgrade
    from app.ingestion import decode_upload, sign_acquisition
    from app.services import projects

    db_name = f"tinyforge_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + db_name
    data_dir = Path(tempfile.mkdtemp(prefix="tinyforge-bench-"))
    try:
        upgrade(url)
        from app.core.config import Settings

        settings = Settings(database_url=url, data_dir=data_dir)
        with session_factory(settings)() as s:
            new = projects.create_project(s, name="bench")
            s.commit()
            api_key, hmac_key = new.api_key, new.hmac_key

        print(f"building {args.samples} signed samples (3 axes x 250 values) ...", flush=True)
        rng = np.random.default_rng(0)
        bodies, hashes = [], set()
        for i in range(args.samples):
            values = rng.normal(0, 2, size=(250, 3)).round(3).tolist()
            payload = {
                "device_name": f"dev-{i % 50}",
                "device_type": "BENCH",
                "interval_ms": 10,
                "sensors": [{"name": a, "units": "m/s2"} for a in ("accX", "accY", "accZ")],
                "values": values,
            }
            body = sign_acquisition(payload, hmac_key=hmac_key)
            bodies.append(body)
        for body in bodies[:50]:  # spot-check the hash the server will compute
            hashes.add(
                decode_upload(
                    body, filename="x.json", content_type="application/json", hmac_keys=[hmac_key]
                ).content_hash
            )
        print(f"body size {len(bodies[0])} bytes", flush=True)

        s3 = None
        backends = [("local", {})]
        if args.storage == "s3":
            s3_env, s3 = _s3_env(data_dir)
            backends.append(("s3", s3_env))
        try:
            rates = {}
            ok = True
            for name, storage_env in backends:
                s3_pid = s3.proc.pid if s3 is not None and name == "s3" else None
                rate, exact = _measure(
                    args, name, storage_env, url, data_dir, bodies, hashes, api_key, s3_pid
                )
                rates[name] = rate
                ok = ok and exact
        finally:
            if s3 is not None:
                s3.stop()
        if "s3" in rates:
            print(
                f"\n== S3 vs local: {rates['s3']:.0f} / {rates['local']:.0f} samples/s, "
                f"ratio s3 / local {rates['s3'] / rates['local']:.3f} =="
            )
        return 0 if ok else 1
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


def _s3_env(data_dir: Path):
    keys = ("TINYFORGE_STORAGE_URL", "TINYFORGE_S3_ENDPOINT_URL")
    if os.environ.get("TINYFORGE_STORAGE_URL", "").startswith("s3://"):
        env = {k: os.environ[k] for k in keys if k in os.environ}
        print(f"S3: {env}", flush=True)
        return env, None
    from tests.s3server import S3Server

    server = S3Server.start(data_dir / "moto.log")
    bucket = server.new_bucket()
    print(f"S3: moto server at {server.endpoint_url}, bucket {bucket}", flush=True)
    return server.env(bucket, "bench"), server


def _measure(args, storage, storage_env, url, data_dir, bodies, hashes, api_key, s3_pid):
    """One server on one blob backend: trivial endpoint, then ingestion -> (samples/s, stored?)."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select, text

    from app.core.config import Settings
    from app.core.db import make_engine
    from app.core.storage import get_store
    from app.demo import free_port
    from app.models import Sample

    engine = make_engine(url)
    with engine.connect() as conn:
        before = conn.execute(select(func.coalesce(func.max(Sample.id), 0))).scalar_one()
    engine.dispose()
    server = None
    try:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
        env.update(
            TINYFORGE_DATABASE_URL=url,
            TINYFORGE_DATA_DIR=str(data_dir),
            PYTHONPATH=str(REPO),
            TINYFORGE_DB_POOL_SIZE="20",
            **storage_env,
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.web_workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/api/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)

        trivial = [_http_request("GET", "/api/health", None, {})] * args.samples
        Run(
            port, trivial[:500], args.clients, args.connections, server.pid
        )  # warm up connections and workers
        triv = Run(port, trivial, args.clients, args.connections, server.pid)
        headers = {"x-api-key": api_key, "content-type": "application/json", "x-label": "bench"}
        reqs = [
            _http_request(
                "POST", "/api/training/data", body, {**headers, "x-file-name": f"bench.{i}.json"}
            )
            for i, body in enumerate(bodies)
        ]
        spies = (
            _start_profilers(server.pid, Path(args.profile), gil_only=args.gil)
            if args.profile
            else []
        )
        ing = Run(port, reqs, args.clients, args.connections, server.pid, s3_pid)
        _stop_profilers(spies)
        bad_i = ing.bad

        engine = make_engine(url)
        new = Sample.id > before  # this run's rows
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).where(new)).scalar_one()
            distinct = conn.execute(
                select(func.count(func.distinct(Sample.content_hash))).where(new)
            ).scalar_one()
            dup_names = conn.execute(
                text(
                    "select count(*) from (select filename from samples where id > :before "
                    "group by filename having count(*) > 1) d"
                ),
                {"before": before},
            ).scalar_one()
            spot = conn.execute(
                select(func.count()).where(new, Sample.content_hash.in_(list(hashes)))
            ).scalar_one()
            places = conn.execute(
                select(
                    Sample.filename, Sample.blob_key, Sample.blob_offset, Sample.blob_bytes
                ).where(new)
            ).all()
        engine.dispose()
        # every row's byte range holds exactly the body sent under its file name
        os.environ.update({k: v for k, v in storage_env.items() if k.startswith("AWS_")})
        store = get_store(
            Settings(
                database_url=url,
                data_dir=data_dir,
                storage_url=storage_env.get("TINYFORGE_STORAGE_URL", ""),
                s3_endpoint_url=storage_env.get("TINYFORGE_S3_ENDPOINT_URL", ""),
            )
        )
        sent = {f"bench.{i}.json": body for i, body in enumerate(bodies)}
        with ThreadPoolExecutor(8) as pool:
            intact = sum(
                pool.map(lambda p: store.get_range(p[1], p[2], p[3]) == sent.get(p[0]), places)
            )
        files = len({key for _, key, _, _ in places})

    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
    triv_rate, ing_rate = triv.rate, ing.rate
    print(
        f"\n== ingestion benchmark ({storage} blobs: {store.location}; PostgreSQL, "
        f"uvicorn workers={args.web_workers}, "
        f"clients={args.clients}x{args.connections} connections, {os.cpu_count()} cores) =="
    )
    print(
        f"trivial endpoint GET /api/health : {triv_rate:8.0f} req/s     "
        f"({triv.ok} ok, {triv.bad} failed)"
    )
    print(f"    {triv.cpu_line()}")
    print(
        f"signed JSON ingestion            : {ing_rate:8.0f} samples/s "
        f"({ing.ok} ok, {ing.bad} failed, "
        f"statuses {ing.statuses})"
    )
    print(f"    {ing.cpu_line()}")
    print(f"ratio ingestion / trivial        : {ing_rate / triv_rate:8.3f}")
    print(
        f"stored rows {stored}, distinct content hashes {distinct}, "
        f"duplicated names {dup_names}, spot-checked hashes found {spot}/{len(hashes)}, "
        f"bodies stored byte for byte {intact} (in {files} files)"
    )
    exact = (
        stored == args.samples == distinct == intact
        and dup_names == 0
        and spot == len(hashes)
        and bad_i == 0
    )
    print("every sample stored exactly once:", "YES" if exact else "NO")
    print(f"target >= 1000 samples/s: {'met' if ing_rate >= 1000 else 'NOT met'}")
    return ing_rate, exact


if __name__ == "__main__":
    sys.exit(main())
