"""The Linux runner: a linux-* library's impulse as an Edge Impulse ``.eim`` executable.

Edge Impulse's Linux SDKs (``edge-impulse-linux`` for Python and Node, and others) start a model
file as ``model.eim SOCKET_PATH`` and talk JSON to it over that Unix socket: ``hello``, then
``classify`` / ``classify_continuous`` (or their ``*_shm`` forms reading shared memory). The C
program is hand-written (``runtime/tinyforge_eim.c``, ``tinyforge_eim_json.c``); this module

- adds it to a library (`eim_files`: the runtime copies under ``eim/`` and the generated header
  with the hello answer's model parameters, `model_parameters`),
- compiles it for the library's target (`build_eim`: the host compiler, or the cross compiler for
  the other architecture, linked statically so the file runs on any Linux of that architecture),
- runs it (`EimRunner`, a client of the protocol for verification and `tinyforge run-impulse`),
- and checks it during verification (`verify_eim`): the runner must classify the test windows as
  the platform does before it is shipped in the library (``model.eim``, executable).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workers.deploy import cgen
from workers.deploy.ir import CompileError

RUNTIME_DIR = Path(__file__).parent / "runtime"
EIM_NAME = "model.eim"  # in the library's root; `make model.eim` builds it
EIM_DIR = "eim"  # its sources: POSIX C, kept out of src/ so MCU and Arduino builds never see them
RUNTIME_FILES = ("tinyforge_eim.c", "tinyforge_eim_json.c", "tinyforge_eim_json.h")

# Edge Impulse's sensor codes in the hello answer; their runners pick the input device by them
SENSOR_UNKNOWN, SENSOR_MICROPHONE, SENSOR_ACCELEROMETER, SENSOR_CAMERA = -1, 1, 2, 3
# has_anomaly codes
ANOMALY_CODES = {None: 0, "kmeans": 1, "gmm": 2}
# Tinyforge's resize modes under Edge Impulse's names (the image runners resize frames by them)
RESIZE_MODES = {"squash": "squash", "fit-short": "fit-shortest", "fit-long": "fit-longest"}
ENGINE_NONE = 255  # Edge Impulse's code for "none of its inferencing engines"
MICROPHONE_MIN_HZ = 4000.0

# the compiler for a linux target: the host's own when the architectures match, else this one
CROSS_COMPILERS = {"linux-x86_64": "x86_64-linux-gnu-gcc", "linux-aarch64": "aarch64-linux-gnu-gcc"}
MACHINES = {"linux-x86_64": ("x86_64", "amd64"), "linux-aarch64": ("aarch64", "arm64")}
QEMU_USER = {"linux-x86_64": "qemu-x86_64", "linux-aarch64": "qemu-aarch64"}
ELF_MACHINES = {62: "linux-x86_64", 183: "linux-aarch64"}  # e_machine: EM_X86_64, EM_AARCH64
INSTALL_HINT = "scripts/install-toolchain.sh installs gcc-aarch64-linux-gnu and qemu-user"


class EimError(RuntimeError):
    """The runner could not be built, started or asked; the message says why."""


# ---------------------------------------------------------------------------------------------
# What goes into the library


def sensor_code(impulse: Any) -> int:  # ImpulseSpec (not imported: the package imports this module)
    """Edge Impulse's sensor for the impulse: camera for images, microphone for one axis at audio
    rates, accelerometer when the axes are named so, else unknown."""
    if impulse.image:
        return SENSOR_CAMERA
    if len(impulse.axes) == 1 and impulse.frequency_hz >= MICROPHONE_MIN_HZ:
        return SENSOR_MICROPHONE
    if impulse.axes and all("acc" in a.lower() for a in impulse.axes):
        return SENSOR_ACCELEROMETER
    return SENSOR_UNKNOWN


def input_features(impulse: Any) -> int:
    """Numbers in one classify request: the window (samples x axes), or one packed value per
    pixel."""
    if impulse.image:
        return int(impulse.image["width"]) * int(impulse.image["height"])
    return impulse.window_samples * len(impulse.axes)


def model_parameters(impulse: Any, labels: Sequence[str]) -> dict[str, Any]:
    """The hello answer's ``model_parameters``, as Edge Impulse's runner reports them, plus the
    names of the axes (image channels) in the order the impulse reads them."""
    sensor = sensor_code(impulse)
    image = impulse.image or {}
    kind = (impulse.anomaly or {}).get("kind", "kmeans" if impulse.anomaly else None)
    return {
        "axis_count": 1 if image else len(impulse.axes),
        "axis_names": list(
            impulse.axes
        ),  # Tinyforge's addition (the SDKs pass it through): the order it reads
        "frequency": 0 if image else impulse.frequency_hz,
        "has_anomaly": ANOMALY_CODES.get(kind, 0),
        "has_object_tracking": False,
        "image_channel_count": len(impulse.axes) if image else 0,
        "image_input_frames": 1 if image else 0,
        "image_input_height": int(image.get("height", 0)),
        "image_input_width": int(image.get("width", 0)),
        "image_resize_mode": RESIZE_MODES.get(image.get("resize_mode", ""), "none"),
        "inferencing_engine": ENGINE_NONE,
        "input_features_count": input_features(impulse),
        "interval_ms": 0 if image else 1000.0 / impulse.frequency_hz,
        "label_count": len(labels),
        "labels": list(labels),
        "model_type": "classification",
        "sensor": sensor,
        "slice_size": input_features(impulse)
        if image
        else impulse.slice_samples * len(impulse.axes),
        "thresholds": [],
        "use_continuous_mode": sensor == SENSOR_MICROPHONE,
    }


def project_info(title: str, impulse: Any) -> dict[str, Any]:
    return {
        "deploy_version": 1,
        "id": 0,
        "impulse_id": 0,
        "impulse_name": impulse.title,
        "name": title,
        "owner": "Tinyforge",
    }


def json_text(value: Any) -> str:
    """Compact ASCII JSON whose strings carry no literal braces (written as \\u007b / \\u007d): the
    runner clients find where a message ends by counting braces, inside strings too."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json_text(str(k))}:{json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True).replace("{", "\\u007b").replace("}", "\\u007d")
    return json.dumps(value, allow_nan=False)


def c_string_literal(text: str, *, width: int = 96) -> str:
    """ASCII `text` as adjacent C string literals of at most `width` source characters each."""

    def escape(chunk: str) -> str:
        # '?' too: -std=c99 reads trigraphs ("??=" would become '#')
        return chunk.replace("\\", "\\\\").replace('"', '\\"').replace("?", "\\?")

    if not text.isascii() or any(ord(c) < 32 for c in text):
        raise CompileError("the runner's JSON must be printable ASCII")
    chunks = [text[i : i + width] for i in range(0, len(text), width)] or [""]
    return (
        "\\\n    ".join(f'"{escape(c)}"' for c in chunks)
        if len(chunks) > 1
        else f'"{escape(chunks[0])}"'
    )


def eim_files(
    impulse: Any,
    *,
    labels: Sequence[str],
    title: str,
    prefix: str,
    banner: str,
    runtime_banner: str,
) -> dict[str, str]:
    """The runner's files in a library: ``eim/<prefix>eim*.c/.h`` and ``eim/<prefix>eim_info.h``."""
    files = {}
    for name in RUNTIME_FILES:
        relname, text = cgen.runtime_source(RUNTIME_DIR / name, prefix)
        files[f"{EIM_DIR}/{relname}"] = runtime_banner + "\n" + text
    files[f"{EIM_DIR}/{prefix}eim_info.h"] = cgen.render(
        "package/eim_info.h.j2",
        prefix=prefix,
        banner=banner,
        image=bool(impulse.image),
        input_features=input_features(impulse),
        project_json=c_string_literal(json_text(project_info(title, impulse))),
        model_parameters_json=c_string_literal(json_text(model_parameters(impulse, labels))),
    )
    return files


def eim_sources(files: dict[str, Any]) -> list[str]:
    return sorted(p for p in files if p.startswith(f"{EIM_DIR}/") and p.endswith(".c"))


# ---------------------------------------------------------------------------------------------
# Building and running


def host_target() -> str | None:
    """The linux target this machine runs natively, None elsewhere."""
    machine = platform.machine().lower()
    return (
        next((t for t, names in MACHINES.items() if machine in names), None)
        if os.name == "posix"
        else None
    )


def compiler_for(target: str) -> str:
    """The C compiler that makes executables for `target` here; EimError when none is installed."""
    if target not in MACHINES:
        raise EimError(
            "the Linux runner (model.eim) exists for linux-x86_64 and linux-aarch64 "
            f"builds, not for {target}"
        )
    cc = os.environ.get("CC", "cc") if host_target() == target else CROSS_COMPILERS[target]
    if shutil.which(cc) is None:
        raise EimError(f"no C compiler for {target}: {cc} is not installed ({INSTALL_HINT})")
    return cc


def launcher_for(target: str) -> list[str]:
    """How to start a `target` executable here: directly, or under QEMU user-mode emulation."""
    if host_target() == target:
        return []
    qemu = QEMU_USER[target]
    if shutil.which(qemu) is None:
        raise EimError(
            f"cannot run a {target} executable on this {platform.machine()} machine: {qemu} is not "
            f"installed ({INSTALL_HINT})"
        )
    return [qemu]


def elf_target(path: Path) -> str | None:
    """The linux target an ELF executable was built for (None: not a 64-bit ELF we know)."""
    head = Path(path).read_bytes()[:20]
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[4] != 2:
        return None
    return ELF_MACHINES.get(int.from_bytes(head[18:20], "little" if head[5] == 1 else "big"))


def build_eim(lib_dir: Path, *, target: str, static: bool = True) -> Path:
    """Compile ``model.eim`` in a written library folder for `target`; its path. EimError naming the
    reason (no runner in this library, no compiler, a compile error)."""
    lib_dir = Path(lib_dir)
    cc = compiler_for(target)
    if not any((lib_dir / EIM_DIR).glob("*eim.c")):
        raise EimError(
            f"{lib_dir} has no Linux runner: it is built into linux-x86_64 and linux-aarch64 "
            "deployments of an impulse"
        )
    args = ["make", "-C", str(lib_dir), EIM_NAME, f"CC={cc}"] + (
        ["EIM_LDFLAGS=-static -s"] if static else []
    )
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise EimError(
            f"model.eim does not build for {target}:\n{(done.stderr or done.stdout)[-3000:]}"
        )
    return lib_dir / EIM_NAME


class EimRunner:
    """A client of the runner protocol: starts ``model.eim SOCKET`` (optionally under a launcher
    such as qemu-aarch64) and sends JSON requests. Use as a context manager; `hello` holds the model
    parameters after `start`."""

    def __init__(
        self, path: Path, *, launcher: Sequence[str] = (), timeout_s: float = 60.0
    ) -> None:
        self.path = Path(path)
        self.launcher = list(launcher)
        self.timeout_s = timeout_s
        self.hello: dict[str, Any] = {}
        self._dir: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._id = 0

    def __enter__(self) -> EimRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> dict[str, Any]:
        if not self.path.is_file():
            raise EimError(f"{self.path} does not exist")
        if not os.access(self.path, os.X_OK):
            raise EimError(f"{self.path} is not executable (chmod +x it)")
        self._dir = tempfile.TemporaryDirectory(prefix="tinyforge-eim-")
        sock_path = os.path.join(self._dir.name, "runner.sock")
        try:
            self._proc = subprocess.Popen(
                [*self.launcher, str(self.path), sock_path],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            self.close()
            raise EimError(f"cannot start {self.path}: {exc}") from exc
        deadline = time.monotonic() + self.timeout_s
        while not os.path.exists(sock_path):
            if self._proc.poll() is not None:
                out = (
                    self._proc.stdout.read().decode(errors="replace").strip()
                    if self._proc.stdout
                    else ""
                )
                code = self._proc.returncode
                self.close()
                raise EimError(
                    f"{self.path.name} exited with status {code} before listening: {out}"
                )
            if time.monotonic() > deadline:
                self.close()
                raise EimError(
                    f"{self.path.name} did not open its socket within {self.timeout_s:g} s"
                )
            time.sleep(0.02)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(self.timeout_s)
        while True:
            try:
                self._sock.connect(sock_path)
                break
            except ConnectionRefusedError:  # bound but not listening yet
                if time.monotonic() > deadline:
                    self.close()
                    raise
                time.sleep(0.02)
        self.hello = self.send({"hello": 1})
        return self.hello

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        """One request, its answer; EimError with the runner's reason when it answers success:
        false."""
        if self._sock is None:
            raise EimError("the runner is not started")
        self._id += 1
        self._sock.sendall(json.dumps({**message, "id": self._id}).encode())
        data = b""
        while not data.endswith(b"\0"):
            chunk = self._sock.recv(65536)
            if not chunk:
                raise EimError(f"{self.path.name} closed the connection")
            data += chunk
        answer = json.loads(data[:-1])
        if answer.get("id") != self._id:
            raise EimError(f"answer to request {answer.get('id')} while waiting for {self._id}")
        if not answer.get("success"):
            raise EimError(str(answer.get("error")))
        return answer

    def classify(self, values: Sequence[float] | np.ndarray) -> dict[str, Any]:
        return self.send({"classify": np.asarray(values, np.float64).ravel().tolist()})["result"]

    def classify_continuous(self, values: Sequence[float] | np.ndarray) -> dict[str, Any]:
        return self.send({"classify_continuous": np.asarray(values, np.float64).ravel().tolist()})[
            "result"
        ]

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def pack_pixels(window: np.ndarray, channels: int) -> np.ndarray:
    """An image window (pixels row by row, `channels` values 0..255 each) as the runner takes it:
    one number 0xRRGGBB per pixel (grey pixels as 0xGGGGGG), as Edge Impulse's image runners
    send."""
    px = np.rint(np.asarray(window, np.float64).reshape(-1, channels)).astype(np.int64)
    if channels == 1:
        px = np.repeat(px, 3, axis=1)
    return (px[:, 0] << 16) + (px[:, 1] << 8) + px[:, 2]


def request_values(manifest: dict[str, Any], window: np.ndarray) -> np.ndarray:
    """What a classify request carries for one window of the library's impulse."""
    image = (manifest.get("dsp") or {}).get("image")
    if image:
        return pack_pixels(window, len(manifest["dsp"]["axes"]))
    return np.asarray(window, np.float32).ravel()


def scores(result: dict[str, Any], labels: Sequence[str]) -> np.ndarray:
    """A classify result's scores in label order."""
    return np.array([result["classification"][lab] for lab in labels], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Verification


def verify_eim(
    lib: Any,
    lib_dir: Path,
    *,
    target: str,
    windows: np.ndarray,
    expected_scores: np.ndarray,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Build the runner for `target` in the written library `lib_dir`, run it on the windows through
    the protocol (under QEMU for the other architecture) and compare its classes with the
    platform's. When it agrees on every window it goes into `lib` as ``model.eim`` (executable).
    Returns the report part; a runner that cannot be built or run here is skipped with the
    reason."""
    try:
        exe = build_eim(lib_dir, target=target)
        launcher = launcher_for(target)
    except EimError as exc:
        if host_target() == target:
            raise  # the host can always build its own runner: this is a defect, not a missing tool
        log(f"Linux runner (model.eim) for {target}: skipped, {exc}")
        return {"skipped": str(exc)}
    labels = lib.manifest["labels"]
    rows = np.asarray(windows, np.float32).reshape(len(windows), -1)
    with EimRunner(exe, launcher=launcher) as runner:
        got = np.stack(
            [scores(runner.classify(request_values(lib.manifest, row)), labels) for row in rows]
        )
    same = float((got.argmax(1) == np.asarray(expected_scores).argmax(1)).mean())
    where = f"under {launcher[0]}" if launcher else "on the host"
    part = {
        "windows": int(len(rows)),
        "same_class": same,
        "ran": where,
        "static": True,
        "bytes": exe.stat().st_size,
    }
    log(
        f"Linux runner (model.eim, {target}) {where} through Edge Impulse's runner protocol on "
        f"{len(rows)} windows: same class {100 * same:.1f}%"
    )
    if same == 1.0:
        lib.files[EIM_NAME] = exe.read_bytes()
        lib.executables.add(EIM_NAME)
    else:
        log("model.eim is not shipped: it classifies windows differently from the platform")
    return part
