"""Micro-benchmark of the ingestion decoders on the service's hot path (not collected by pytest).

Run:  .venv/bin/python tests/app/ingestion/bench_decode.py [--n 3000]

Body: a signed data acquisition message, 3 axes x 250 values (the issue's bench/ingest.py sample).
Baseline, measured in the same run: the stdlib's `json.loads` of the same body (what a naive
decoder pays before doing any work). Printed: microseconds per sample for every stage and for the
whole `decode_upload` (best of 7 runs), samples/s on one core, and the ratio to the baseline.
No timing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from app.ingestion import acquisition as acq  # noqa: E402
from app.ingestion import decode_upload, ref_binary_message, sign_acquisition  # noqa: E402
from app.ingestion.sample import timeseries_hash, values_to_array  # noqa: E402

KEY = "fed53116f20684c067774ebf9e7bcbdc"


def per_call_us(fn, n: int, repeats: int = 7) -> float:
    """Best of `repeats` runs of the mean time of `n` calls: on a shared machine the minimum is
    the closest estimate of the uncontended cost."""
    fn()
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t) / n * 1e6)
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    payload = {
        "device_name": "ac:87:a3:0a:2d:1b",
        "device_type": "BENCH",
        "interval_ms": 10,
        "sensors": [{"name": f"acc{a}", "units": "m/s2"} for a in "XYZ"],
        "values": np.round(rng.normal(size=(250, 3)) * 9.81, 4).tolist(),
    }
    body_json = sign_acquisition(payload, hmac_key=KEY, encoding="json", iat=1700000000)
    body_cbor = sign_acquisition(payload, hmac_key=KEY, encoding="cbor", iat=1700000000)
    audio = (rng.normal(size=(16000, 1)) * 3000).astype("<i2")
    body_ref = ref_binary_message(
        audio,
        ref_type="i16",
        sensors=[{"name": "audio", "units": "wav"}],
        interval_ms=0.0625,
        hmac_key=KEY,
    )
    message = json.loads(body_json)
    values = values_to_array(message["payload"]["values"], axes=3)

    def decode(body):
        return lambda: decode_upload(
            body, filename="s.json", content_type="application/json", hmac_keys=[KEY]
        )

    baseline = per_call_us(lambda: json.loads(body_json), args.n)
    rows = [
        ("baseline: stdlib json.loads", baseline),
        (
            "  orjson.loads" if acq._orjson else "  (orjson not installed)",
            per_call_us(lambda: acq._parse_json(body_json), args.n),
        ),
        (
            "  HMAC-SHA256 verify (1 key)",
            per_call_us(
                lambda: acq.verify_hs256(
                    body_json,
                    header_length=len(body_json),
                    signature=message["signature"],
                    hmac_keys=[KEY],
                ),
                args.n,
            ),
        ),
        (
            "  values -> float32 [250,3]",
            per_call_us(
                lambda: values_to_array(message["payload"]["values"], axes=3, may_hold_bools=False),
                args.n,
            ),
        ),
        (
            "  canonical content hash",
            per_call_us(
                lambda: timeseries_hash(values=values, interval_ms=10, sensors=payload["sensors"]),
                args.n,
            ),
        ),
        ("decode_upload JSON, signed", per_call_us(decode(body_json), args.n)),
        ("decode_upload CBOR, signed", per_call_us(decode(body_cbor), args.n)),
        (
            "decode_upload Ref-BINARY-i16 1 s @16 kHz",
            per_call_us(decode(body_ref), max(args.n // 4, 1)),
        ),
    ]
    print(f"body: JSON {len(body_json)} B, CBOR {len(body_cbor)} B, Ref-BINARY {len(body_ref)} B")
    print(f"{'stage':44s} {'us/sample':>10s} {'samples/s':>10s} {'x baseline':>10s}")
    for name, us in rows:
        print(f"{name:44s} {us:10.1f} {1e6 / us:10.0f} {us / baseline:10.2f}")


if __name__ == "__main__":
    main()
