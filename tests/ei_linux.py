"""Edge Impulse's Linux SDK clients, for the tests of Tinyforge's Linux runner (model.eim).

- Python: the `edge-impulse-linux` package (test extra). Its `__init__` imports the microphone and
  camera helpers, which need PyAudio (PortAudio) and OpenCV, neither of which the package declares
  nor the tests use; so `python_impulse_runner()` loads the package's own `runner.py` by path and
  returns its `ImpulseRunner` class, code unchanged.
- Node: the npm package `edge-impulse-linux` in the cache folder of scripts/install-ei-linux.sh,
  driven by `tests/ei_linux_runner.js` through its `LinuxImpulseRunner`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

EI_LINUX_DIR = Path(
    os.environ.get("TINYFORGE_EI_LINUX_DIR", Path.home() / ".cache" / "tinyforge" / "ei-linux")
)
NODE_RUNNER = (
    EI_LINUX_DIR
    / "node_modules"
    / "edge-impulse-linux"
    / "build"
    / "library"
    / "classifier"
    / "linux-impulse-runner.js"
)
NODE_SCRIPT = Path(__file__).parent / "ei_linux_runner.js"


def python_impulse_runner() -> type:
    """`edge_impulse_linux.runner.ImpulseRunner` from the installed package (skips when it is
    absent)."""
    try:
        dist = importlib.metadata.distribution("edge-impulse-linux")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(
            "the edge-impulse-linux Python package is not installed (scripts/setup.sh test)"
        )
    path = Path(str(dist.locate_file("edge_impulse_linux/runner.py")))
    spec = importlib.util.spec_from_file_location("edge_impulse_linux_runner", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ImpulseRunner


def node_classify(
    eim: Path, requests: list[dict[str, Any]], tmp_path: Path
) -> list[dict[str, Any]]:
    """Run `requests` ({"classify": [...]} or {"classify_continuous": [...]}) through the npm
    package's LinuxImpulseRunner: its model information first, then one answer per request
    ({"error": message} when the runner refused it). Skips without node or the package."""
    if shutil.which("node") is None or not NODE_RUNNER.exists():
        pytest.skip(
            f"edge-impulse-linux (npm) is not installed in {EI_LINUX_DIR}: run "
            "scripts/install-ei-linux.sh"
        )
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(requests))
    done = subprocess.run(
        ["node", str(NODE_SCRIPT), str(NODE_RUNNER), str(eim), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
