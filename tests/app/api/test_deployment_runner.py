"""The build job ships the Linux runner: a linux-x86_64 deployment's zip holds an executable
model.eim that Edge Impulse's Python SDK (`ImpulseRunner`) runs unchanged, and on every window of
the test samples it gives the class the platform's live classification gives. With the aarch64 cross
compiler and QEMU installed, a linux-aarch64 deployment ships an aarch64 runner checked under
qemu-aarch64."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.synthetic import motion_dataset
from tests.app.api.helpers import key
from tests.app.api.test_deployment_api import IMPULSE
from tests.app.api.test_learning_api import _run, _upload
from tests.ei_linux import python_impulse_runner
from workers.deploy.package.eim import elf_target
from workers.dsp import TimeSeriesInput, make_windows

pytestmark = [pytest.mark.slow]


def _unzip(blob: bytes, dest: Path) -> Path:
    """Extract as unzip does, keeping the mode bits the zip records; the library's folder."""
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for info in zf.infolist():
            path = dest / info.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(zf.read(info))
            path.chmod((info.external_attr >> 16) & 0o777)
    (root,) = list(dest.iterdir())
    return root


@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_deployment_runs_in_edge_impulses_python_sdk_like_the_platform(
    client, make_project, worker, tmp_path
):
    p = make_project()
    pid, h = p.project.id, key(p.api_key)
    _upload(client, p, motion_dataset(8, seed=5), "training")
    _upload(client, p, motion_dataset(2, seed=16), "testing")
    iid = client.post(f"/api/{pid}/impulses", json=IMPULSE, headers=h).json()["id"]
    for path, body in (
        ("generate-features", {"impulseId": iid}),
        ("train", {"impulseId": iid, "learnId": 2}),
        ("train", {"impulseId": iid, "learnId": 3}),
    ):
        job, log = _run(client, p, path, body)
        assert job["status"] == "succeeded", log[-20:]

    job, log = _run(
        client,
        p,
        "build-ondevice-model",
        {"impulseId": iid, "learnId": 2, "target": "linux-x86_64"},
    )
    assert job["status"] == "succeeded", log[-20:]
    eim = job["result"]["manifest"]["verification"]["eim"]
    assert eim["same_class"] == 1.0 and eim["ran"] == "on the host" and eim["windows"] > 0
    assert any("Linux runner (model.eim, linux-x86_64) on the host" in line for line in log)
    zipped = client.get(
        f"/api/{pid}/deployment/download", params={"type": "zip"}, headers=h
    ).content
    root = _unzip(zipped, tmp_path / "x86_64")
    exe = root / "model.eim"
    assert elf_target(exe) == "linux-x86_64" and exe.stat().st_mode & 0o777 == 0o755

    impulse_runner = python_impulse_runner()
    runner = impulse_runner(str(exe))
    samples = client.get(f"/api/{pid}/raw-data", params={"category": "testing"}, headers=h).json()[
        "samples"
    ]
    spec = TimeSeriesInput(
        axes=None, window_size_ms=1000, window_increase_ms=500, frequency_hz=62.5
    )
    compared = 0
    try:
        labels = runner.init()["model_parameters"]["labels"]
        for sample in samples:
            payload = client.get(f"/api/{pid}/raw-data/{sample['id']}", headers=h).json()["payload"]
            windows = make_windows(
                np.asarray(payload["values"]), interval_ms=payload["intervalMs"], spec=spec
            )
            platform = client.post(
                f"/api/{pid}/impulses/{iid}/classify/{sample['id']}", headers=h
            ).json()
            expected = platform["blocks"]["2"]["per_window_predicted"]
            got = []
            for w in windows:
                scores = runner.classify(w.ravel().tolist())["result"]["classification"]
                got.append(max(labels, key=lambda lab: scores[lab]))
            assert got == expected, (sample["filename"], got, expected)
            compared += len(got)
    finally:
        runner.stop()
    assert compared == 8 * 3  # 2 recordings of each of the 4 labels, 3 windows each

    if shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64"):
        job, log = _run(
            client,
            p,
            "build-ondevice-model",
            {"impulseId": iid, "learnId": 2, "target": "linux-aarch64"},
        )
        assert job["status"] == "succeeded", log[-20:]
        eim = job["result"]["manifest"]["verification"]["eim"]
        assert eim["same_class"] == 1.0 and eim["ran"] == "under qemu-aarch64"
        zipped = client.get(
            f"/api/{pid}/deployment/download", params={"type": "zip"}, headers=h
        ).content
        assert elf_target(_unzip(zipped, tmp_path / "aarch64") / "model.eim") == "linux-aarch64"
