"""The `tinyforge` command as a user runs it: fresh data directories, a running platform, uploads,
the demo."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.paths import FSDD_DIR, REPO_ROOT, require_shared


def run(
    args: list[str], data_dir: Path, *, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    env.update(TINYFORGE_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"tinyforge {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def processes_of(data_dir: Path, wait_s: float = 20) -> list[str]:
    """Command lines of live processes started with TINYFORGE_DATA_DIR=data_dir (waits up to
    `wait_s` for none)."""
    needle = f"TINYFORGE_DATA_DIR={data_dir}".encode()
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                if needle in environ and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
                    found.append(
                        f"{pid}: "
                        + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    )
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def start_up(data_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    env.update(TINYFORGE_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_until_worker_ready(data_dir: Path, up: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    log = data_dir / "worker.log"
    while not (log.exists() and " ready." in log.read_text(errors="replace")):
        assert up.poll() is None, (
            f"tinyforge up exited {up.returncode}: {up.stdout.read() if up.stdout else ''}"
        )
        assert time.monotonic() < deadline, "the worker did not become ready"
        time.sleep(0.3)


@pytest.mark.worker
@pytest.mark.parametrize(
    "sig",
    [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL],
    ids=["SIGTERM", "SIGHUP", "SIGINT", "SIGKILL"],
)
def test_up_takes_its_worker_along_on_every_signal(tmp_path, sig):
    from app.demo import free_port

    d = tmp_path / "d"
    up = start_up(d, free_port())
    try:
        wait_until_worker_ready(d, up)
        assert len(processes_of(d, wait_s=0)) >= 3, "up, the worker and its pool are running"
        os.kill(up.pid, sig)  # only `up` itself, as a terminal or a service manager would
        up.wait(timeout=60)
        assert processes_of(d) == []
        if sig != signal.SIGKILL:
            assert up.returncode == 0 and "Tinyforge stopped" in up.stdout.read()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(up.pid, signal.SIGKILL)


def test_up_on_a_taken_port_fails_at_once_and_changes_nothing(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        proc = run(["up", "--port", str(port)], tmp_path / "d", check=False, timeout=60)
        elapsed = time.monotonic() - started
    assert proc.returncode == 1 and f"port {port} on 127.0.0.1 is already in use" in proc.stderr
    assert "password" not in proc.stdout + proc.stderr
    assert not (tmp_path / "d").exists(), "nothing was created"
    assert elapsed < 15, f"took {elapsed:.1f} s to give up"


def test_project_create_json_on_a_fresh_data_dir(tmp_path):
    out = json.loads(run(["project", "create", "--name", "Fresh", "--json"], tmp_path / "d").stdout)
    assert set(out) == {"id", "api_key", "hmac_key"}
    assert out["id"] == 1 and out["api_key"].startswith("tf_key_") and len(out["hmac_key"]) == 32
    assert (tmp_path / "d" / "tinyforge.sqlite").exists()


def test_users_and_owners(tmp_path):
    d = tmp_path / "d"
    assert (
        "created user a@example.com"
        in run(
            ["user", "create", "--email", "A@example.com", "--password", "s3cret-pass"], d
        ).stdout
    )
    dup = run(
        ["user", "create", "--email", "a@example.com", "--password", "s3cret-pass"], d, check=False
    )
    assert dup.returncode == 1 and "already exists" in dup.stderr
    short = run(
        ["user", "create", "--email", "b@example.com", "--password", "short"], d, check=False
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    bad = run(
        ["project", "create", "--name", "X", "--owner", "nobody@example.com", "--json"],
        d,
        check=False,
    )
    assert bad.returncode == 1 and "no user with email nobody@example.com" in bad.stderr
    ok = json.loads(
        run(["project", "create", "--name", "Mine", "--owner", "a@example.com", "--json"], d).stdout
    )
    assert ok["id"] == 1
    assert "database at revision" in run(["db", "upgrade"], d).stdout


@pytest.mark.worker
def test_up_then_project_create_and_upload_while_it_runs(tmp_path):
    from app.demo import free_port

    fsdd = require_shared(FSDD_DIR)
    d, port = tmp_path / "d", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    env.update(TINYFORGE_DATA_DIR=str(d), PYTHONPATH=str(REPO_ROOT))
    up = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert up.poll() is None and time.monotonic() < deadline, "tinyforge up did not come up"
            time.sleep(0.3)
        project = json.loads(run(["project", "create", "--name", "Digits", "--json"], d).stdout)
        folder = tmp_path / "upload"
        folder.mkdir()
        for name in ["3_jackson_0.wav", "3_jackson_10.wav", "5_nicolas_1.wav", "5_nicolas_20.wav"]:
            (folder / name).write_bytes((fsdd / name).read_bytes())
        (folder / "broken.json").write_text("{this is not json")
        proc = run(
            [
                "upload",
                str(folder),
                "--url",
                url,
                "--api-key",
                project["api_key"],
                "--label",
                "digit",
            ],
            d,
            check=False,
        )
        assert proc.returncode == 1
        assert "uploaded 4 of 5 files" in proc.stdout and "failed: broken.json:" in proc.stderr
        counts = httpx.get(
            f"{url}/api/{project['id']}/raw-data/label-counts",
            headers={"x-api-key": project["api_key"]},
        ).json()["counts"]
        assert counts["training"].get("digit", 0) + counts["testing"].get("digit", 0) == 4
        missing = run(
            ["upload", str(tmp_path / "nope"), "--url", url, "--api-key", "x"], d, check=False
        )
        assert missing.returncode != 0 and "does not exist" in missing.stderr
    finally:
        from app.core.processes import stop_group

        stop_group(up, grace_s=40)
    out = up.stdout.read()
    assert f"Tinyforge is starting at http://127.0.0.1:{port}" in out
    assert "first user: admin@tinyforge.local  password:" in out


@pytest.mark.worker
@pytest.mark.slow
def test_demo_json_summary(tmp_path):
    proc = run(["demo", "--json"], tmp_path / "d", timeout=600)
    assert processes_of(tmp_path / "d") == [], "the demo left processes running"
    summary = json.loads(proc.stdout)
    assert {"project_id", "test_accuracy", "stages"} <= set(summary)
    assert set(summary["test_accuracy"]) == {"float32", "int8"}
    assert summary["test_accuracy"]["int8"] >= 0.9 and summary["test_accuracy"]["float32"] >= 0.9
    assert summary["anomaly"]["anomaly"]["flagged"] > summary["anomaly"]["testing"]["flagged"]
    assert {"ingest", "features", "train_classification", "test_classification"} <= set(
        summary["stages"]
    )
    assert all(isinstance(v, float) for v in summary["stages"].values())
    assert "platform up at" in proc.stderr and "[train_classification" in proc.stderr
    host = summary["deployments"]["linux-x86_64"]
    assert host["bit_exact"] is True and host["same_class"] == 1.0


def test_demo_refuses_fsdd_without_data(tmp_path):
    proc = run(["demo", "--dataset", "fsdd"], tmp_path / "d", check=False)
    assert proc.returncode == 1 and "needs --data DIR" in proc.stderr


def test_build_cli_host_library_runs_the_stdin_contract(tmp_path):
    import numpy as np

    from tests.paths import MODELS_DIR
    from workers.deploy.package.verify import reference_outputs

    model = require_shared(MODELS_DIR) / "ad01_int8.tflite"
    out = tmp_path / "lib"
    proc = run(
        ["build", str(model), "--target", "linux-x86_64", "--out", str(out), "--verify", "--json"],
        tmp_path / "d",
    )
    manifest = json.loads(proc.stdout)
    assert manifest["bit_exact"] is True and manifest["target"] == "linux-x86_64"
    assert {"arena_bytes", "flash_bytes", "ram_bytes", "instructions", "ops"} <= set(manifest)
    subprocess.run(["make", "-C", str(out)], check=True, capture_output=True)
    inputs = np.random.default_rng(3).integers(-128, 128, size=(4, 640), dtype=np.int8)
    got = subprocess.run(
        [str(out / "example")], input=inputs.tobytes(), capture_output=True, check=True
    ).stdout
    assert got == b"".join(reference_outputs(model.read_bytes(), inputs))


def test_build_cli_optimize_ram_shrinks_the_arena(tmp_path):
    from tests.paths import MODELS_DIR

    model = require_shared(MODELS_DIR) / "kws_ref_model.tflite"
    manifests = {}
    for plan in ("speed", "ram"):
        proc = run(
            ["build", str(model), "--out", str(tmp_path / plan), "--optimize", plan, "--json"],
            tmp_path / "d",
        )
        manifests[plan] = json.loads(proc.stdout)
    assert manifests["ram"]["optimize"] == "ram" and manifests["speed"]["optimize"] == "speed"
    assert (manifests["speed"]["arena_bytes"], manifests["ram"]["arena_bytes"]) == (16000, 9008)
    proc = run(
        ["build", str(model), "--out", str(tmp_path / "x"), "--optimize", "tiny"],
        tmp_path / "d",
        check=False,
    )
    assert proc.returncode != 0 and "'tiny' is not one of 'speed', 'ram'" in proc.stderr


@pytest.mark.toolchain
def test_build_cli_cortex_m55_under_qemu(tmp_path):
    from tests.paths import MODELS_DIR
    from workers.deploy.mcu import toolchain_available

    if not toolchain_available():
        pytest.skip(
            "arm-none-eabi-gcc / qemu-system-arm not installed (scripts/install-toolchain.sh)"
        )
    model = require_shared(MODELS_DIR) / "kws_ref_model.tflite"
    proc = run(
        [
            "build",
            str(model),
            "--target",
            "cortex-m55",
            "--out",
            str(tmp_path / "m55"),
            "--verify",
            "--json",
        ],
        tmp_path / "d",
        timeout=600,
    )
    manifest = json.loads(proc.stdout)
    assert manifest["bit_exact"] is True and manifest["instructions"] > 1_000_000
    assert (
        manifest["flash_bytes"] > manifest["weights_bytes"]
        and manifest["ram_bytes"] >= manifest["arena_bytes"]
    )


def test_build_cli_errors(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"TFL3 but not really a model" * 10)
    proc = run(["build", str(bad), "--out", str(tmp_path / "o")], tmp_path / "d", check=False)
    assert proc.returncode == 1 and "bad.tflite" in proc.stderr
    proc = run(
        ["build", str(bad), "--target", "cortex-m99", "--out", str(tmp_path / "o")],
        tmp_path / "d",
        check=False,
    )
    assert proc.returncode == 1 and "unknown target 'cortex-m99'" in proc.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    proc = run(["build", str(bad), "--out", str(tmp_path / "full")], tmp_path / "d", check=False)
    assert proc.returncode == 1 and "not empty" in proc.stderr


def _batch_model(path: Path, batch: int) -> Path:
    """A small int8 classifier whose input tensor holds `batch` rows ([batch, 8])."""
    import numpy as np
    import tensorflow as tf

    inp = tf.keras.Input(shape=(8,), batch_size=batch)
    hidden = tf.keras.layers.Dense(4, activation="relu")(inp)
    model = tf.keras.Model(inp, tf.keras.layers.Dense(3, activation="softmax")(hidden))
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    conv.representative_dataset = lambda: (
        [rng.normal(size=(batch, 8)).astype(np.float32)] for _ in range(10)
    )
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return path


@pytest.mark.toolchain
def test_build_verify_of_a_batch_4_model_on_cortex_m(tmp_path):
    """Issue 10 item 8: the on-target run fed single rows to a [4, 8] input: a traceback
    (McuRunError: BADSTRIDE). Each inference now gets the whole input tensor, as on the host."""
    from workers.deploy.mcu import toolchain_available

    if not toolchain_available():
        pytest.skip("arm-none-eabi-gcc / qemu-system-arm not installed")
    model = _batch_model(tmp_path / "batch4.tflite", 4)
    proc = run(
        ["build", str(model), "--target", "cortex-m4f", "--out", str(tmp_path / "o"), "--verify"],
        tmp_path / "d",
        check=False,
        timeout=600,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert "20 inferences, outputs equal" in proc.stderr and "bit exact: True" in proc.stdout


def _members(data_dir: Path) -> list[tuple[int, str, str]]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(data_dir / "tinyforge.sqlite")) as db:
        return db.execute(
            "SELECT m.project_id, u.email, m.role FROM project_members m "
            "JOIN users u ON u.id = m.user_id ORDER BY m.project_id, u.email"
        ).fetchall()


def test_project_create_without_owner_goes_to_the_first_admin(tmp_path):
    d = tmp_path / "d"
    first = run(["project", "create", "--name", "Fresh", "--json"], d)
    assert json.loads(first.stdout)["id"] == 1
    assert "first user: admin@tinyforge.local  password: " in first.stderr
    password = first.stderr.split("password: ")[1].split()[0]
    again = run(["project", "create", "--name", "Second", "--json"], d)
    assert "password" not in again.stderr  # the admin exists now
    assert _members(d) == [
        (1, "admin@tinyforge.local", "owner"),
        (2, "admin@tinyforge.local", "owner"),
    ]
    import sqlite3

    from app.core.security import verify_password  # the printed password is the admin's

    with contextlib.closing(sqlite3.connect(d / "tinyforge.sqlite")) as db:
        (hashed,) = db.execute("SELECT password_hash FROM users").fetchone()
    assert verify_password(hashed, password)


def test_set_password_and_add_member(tmp_path):
    import sqlite3

    from app.core.security import verify_password

    d = tmp_path / "d"
    run(["user", "create", "--email", "bo@example.com", "--password", "first-pass"], d)
    run(["project", "create", "--name", "P", "--owner", "bo@example.com"], d)
    out = run(["user", "set-password", "--email", "BO@example.com", "--password", "second-pass"], d)
    assert "password of bo@example.com changed" in out.stdout
    generated = run(["user", "set-password", "--email", "bo@example.com"], d).stdout
    new = generated.strip().rsplit(": ", 1)[1]
    with contextlib.closing(sqlite3.connect(d / "tinyforge.sqlite")) as db:
        (hashed,) = db.execute(
            "SELECT password_hash FROM users WHERE email = 'bo@example.com'"
        ).fetchone()
    assert verify_password(hashed, new) and not verify_password(hashed, "second-pass")
    short = run(
        ["user", "set-password", "--email", "bo@example.com", "--password", "x"], d, check=False
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    nobody = run(["user", "set-password", "--email", "no@example.com"], d, check=False)
    assert nobody.returncode == 1 and "no user with email no@example.com" in nobody.stderr

    run(["user", "create", "--email", "cy@example.com", "--password", "cy-password"], d)
    added = run(["project", "add-member", "--project", "1", "--email", "cy@example.com"], d)
    assert "cy@example.com is now a member of project 1 'P' (role member)" in added.stdout
    twice = run(["project", "add-member", "--project", "1", "--email", "cy@example.com"], d)
    assert "was already a member" in twice.stdout
    assert _members(d) == [(1, "bo@example.com", "owner"), (1, "cy@example.com", "member")]
    missing = run(
        ["project", "add-member", "--project", "9", "--email", "cy@example.com"], d, check=False
    )
    assert missing.returncode == 1 and "project 9 does not exist" in missing.stderr
    stranger = run(
        ["project", "add-member", "--project", "1", "--email", "zz@example.com"], d, check=False
    )
    assert stranger.returncode == 1 and "no user with email zz@example.com" in stranger.stderr


def test_add_member_with_a_role_invite_and_add_key(tmp_path):
    d = tmp_path / "d"
    run(["user", "create", "--email", "bo@example.com", "--password", "first-pass"], d)
    run(["user", "create", "--email", "cy@example.com", "--password", "cy-password"], d)
    run(["project", "create", "--name", "P", "--owner", "bo@example.com"], d)
    out = run(
        ["project", "add-member", "--project", "1", "--email", "cy@example.com", "--role", "admin"],
        d,
    )
    assert "(role admin)" in out.stdout
    run(
        [
            "project",
            "add-member",
            "--project",
            "1",
            "--email",
            "cy@example.com",
            "--role",
            "viewer",
        ],
        d,
    )
    assert _members(d) == [(1, "bo@example.com", "owner"), (1, "cy@example.com", "viewer")]
    last = run(
        ["project", "add-member", "--project", "1", "--email", "bo@example.com", "--role", "admin"],
        d,
        check=False,
    )
    assert last.returncode == 1 and "last owner" in last.stderr
    bad = run(
        ["project", "add-member", "--project", "1", "--email", "cy@example.com", "--role", "boss"],
        d,
        check=False,
    )
    assert bad.returncode == 2 and "boss" in bad.stderr
    link = run(["project", "invite", "1", "--role", "member"], d).stdout.strip()
    assert re.fullmatch(r"http://localhost:8000/invite/[A-Za-z0-9_-]{40,}", link), link
    key = run(["project", "add-key", "1", "--role", "ingestion", "--name", "dev"], d).stdout.strip()
    assert key.startswith("tf_key_")
    with contextlib.closing(sqlite3.connect(d / "tinyforge.sqlite")) as db:
        roles = db.execute("SELECT name, role FROM api_keys ORDER BY id").fetchall()
        actions = [a for (a,) in db.execute("SELECT action FROM audit_events ORDER BY id")]
    assert roles == [("default", "admin"), ("dev", "ingestion")]
    assert actions == ["member.add", "member.role", "invitation.create", "apikey.create"]
