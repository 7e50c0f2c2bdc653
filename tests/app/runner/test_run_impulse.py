"""`tinyforge run-impulse`: a deployed library (folder, zip or model.eim) classifies recordings as
the platform does, and a serial device live; what it cannot run or read gets a clear error.

The CLI runs as its own process; the serial device is the pseudo-terminal simulation of the data
forwarder's tests (it prints `k,sin,cos` lines at the rate it is given)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.forwarder.port import Serial
from app.ingestion import sign_acquisition
from app.ingestion.csv_format import encode_csv
from app.ingestion.wav import encode_wav
from app.runner.inputs import Impulse, serial_slices
from app.runner.library import RunnerNotFound, find_runner
from app.synthetic import motion_dataset
from tests.app.forwarder.test_data_forwarder import Device, device  # noqa: F401 (the fixture)
from tests.paths import REPO_ROOT
from tests.workers.deploy.package.motion_impulse import (
    AXES,
    FREQ,
    INTERVAL_MS,
    LABELS,
    SLICE,
    WINDOW,
    motion_impulse,
    windows_of,
)
from workers.deploy.package import build_library, write_library, zip_library
from workers.deploy.package.verify import verify_library

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """A verified linux-x86_64 library of the motion impulse, its model.eim shipped."""
    motion = motion_impulse()
    lib = build_library(motion.tflite, target="linux-x86_64", impulse=motion.spec, title="motion")
    report = verify_library(
        lib,
        motion.tflite,
        target="linux-x86_64",
        model_inputs=motion.model_inputs[:10],
        windows=motion.windows[:10],
        expected_scores=motion.expected[:10],
        log=lambda m: None,
    )
    assert report["eim"]["same_class"] == 1.0 and "model.eim" in lib.files
    out = tmp_path_factory.mktemp("lib") / "motion-linux-x86_64"
    write_library(lib, out)
    (out.parent / "motion.zip").write_bytes(zip_library(lib, root="motion-linux-x86_64"))
    return out


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "run-impulse", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
    )


def _recordings(tmp_path: Path) -> tuple[dict[str, Path], np.ndarray]:
    """A 'wave' then a 'shake' recording as CSV, and as a signed acquisition file whose axes come in
    another order; and the platform's classes for their windows."""
    values = np.concatenate([v for _, v in motion_dataset(1, seed=21, labels=("wave", "shake"))])
    csv = tmp_path / "wave-shake.csv"
    csv.write_bytes(encode_csv(values, sensor_names=AXES, interval_ms=INTERVAL_MS))
    acquisition = tmp_path / "wave-shake.json"
    acquisition.write_bytes(
        sign_acquisition(
            {
                "device_name": "sim",
                "device_type": "TEST",
                "interval_ms": INTERVAL_MS,
                "sensors": [{"name": n, "units": "m/s2"} for n in AXES[::-1]],
                "values": values[:, ::-1].tolist(),
            },
            hmac_key="0123456789abcdef",
        )
    )
    windows, _ = windows_of([("wave", values)])
    classes = motion_impulse().platform_scores(windows).argmax(1)
    return {"csv": csv, "json": acquisition}, np.array(LABELS)[classes]


def _labels(stdout: str) -> list[str]:
    return [json.loads(line)["label"] for line in stdout.splitlines()]


def test_recordings_are_classified_as_the_platform_does(library, tmp_path):
    files, expected = _recordings(tmp_path)
    for source in (library, library.parent / "motion.zip", library / "model.eim"):
        done = run(str(source), "--file", str(files["csv"]), "--file", str(files["json"]), "--json")
        assert done.returncode == 0, done.stderr
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        by_file = {
            name: [r["label"] for r in lines if r["source"] == name]
            for name in ("wave-shake.csv", "wave-shake.json")
        }
        assert by_file["wave-shake.csv"] == list(expected) and by_file["wave-shake.json"] == list(
            expected
        )
        assert [r["start_s"] for r in lines[:3]] == [0.0, SLICE / FREQ, 2 * SLICE / FREQ]
        assert set(lines[0]["classification"]) == set(LABELS) and "anomaly" in lines[0]
        assert "windows of 63 samples x 3 axes" in done.stderr
    text = run(str(library), "--file", str(files["csv"]))
    assert text.returncode == 0 and text.stdout.splitlines()[0].endswith(f"-> {expected[0]}")


def test_a_library_without_a_runner_for_this_machine_gets_one_built(library, tmp_path):
    """Zips unpacked by tools that drop mode bits, and folders without model.eim, still run."""
    files, expected = _recordings(tmp_path)
    with zipfile.ZipFile(io.BytesIO((library.parent / "motion.zip").read_bytes())) as zf:
        zf.extractall(tmp_path / "python-unzip")  # zipfile does not restore the executable bit
    unpacked = tmp_path / "python-unzip" / "motion-linux-x86_64"
    assert not os.access(unpacked / "model.eim", os.X_OK)
    done = run(str(unpacked), "--file", str(files["csv"]), "--json")
    assert done.returncode == 0 and _labels(done.stdout) == list(expected), done.stderr
    (unpacked / "model.eim").unlink()
    done = run(str(unpacked), "--file", str(files["csv"]), "--json")
    assert done.returncode == 0 and _labels(done.stdout) == list(expected), done.stderr
    assert "built the runner for linux-x86_64 from the library's sources" in done.stderr
    assert not (
        unpacked / "model.eim"
    ).exists()  # built in a scratch folder, the library is untouched


def test_what_cannot_run_or_be_read_is_a_clear_error(library, tmp_path):
    motion = motion_impulse()
    files, _ = _recordings(tmp_path)
    m4f = tmp_path / "m4f"
    write_library(build_library(motion.tflite, target="cortex-m4f", impulse=motion.spec), m4f)
    model_only = tmp_path / "model-only"
    write_library(build_library(motion.tflite, target="linux-x86_64"), model_only)
    wav = tmp_path / "hum.wav"
    wav.write_bytes(encode_wav(np.zeros((16000, 1), np.int16), rate=16000))
    png = tmp_path / "frame.png"
    png.write_bytes(_png())
    (tmp_path / "empty").mkdir()
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../manifest.json", "{}")
    csv = str(files["csv"])
    cases = [
        ((str(m4f), "--file", csv), "was built for cortex-m4f: run-impulse runs Linux builds"),
        ((str(model_only), "--file", csv), "holds a model without an impulse"),
        ((str(tmp_path / "empty"), "--file", csv), "is not a Tinyforge library (no manifest.json)"),
        ((str(tmp_path / "nowhere"), "--file", csv), "does not exist"),
        ((csv, "--file", csv), "is not a Linux runner (not a 64-bit x86-64 or aarch64 executable)"),
        ((str(evil), "--file", csv), "has an entry outside its folder (../manifest.json)"),
        (
            (str(library), "--file", str(wav)),
            "hum.wav has 1 axis (audio) but the impulse takes 3 axes (accX, accY, accZ)",
        ),
        (
            (str(library), "--file", str(png)),
            "frame.png is an image but the impulse classifies time series",
        ),
        ((str(library),), "give recordings with --file or a device with --port"),
        (
            (str(library), "--file", csv, "--port", "/dev/null"),
            "give recordings with --file or a device with --port",
        ),
        ((str(library), "--file", csv, "--count", "2"), "--count goes with --port"),
    ]
    for args, reason in cases:
        done = run(*args)
        assert done.returncode != 0 and reason in done.stderr, (args, done.stderr)
    assert not (tmp_path / "manifest.json").exists()


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def test_an_other_architecture_without_its_emulator_is_refused(library, tmp_path, monkeypatch):
    aarch64 = tmp_path / "model.eim"
    aarch64.write_bytes(
        b"\x7fELF\x02\x01\x01" + bytes(11) + (183).to_bytes(2, "little") + bytes(44)
    )
    aarch64.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # a machine without qemu-aarch64
    with pytest.raises(
        RunnerNotFound,
        match="is a linux-aarch64 executable: cannot run a linux-aarch64 executable "
        "on this x86_64 machine: qemu-aarch64 is not installed",
    ):
        find_runner(aarch64, tmp_path / "scratch")


def test_serial_slices_are_consecutive_readings(device):  # noqa: F811
    sim = device("--baud", "115200", "--hz", "62.5", "--axes", "3")
    port = Serial(sim.path, 115200)
    port.open()
    try:
        impulse = Impulse(
            labels=LABELS,
            axes=3,
            axis_names=AXES,
            frequency_hz=FREQ,
            window_samples=WINDOW,
            slice_samples=SLICE,
            image=None,
        )
        stream = serial_slices(port, impulse)
        rows = np.concatenate([next(stream).reshape(SLICE, 3) for _ in range(4)])
    finally:
        port.close()
    assert rows.shape == (4 * SLICE, 3) and np.all(
        np.diff(rows[:, 0]) == 1
    )  # k counts on, nothing lost


def test_a_serial_device_is_classified_live(library, device):  # noqa: F811
    sim = device("--baud", "115200", "--hz", "62.5", "--axes", "3")
    done = run(
        str(library),
        "--port",
        sim.path,
        "--baud",
        "115200",
        "--count",
        "3",
        "--json",
        "--detect-seconds",
        "1",
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == 3 and all(
        r["source"] == sim.path and r["label"] in LABELS for r in results
    )
    step = SLICE / FREQ  # one result per slice once the first window is full
    assert [round(r["end_s"], 3) for r in results] == [round(k * step, 3) for k in (3, 4, 5)]
    assert all(round(r["end_s"] - r["start_s"], 3) == round(WINDOW / FREQ, 3) for r in results)
    assert f"{sim.path}: 3 axes at 62.5 Hz, 115200 baud" in done.stderr


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ("--axes", "4"),
            "the device sends 4 values per line but the impulse takes 3 axes (accX, accY, accZ)",
        ),
        (
            ("--hz", "125"),
            "the device sends about 125 readings per second but the impulse was trained at 62.5 Hz",
        ),
    ],
)
def test_a_device_that_does_not_fit_the_impulse_is_refused(library, device, args, reason):  # noqa: F811
    sim = device("--baud", "115200", *(("--hz", "62.5") if "--hz" not in args else ()), *args)
    done = run(
        str(library),
        "--port",
        sim.path,
        "--baud",
        "115200",
        "--count",
        "1",
        "--detect-seconds",
        "1",
    )
    assert done.returncode == 1 and reason in done.stderr, done.stderr
