"""The Linux runner (model.eim): Edge Impulse's own SDK clients run a Tinyforge impulse unchanged
and classify the test windows as the platform does; bad requests and bad starts get clear errors.

The impulse is a real one, trained here (motion_impulse.py); "the platform" is the Python pipeline
the platform classifies with.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.synthetic import motion_dataset
from tests.ei_linux import node_classify, python_impulse_runner
from tests.workers.deploy.package.motion_impulse import (
    LABELS,
    SLICE,
    WINDOW,
    MotionImpulse,
    motion_impulse,
)
from tests.workers.deploy.tflite_builders import convert, layer
from workers.deploy.package import (
    ImpulseSpec,
    build_library,
    render_docs,
    write_library,
    zip_library,
)
from workers.deploy.package.eim import (
    EimError,
    EimRunner,
    build_eim,
    c_string_literal,
    elf_target,
    json_text,
    model_parameters,
    pack_pixels,
    scores,
    verify_eim,
)
from workers.deploy.package.verify import verdict, verify_library
from workers.dsp import get_block

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def motion() -> MotionImpulse:
    return motion_impulse()


@pytest.fixture(scope="module")
def verified(motion, tmp_path_factory):
    lib = build_library(
        motion.tflite, target="linux-x86_64", impulse=motion.spec, title="Motion {demo}"
    )
    logs: list[str] = []
    report = verify_library(
        lib,
        motion.tflite,
        target="linux-x86_64",
        model_inputs=motion.model_inputs,
        windows=motion.windows,
        expected_scores=motion.expected,
        expected_anomaly=motion.anomaly,
        log=logs.append,
    )
    out = tmp_path_factory.mktemp("motion-lib")
    write_library(lib, out)
    return {"lib": lib, "report": report, "dir": out, "logs": logs}


def test_verification_builds_checks_and_ships_the_runner(verified, motion):
    report, lib = verified["report"], verified["lib"]
    assert report["eim"]["same_class"] == 1.0 and report["eim"]["windows"] == len(motion.windows)
    assert report["eim"]["ran"] == "on the host" and verdict(report) == []
    assert any(
        "Linux runner (model.eim, linux-x86_64) on the host" in line for line in verified["logs"]
    )
    exe = verified["dir"] / "model.eim"
    assert elf_target(exe) == "linux-x86_64" and os.access(exe, os.X_OK)
    render_docs(lib, title="Motion", impulse=motion.spec, target_description="x86-64 Linux")
    readme = lib.files["README.md"].decode().replace("\n", " ")
    assert "`model.eim` here is statically linked and was checked on the test windows" in readme
    blob = zip_library(lib, root="motion")
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    assert modes["motion/model.eim"] == 0o755 and modes["motion/Makefile"] == 0o644
    assert blob == zip_library(lib, root="motion")  # still deterministic
    if shutil.which("unzip"):
        (verified["dir"].parent / "motion.zip").write_bytes(blob)
        dest = verified["dir"].parent / "unzipped"
        subprocess.run(
            ["unzip", "-q", str(verified["dir"].parent / "motion.zip"), "-d", str(dest)], check=True
        )
        assert os.access(dest / "motion" / "model.eim", os.X_OK)


def test_a_runner_that_classifies_differently_is_not_shipped(motion, tmp_path):
    lib = build_library(motion.tflite, target="linux-x86_64", impulse=motion.spec)
    write_library(lib, tmp_path)
    wrong = np.roll(motion.expected, 1, axis=1)  # a "platform" that disagrees on every window
    logs: list[str] = []
    part = verify_eim(
        lib,
        tmp_path,
        target="linux-x86_64",
        windows=motion.windows,
        expected_scores=wrong,
        log=logs.append,
    )
    assert part["same_class"] < 1.0 and "model.eim" not in lib.files and not lib.executables
    assert "model.eim is not shipped: it classifies windows differently from the platform" in logs
    report = {"host": {"bit_exact": True}, "bit_exact": True, "eim": part}
    assert verdict(report) == [
        f"the Linux runner (model.eim) classifies {100 * (1 - part['same_class']):.1f}% "
        "of the test windows differently from the platform (on the host)"
    ]


def _classify_example(lib_dir: Path, windows: np.ndarray) -> np.ndarray:
    subprocess.run(["make", "-C", str(lib_dir), "classify"], check=True, capture_output=True)
    out = subprocess.run(
        [str(lib_dir / "classify")],
        input=windows.astype(np.float32).tobytes(),
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, np.float32).reshape(len(windows), len(LABELS) + 1)


@pytest.mark.parametrize("allow_shm", [True, False], ids=["shared-memory", "json"])
def test_edge_impulse_python_sdk_classifies_like_the_platform(verified, motion, allow_shm):
    impulse_runner = python_impulse_runner()
    runner = impulse_runner(str(verified["dir"] / "model.eim"), allow_shm=allow_shm)
    try:
        info = runner.init()
        params = info["model_parameters"]
        assert params["labels"] == LABELS and params["label_count"] == 4
        assert (params["input_features_count"], params["axis_count"], params["frequency"]) == (
            189,
            3,
            62.5,
        )
        assert (params["interval_ms"], params["slice_size"], params["has_anomaly"]) == (16.0, 93, 1)
        assert params["sensor"] == 2 and params["use_continuous_mode"] is False
        assert (
            info["project"]["name"] == "Motion {demo}"
            and info["project"]["impulse_name"] == "motion"
        )
        assert "features_shm" in info  # offered always; the SDK uses it unless told not to
        assert (runner._input_shm is not None) == allow_shm
        results = [runner.classify(w.ravel().tolist()) for w in motion.windows]
        pid = runner._runner.pid
    finally:
        runner.stop()
    got = np.stack([scores(r["result"], LABELS) for r in results])
    anomaly = np.array([r["result"]["anomaly"] for r in results])
    assert (
        got.argmax(1) == motion.expected.argmax(1)
    ).all()  # the platform's classes, every window
    step = verified["lib"].manifest["output"]["scale"]
    assert np.abs(got - motion.expected).max() <= step + 1e-6
    np.testing.assert_allclose(
        anomaly, motion.anomaly, rtol=1e-2, atol=1e-2 * np.abs(motion.anomaly).max()
    )
    # the runner is the C impulse: the same float32 scores as the library's own example program
    example = _classify_example(verified["dir"], motion.windows)
    np.testing.assert_array_equal(got.astype(np.float32), example[:, :4])
    np.testing.assert_array_equal(anomaly.astype(np.float32), example[:, 4])
    assert all(set(r["timing"]) >= {"dsp", "classification", "anomaly"} for r in results)
    _wait_gone(pid)
    assert not [n for n in os.listdir("/dev/shm") if n.startswith(f"tinyforge-eim-{pid}-")]


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
            os.kill(pid, 0)
        except (ChildProcessError, ProcessLookupError):
            return
        time.sleep(0.05)
    raise AssertionError(f"the runner {pid} did not exit after SIGINT")


def test_continuous_mode_classifies_the_latest_window(verified):
    signal_ = np.concatenate([v for _, v in motion_dataset(1, seed=9)]).astype(
        np.float32
    )  # 4 x 125 readings
    with EimRunner(verified["dir"] / "model.eim") as runner:
        slices = [
            runner.classify_continuous(signal_[i : i + SLICE]) for i in range(0, 12 * SLICE, SLICE)
        ]
        for k in range(2, 12):  # from the third slice on, the window is full: the last 63 readings
            window = runner.classify(signal_[SLICE * (k + 1) - WINDOW : SLICE * (k + 1)])
            assert (slices[k]["classification"], slices[k]["anomaly"]) == (
                window["classification"],
                window["anomaly"],
            )


def test_edge_impulse_node_sdk_classifies_like_the_platform(verified, motion, tmp_path):
    windows = motion.windows[:8]
    slices = [w[-SLICE:].ravel().tolist() for w in windows[:3]]
    answers = node_classify(
        verified["dir"] / "model.eim",
        [{"classify": w.ravel().tolist()} for w in windows]
        + [{"classify_continuous": s} for s in slices]
        + [{"classify": [1.0, 2.0]}],
        tmp_path,
    )
    info, results, continuous, refused = answers[0], answers[1:9], answers[9:12], answers[12]
    assert (
        info["modelParameters"]["labels"] == LABELS
        and info["modelParameters"]["sensorType"] == "accelerometer"
    )
    got = np.stack([scores(r["result"], LABELS) for r in results])
    assert (got.argmax(1) == motion.expected[:8].argmax(1)).all()
    assert all("classification" in r["result"] for r in continuous)
    assert refused == {
        "error": "classify: expected 189 values (one window: input_features_count) but got 2"
    }


class RawClient:
    """Bytes in, NUL-terminated answers out: requests the SDKs would never send."""

    def __init__(self, exe: Path, sock_path: Path) -> None:
        self.proc = subprocess.Popen(
            [str(exe), str(sock_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.output = b""
        while (
            b"waiting for a connection" not in self.output
        ):  # listening (a stale socket may exist before)
            line = self.proc.stdout.readline()
            assert line, f"the runner did not start: {self.output!r}"
            self.output += line
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(str(sock_path))

    def ask(self, data: bytes) -> dict:
        self.sock.sendall(data)
        answer = b""
        while not answer.endswith(b"\0"):
            chunk = self.sock.recv(65536)
            assert chunk, "the runner closed the connection"
            answer += chunk
        return json.loads(answer[:-1])

    def close(self) -> int:
        self.sock.close()
        return self.proc.wait(timeout=10)


def test_bad_requests_are_answered_with_the_reason(verified, tmp_path):
    client = RawClient(verified["dir"] / "model.eim", tmp_path / "r.sock")
    try:
        assert client.ask(b'{"id": 1, "classify": []}')["error"] == "send hello first"
        assert client.ask(b'{"id": 2, "hello": 2}')["error"] == "hello: only version 1 is supported"
        assert (
            client.ask(b'\n{"id": 3, "hello": 1}\n')["success"] is True
        )  # bytes between messages are skipped
        window = ",".join(["0.5"] * 189).encode()
        cases = [  # (message, the id the answer carries, the reason it gives)
            (b'{"id": 4, "hello": 1}', 4, "hello: already initialized"),
            (
                b'{"id": 5, "classify": [1, 2, 3]}',
                5,
                "classify: expected 189 values (one window: input_features_count) but got 3",
            ),
            (
                b'{"id": 6, "classify_continuous": [' + window + b"]}",
                6,
                "classify_continuous: expected 93 values (one slice: slice_size) but got 189",
            ),
            (
                b'{"id": 7, "classify": [' + window[:-3] + b"NaN]}",
                7,
                "classify: value 188 is not a finite number",
            ),
            (
                b'{"id": 8, "classify": [' + window[:-3] + b'"x"]}',
                8,
                "classify: value 188 is not a finite number",
            ),
            (
                b'{"id": 9, "classify": [1e999' + window[3:] + b"]}",
                9,
                "classify: value 0 is not a finite number",
            ),
            (
                b'{"id": 10, "classify_shm": {"elements": 190}}',
                10,
                'classify_shm: "elements" must be 0 to 189 (the shared memory\'s size), got 190',
            ),
            (b'{"id": 11, "classify": "abc"}', 11, '"classify" must be an array of numbers'),
            (b'{"id": 12, "classify": [1,]}', 12, "not a valid request: expected a number at byte"),
            (b'{"id": 13, "hello": 1, "classify": []}', 13, "more than one command in one message"),
            (
                b'{"id": 14, "start": true}',
                14,
                "unknown message 'start': this runner answers hello, classify",
            ),
            (
                b'{"id": 15, "set_threshold": {"id": 3, "min_score": 0.5}}',
                15,
                "set_threshold: this impulse has no thresholds",
            ),
            (
                b'{"id": 16, "set_parameter": {"x": 1}}',
                16,
                "set_parameter: this impulse has no parameters to set",
            ),
            (b'{"classify": []}', None, 'every message needs an integer "id"'),
            (b'{"id": 1.5, "classify": []}', None, '"id" must be an integer'),
            (b'{"id": 17, "classify": [01]}', 17, "not a valid request"),
            (
                b'{"id": 18, "classify": [1, {"}": "{"}]}',
                18,
                "classify: expected 189 values",
            ),  # braces in strings
        ]
        for data, id_, reason in cases:
            answer = client.ask(data)
            assert answer["success"] is False and reason in answer["error"], (data[:60], answer)
            assert answer.get("id") == id_  # the SDKs match answers to requests by id
        ok = client.ask(b'{"id": 19, "classify": [' + window + b'], "debug": true}')
        assert (
            ok["id"] == 19 and ok["success"] and set(ok["result"]["classification"]) == set(LABELS)
        )
        # a message that does not end within the largest request (189 numbers x 64 bytes + 1 MiB):
        # refused, then the runner closes the connection
        limit = 189 * 64 + 2**20
        answer = client.ask((b'{"id": 20, "classify": [' + b"1," * limit)[: limit + 1])
        assert "message larger than the largest request" in answer["error"]
    finally:
        status = client.close()
    assert status == 1


def test_a_socket_path_that_is_taken_is_refused(verified, tmp_path):
    exe = verified["dir"] / "model.eim"

    def start(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(exe), str(path)], capture_output=True, text=True, timeout=10)

    existing = tmp_path / "notes.txt"
    existing.write_text("keep me")
    done = start(existing)
    assert (
        done.returncode == 1
        and f"{existing} exists and is not a socket: not replacing it" in done.stderr
    )
    assert existing.read_text() == "keep me"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as live:
        live.bind(str(tmp_path / "live.sock"))
        live.listen(1)
        done = start(tmp_path / "live.sock")
        assert done.returncode == 1 and "another process is listening on" in done.stderr
    done = start(tmp_path / ("x" * 120) / "r.sock")
    assert done.returncode == 1 and "the socket path must be 1 to 107 bytes long" in done.stderr
    done = start(tmp_path / "missing-dir" / "r.sock")
    assert (
        done.returncode == 1
        and "cannot bind" in done.stderr
        and "No such file or directory" in done.stderr
    )
    usage = subprocess.run([str(exe)], capture_output=True, text=True)
    assert usage.returncode == 1 and "usage:" in usage.stderr
    # a socket left behind by a runner that was killed (nobody listens) is replaced, as Edge
    # Impulse's does
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))
    client = RawClient(exe, stale)
    try:
        assert client.ask(b'{"id": 1, "hello": 1}')["success"]
    finally:
        client.proc.send_signal(signal.SIGINT)
        client.close()
    assert not stale.exists()  # the runner removes its socket when it stops


def _quiet_runner(exe: Path, sock_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(exe), str(sock_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _left_behind(sock_path: Path) -> list[Path]:
    """The socket and the runner's staging name for it (PATH.<pid>), where they still exist."""
    return [p for p in sock_path.parent.iterdir() if p.name.startswith(sock_path.name)]


def test_the_socket_path_appears_only_once_it_accepts_connections(verified, tmp_path):
    # Edge Impulse's runners connect the moment the path exists; a runner that bound the path before
    # listening on it refused them now and then (seen in CI under load).
    exe = verified["dir"] / "model.eim"
    for attempt in range(300):
        path = tmp_path / f"r{attempt}.sock"
        proc = _quiet_runner(exe, path)
        try:
            deadline = time.monotonic() + 20
            while not path.exists():
                assert proc.poll() is None and time.monotonic() < deadline, (
                    "the runner did not start"
                )
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(str(path))  # ConnectionRefusedError if the path came before listen()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
        assert _left_behind(path) == []


def test_a_stop_signal_at_any_moment_of_the_start_ends_the_runner(verified, tmp_path):
    # A signal that came between installing the handler and the blocking accept() used to be missed:
    # the runner then waited for a client forever. Signals here land all over the start-up.
    exe = verified["dir"] / "model.eim"
    for attempt in range(200):
        path = tmp_path / f"s{attempt}.sock"
        proc = _quiet_runner(exe, path)
        if attempt % 2:
            while not path.exists() and proc.poll() is None:
                pass
        else:
            time.sleep(attempt * 1e-5)
        proc.send_signal(signal.SIGTERM)
        try:
            status = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"attempt {attempt}: the runner ignored SIGTERM")
        # before the handler is installed the default action ends it; after, it exits cleanly
        assert status in (0, -signal.SIGTERM), attempt
        assert _left_behind(path) == [], attempt


def test_runners_exist_only_for_linux_builds(motion, tmp_path):
    lib = build_library(motion.tflite, target="cortex-m4f", impulse=motion.spec)
    assert (
        not [f for f in lib.files if f.startswith("eim/")]
        and "model.eim" not in lib.files["Makefile"].decode()
    )
    write_library(lib, tmp_path / "m4f")
    with pytest.raises(
        EimError, match="exists for linux-x86_64 and linux-aarch64 builds, not for cortex-m4f"
    ):
        build_eim(tmp_path / "m4f", target="cortex-m4f")
    with pytest.raises(EimError, match="has no Linux runner"):
        build_eim(tmp_path / "m4f", target="linux-x86_64")
    with pytest.raises(EimError, match="does not exist"):
        EimRunner(tmp_path / "m4f" / "model.eim").start()
    (tmp_path / "m4f" / "not-a-runner").write_text("#!/bin/sh\necho 'no socket here'\nexit 3\n")
    with pytest.raises(EimError, match="not executable"):
        EimRunner(tmp_path / "m4f" / "not-a-runner").start()
    (tmp_path / "m4f" / "not-a-runner").chmod(0o755)
    with pytest.raises(EimError, match="exited with status 3 before listening: no socket here"):
        EimRunner(tmp_path / "m4f" / "not-a-runner").start()


def test_another_prefix_builds_with_cmake_too(motion, tmp_path):
    lib = build_library(motion.tflite, target="linux-x86_64", impulse=motion.spec, prefix="motion_")
    write_library(lib, tmp_path / "lib")
    assert (tmp_path / "lib" / "eim" / "motion_eim_info.h").exists()
    exe = build_eim(tmp_path / "lib", target="linux-x86_64")
    with EimRunner(exe) as runner:
        assert runner.hello["model_parameters"]["labels"] == LABELS
    if shutil.which("cmake"):
        build = tmp_path / "build"
        subprocess.run(
            ["cmake", "-S", str(tmp_path / "lib"), "-B", str(build)],
            check=True,
            capture_output=True,
        )
        subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
        with EimRunner(build / "model.eim") as runner:
            assert runner.classify(motion.windows[0])["classification"].keys() == set(LABELS)


def test_aarch64_runner_is_cross_compiled_and_checked_under_qemu(motion, tmp_path):
    if not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64")):
        pytest.skip(
            "gcc-aarch64-linux-gnu or qemu-user missing: scripts/install-toolchain.sh installs them"
        )
    lib = build_library(motion.tflite, target="linux-aarch64", impulse=motion.spec)
    windows, expected = motion.windows[:12], motion.expected[:12]
    report = verify_library(
        lib,
        motion.tflite,
        target="linux-aarch64",
        model_inputs=motion.model_inputs[:12],
        windows=windows,
        expected_scores=expected,
        log=lambda m: None,
    )
    assert report["eim"] == {
        **report["eim"],
        "ran": "under qemu-aarch64",
        "same_class": 1.0,
        "windows": 12,
    }
    write_library(lib, tmp_path)
    assert elf_target(tmp_path / "model.eim") == "linux-aarch64" and os.access(
        tmp_path / "model.eim", os.X_OK
    )
    if not Path(
        "/proc/sys/fs/binfmt_misc/qemu-aarch64"
    ).exists():  # the kernel does not hand it to QEMU
        with pytest.raises(EimError, match="Exec format error"):
            EimRunner(tmp_path / "model.eim").start()


def _image_library(tmp_path: Path, color_depth: str):
    channels = 3 if color_depth == "rgb" else 1
    axes = ["red", "green", "blue"] if channels == 3 else ["gray"]
    model = convert(layer(lambda L: L.Dense(2, activation="softmax")), [(1, 8 * 6 * channels)])
    params = get_block("image").validate({"channels": "RGB" if channels == 3 else "Grayscale"})
    spec = ImpulseSpec(
        labels=["red", "blue"],
        dsp_block="image",
        dsp_params=params,
        window_samples=48,
        axes=axes,
        frequency_hz=0.0,
        slice_samples=48,
        title="colours",
        image={"width": 8, "height": 6, "resize_mode": "fit-short", "color_depth": color_depth},
    )
    lib = build_library(model, target="linux-x86_64", impulse=spec)
    write_library(lib, tmp_path)
    return lib, build_eim(tmp_path, target="linux-x86_64")


@pytest.mark.parametrize("color_depth", ["rgb", "grayscale"])
def test_image_runners_take_one_packed_number_per_pixel(tmp_path, color_depth):
    from PIL import Image

    lib, exe = _image_library(tmp_path, color_depth)
    frames = np.random.default_rng(4).integers(0, 256, size=(5, 6, 8, 3), dtype=np.uint8)
    packed = [
        (f[..., 0].astype(np.int64) << 16) + (f[..., 1].astype(np.int64) << 8) + f[..., 2]
        for f in frames
    ]
    if color_depth == "rgb":
        channels = frames.reshape(5, -1).astype(np.float32)
    else:  # what the platform makes of a colour frame: Pillow's "L"
        channels = np.stack([np.asarray(Image.fromarray(f).convert("L")) for f in frames]).reshape(
            5, -1
        )
    subprocess.run(["make", "-C", str(tmp_path), "classify"], check=True, capture_output=True)
    expected = np.frombuffer(
        subprocess.run(
            [str(tmp_path / "classify")],
            input=channels.astype(np.float32).tobytes(),
            capture_output=True,
            check=True,
        ).stdout,
        np.float32,
    ).reshape(5, 3)
    with EimRunner(exe) as runner:
        params = runner.hello["model_parameters"]
        assert (params["image_input_width"], params["image_input_height"]) == (8, 6)
        assert params["image_channel_count"] == (3 if color_depth == "rgb" else 1)
        assert params["image_resize_mode"] == "fit-shortest" and params["sensor"] == 3
        assert params["input_features_count"] == 48 and params["axis_count"] == 1
        got = np.stack([scores(runner.classify(p.ravel()), ["red", "blue"]) for p in packed])
        with pytest.raises(
            EimError, match="pixel 0 is 16777216: each pixel is one number 0xRRGGBB"
        ):
            runner.classify([16777216.0] + [0.0] * 47)
        with pytest.raises(
            EimError, match="classify_continuous: this impulse classifies whole images"
        ):
            runner.classify_continuous([0.0] * 48)
    np.testing.assert_array_equal(got.astype(np.float32), expected[:, :2])
    # the verification's windows (channels 0..255) reach the runner packed the same way
    if color_depth == "rgb":
        np.testing.assert_array_equal(pack_pixels(channels[0], 3), packed[0].ravel())
    else:  # a grey pixel p is 0xpppppp
        np.testing.assert_array_equal(
            pack_pixels(channels[0], 1), channels[0].astype(np.int64) * 0x010101
        )


def test_model_parameters_for_audio_say_continuous_mode():
    spec = ImpulseSpec(
        labels=["yes", "no"],
        dsp_block="mfcc",
        dsp_params={},
        window_samples=16000,
        axes=["audio"],
        frequency_hz=16000.0,
        slice_samples=4000,
    )
    params = model_parameters(spec, spec.labels)
    assert (
        params["sensor"] == 1
        and params["use_continuous_mode"] is True
        and params["slice_size"] == 4000
    )
    assert params["interval_ms"] == 0.0625 and params["has_anomaly"] == 0
    gmm = ImpulseSpec(
        labels=["a"],
        dsp_block="flatten",
        dsp_params={},
        window_samples=10,
        axes=["temp", "hum"],
        frequency_hz=1.0,
        slice_samples=5,
        anomaly={"kind": "gmm"},
    )
    assert (
        model_parameters(gmm, ["a"])["sensor"] == -1
        and model_parameters(gmm, ["a"])["has_anomaly"] == 2
    )


def test_json_and_c_literals_survive_hostile_text():
    text = json_text({"name": 'a "q" \\ {x} ??= é\n', "n": [1, 2.5, True, None]})
    assert "{x}" not in text and json.loads(text) == {
        "name": 'a "q" \\ {x} ??= é\n',
        "n": [1, 2.5, True, None],
    }
    assert text.count("{") == 1 and text.count("}") == 1  # braces only where the object is
    literal = c_string_literal(text, width=10)
    assert "??" not in literal and literal.count('"') >= 2 * math.ceil(len(text) / 10)
    with pytest.raises(ValueError, match="JSON compliant"):
        json_text({"x": float("inf")})
