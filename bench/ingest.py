"""Ingestion throughput: signed JSON samples posted concurrently to the real HTTP server on PostgreSQL.

    .venv/bin/python bench/ingest.py [--samples 6000] [--web-workers 2] [--clients 2] [--threads 8]

Starts `tinyforge serve` (uvicorn) on a fresh PostgreSQL database, pre-builds N distinct signed
samples (3 axes × 250 values, HMAC-SHA256), posts them from several client processes over
keep-alive connections, and prints samples/s next to the same server's trivial endpoint
(`GET /api/health`) measured in the same run with the same clients. Then checks that every sample
sent is stored exactly once (by content hash). Target: ≥ 1,000 samples/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_ADMIN = os.environ.get("TINYFORGE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _client_worker(port: int, requests: list[tuple[str, str, bytes | None, dict]], threads: int, out) -> None:  # noqa: ANN001
    """Send `requests` over `threads` keep-alive connections; report (ok, failed, statuses)."""
    chunks = [requests[i::threads] for i in range(threads)]
    ok, bad, statuses = [0], [0], {}
    lock = threading.Lock()

    def run(chunk) -> None:  # noqa: ANN001
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for method, path, body, headers in chunk:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            with lock:
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                if resp.status == 200:
                    ok[0] += 1
                else:
                    bad[0] += 1
        conn.close()

    ts = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((ok[0], bad[0], statuses))


def blast(port: int, requests: list, clients: int, threads: int) -> tuple[float, int, int, dict]:
    q: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_client_worker, args=(port, requests[i::clients], threads, q)) for i in range(clients)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    statuses: dict = {}
    for _, _, s in results:
        for k, v in s.items():
            statuses[k] = statuses.get(k, 0) + v
    return elapsed, sum(r[0] for r in results), sum(r[1] for r in results), statuses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument("--threads", type=int, default=8, help="connections per client process")
    args = ap.parse_args()

    import numpy as np
    from sqlalchemy import create_engine, func, select, text

    from app.core.db import make_engine, session_factory, upgrade
    from app.demo import free_port
    from app.ingestion import decode_upload, sign_acquisition
    from app.models import Sample
    from app.services import projects

    db_name = f"tinyforge_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + db_name
    data_dir = Path(tempfile.mkdtemp(prefix="tinyforge-bench-"))
    server = None
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
            payload = {"device_name": f"dev-{i % 50}", "device_type": "BENCH", "interval_ms": 10,
                       "sensors": [{"name": a, "units": "m/s2"} for a in ("accX", "accY", "accZ")], "values": values}
            body = sign_acquisition(payload, hmac_key=hmac_key)
            bodies.append(body)
        for body in bodies[:50]:  # spot-check the hash the server will compute
            hashes.add(decode_upload(body, filename="x.json", content_type="application/json", hmac_keys=[hmac_key]).content_hash)
        print(f"body size {len(bodies[0])} bytes", flush=True)

        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
        env.update(TINYFORGE_DATABASE_URL=url, TINYFORGE_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO),
                   TINYFORGE_DB_POOL_SIZE="20")
        server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers",
                                   str(args.web_workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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

        trivial = [("GET", "/api/health", None, {})] * args.samples
        blast(port, trivial[:500], args.clients, args.threads)  # warm up connections and workers
        t_triv, ok_t, bad_t, _ = blast(port, trivial, args.clients, args.threads)
        headers = {"x-api-key": api_key, "content-type": "application/json", "x-label": "bench"}
        reqs = [("POST", "/api/training/data", body, {**headers, "x-file-name": f"bench.{i}.json"})
                for i, body in enumerate(bodies)]
        t_ing, ok_i, bad_i, statuses = blast(port, reqs, args.clients, args.threads)

        engine = make_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(Sample.__table__)).scalar_one()
            distinct = conn.execute(select(func.count(func.distinct(Sample.content_hash)))).scalar_one()
            dup_names = conn.execute(text(
                "select count(*) from (select filename from samples group by filename having count(*) > 1) d")).scalar_one()
            spot = conn.execute(select(func.count()).where(Sample.content_hash.in_(list(hashes)))).scalar_one()
        engine.dispose()
        blobs = sum(1 for _ in (data_dir / "blobs").rglob("*.json"))

        triv_rate, ing_rate = ok_t / t_triv, ok_i / t_ing
        print(f"\n== ingestion benchmark (PostgreSQL, uvicorn workers={args.web_workers}, "
              f"clients={args.clients}x{args.threads}) ==")
        print(f"trivial endpoint GET /api/health : {triv_rate:8.0f} req/s   ({ok_t} ok, {bad_t} failed)")
        print(f"signed JSON ingestion            : {ing_rate:8.0f} samples/s ({ok_i} ok, {bad_i} failed, statuses {statuses})")
        print(f"ratio ingestion / trivial        : {ing_rate / triv_rate:8.3f}")
        print(f"stored rows {stored}, distinct content hashes {distinct}, blobs {blobs}, duplicated names {dup_names}, "
              f"spot-checked hashes found {spot}/{len(hashes)}")
        exact = stored == args.samples == distinct == blobs and dup_names == 0 and spot == len(hashes) and bad_i == 0
        print("every sample stored exactly once:", "YES" if exact else "NO")
        print(f"target >= 1000 samples/s: {'met' if ing_rate >= 1000 else 'NOT met'}")
        return 0 if exact else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
