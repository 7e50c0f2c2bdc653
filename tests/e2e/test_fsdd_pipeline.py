"""Issue 4's bar, end to end through the platform's own HTTP API with a real worker:
ingest all FSDD recordings → MFCC impulse → features → train → int8 quantization → test.
Recordings with index 0-4 are the test set (FSDD's convention)."""

from __future__ import annotations

import json

import pytest

from app.client import TinyforgeClient
from app.demo import run_pipeline
from tests.paths import FSDD_DIR, REPO_ROOT, require_shared

pytestmark = [pytest.mark.slow, pytest.mark.worker]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_fsdd_keyword_spotting_int8_accuracy(live_server, make_project, start_worker):
    fsdd = require_shared(FSDD_DIR)
    start_worker(concurrency=1)
    p = make_project("FSDD")
    lines: list[str] = []
    with TinyforgeClient(live_server, p.api_key, timeout=300) as client:
        summary = run_pipeline(
            client, p.project.id, p.hmac_key, dataset="fsdd", data_dir=fsdd, echo=lines.append
        )
    out = REPO_ROOT / "test-output"
    out.mkdir(exist_ok=True)
    (out / "fsdd-pipeline.json").write_text(json.dumps(summary, indent=2))
    acc = summary["test_accuracy"]
    print(
        f"\nFSDD test accuracy: float32 {acc['float32']:.4f}, int8 {acc['int8']:.4f}; "
        f"stages {summary['stages']}"
    )
    assert sum(summary["counts"]["testing"].values()) == 300  # 6 speakers x 10 digits x indices 0-4
    assert acc["int8"] >= 0.97, summary
    assert abs(acc["int8"] - acc["float32"]) <= 0.01, summary
