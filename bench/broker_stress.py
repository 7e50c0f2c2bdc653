"""The embedded filesystem broker under load: messages sent, consumed, lost (issue 10 item 1).

Run:  PYTHONPATH=. .venv/bin/python bench/broker_stress.py [--producers 4] [--messages 300]

The stress test of tests/workers/test_broker.py, with its figures printed: producer processes put
`--messages` messages of 20 kB each into the `default` queue while 2 consumer processes drain it
(kombu, the workers' broker transport); printed are the messages sent, consumed, consumed more than
once, lost, the consumers' errors and the wall time. No baseline: the expected loss is 0.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.workers.test_broker import _consume, _produce  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--consumers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        consumers = [
            ctx.Process(target=_consume, args=(root, out, 3.0)) for _ in range(args.consumers)
        ]
        producers = [
            ctx.Process(target=_produce, args=(root, i, args.messages, 20_000))
            for i in range(args.producers)
        ]
        t0 = time.monotonic()
        for p in consumers + producers:
            p.start()
        results = []
        while len([r for r in results if r[0] == "done"]) < args.consumers:
            results.append(out.get(timeout=300))
        for p in producers + consumers:
            p.join(timeout=60)
        wall = time.monotonic() - t0 - 3.0  # the consumers' idle timeout
        received = Counter(r for r in results if r[0] not in ("done", "error"))
        errors = [r for r in results if r[0] == "error"]
        sent = {(i, k) for i in range(args.producers) for k in range(args.messages)}
        print(
            f"sent {len(sent)}, consumed {sum(received.values())} "
            f"({len(received)} distinct), duplicates {sum(n - 1 for n in received.values())}, "
            f"lost {len(sent - set(received))}, consumer errors {len(errors)}, "
            f"{args.producers} producers / {args.consumers} consumers, 20 kB messages, "
            f"~{wall:.1f} s"
        )


if __name__ == "__main__":
    main()
