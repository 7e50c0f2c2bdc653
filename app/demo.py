"""`tinyforge demo`: the whole platform on the embedded defaults, driven through its own API.

Starts the platform (web server + a real Celery worker), creates a project, ingests a data set
through the ingestion API (synthetic motion, signed with the project's HMAC key; or the Free
Spoken Digit Dataset), designs an impulse, generates features, trains float32 + int8 models and
tests them — every step through the HTTP API, every job on the worker.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.client import TinyforgeClient
from app.schemas.impulses import KEYWORDS_EXAMPLE, MOTION_EXAMPLE, ImpulseCreate, LearnBlockSpec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_platform(port: int, *, echo: Callable[[str], None], env: dict[str, str] | None = None):
    """Run `tinyforge up` in a child process until the block ends; yield its URL."""
    from app.core.processes import start_child, stop_group

    url = f"http://127.0.0.1:{port}"
    proc = start_child(
        [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(
                    f"the platform exited with code {proc.returncode}:\n{out[-3000:]}"
                )
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the platform did not answer on /api/health within 120 s")
            time.sleep(0.3)
        echo(f"platform up at {url}")
        yield url
    finally:
        stop_group(proc, grace_s=40)  # `up` stops its worker first (up to 15 s)


MOTION_IMPULSE = ImpulseCreate.model_validate(MOTION_EXAMPLE)
FSDD_IMPULSE = ImpulseCreate.model_validate(KEYWORDS_EXAMPLE)


def _motion_files(n_per_label: int):
    """(category, file name, body) of a signed-later synthetic motion data set plus a few
    anomalies."""
    import numpy as np

    from app.synthetic import anomaly_sample, motion_dataset

    out = [
        ("training", f"{label}.{i:03d}.json", label, values)
        for i, (label, values) in enumerate(motion_dataset(n_per_label, seed=0))
    ]
    out += [
        ("testing", f"{label}.t{i:03d}.json", label, values)
        for i, (label, values) in enumerate(motion_dataset(max(2, n_per_label // 4), seed=1))
    ]
    rng = np.random.default_rng(2)
    out += [
        ("anomaly", f"anomaly.{i:03d}.json", "anomaly", anomaly_sample(rng=rng)) for i in range(4)
    ]
    return out


def _fsdd_files(data_dir: Path) -> list[tuple[str, Path]]:
    """FSDD convention: `{digit}_{speaker}_{index}.wav`; indices 0-4 are the test set."""
    files = sorted(data_dir.glob("*.wav"))
    if not files:
        raise RuntimeError(
            f"no .wav recordings found in {data_dir} (expected the Free Spoken Digit Dataset)"
        )
    out = []
    for f in files:
        parts = f.stem.split("_")
        if len(parts) != 3 or not parts[2].isdigit():
            raise RuntimeError(
                f"{f.name} is not named like the FSDD ({{digit}}_{{speaker}}_{{index}}.wav)"
            )
        out.append(("testing" if int(parts[2]) <= 4 else "training", f))
    return out


def _with_epochs(body: ImpulseCreate, epochs: int) -> ImpulseCreate:
    """The impulse with its classifier trained for `epochs`."""

    def set_epochs(block: LearnBlockSpec) -> LearnBlockSpec:
        settings = block.settings or {}
        training = {**settings.get("training", {}), "epochs": epochs}
        return block.model_copy(update={"settings": {**settings, "training": training}})

    learn = [set_epochs(b) if b.type == "classification" else b for b in body.learn or []]
    return body.model_copy(update={"learn": learn})


def run_pipeline(
    client: TinyforgeClient,
    project_id: int,
    hmac_key: str,
    *,
    dataset: str = "motion",
    data_dir: Path | None = None,
    n_per_label: int = 20,
    epochs: int | None = None,
    echo: Callable[[str], None] = print,
    stages: dict[str, float] | None = None,
    build_targets: tuple[str, ...] = (),
) -> dict:
    """Ingest a data set into an existing project and run impulse → features → train → test (→
    build) via the API."""
    from app.ingestion import sign_acquisition

    stages = {} if stages is None else stages
    t = time.monotonic()
    if dataset == "motion":
        files = _motion_files(n_per_label)
        for category, name, label, values in files:
            payload = {
                "device_name": "demo-board-01",
                "device_type": "TINYFORGE_DEMO",
                "interval_ms": 16,
                "sensors": [{"name": f"acc{a}", "units": "m/s2"} for a in "XYZ"],
                "values": values.round(4).tolist(),
            }
            client.ingest(
                category, sign_acquisition(payload, hmac_key=hmac_key), file_name=name, label=label
            )
        impulse_body = MOTION_IMPULSE
    else:
        if data_dir is None:
            raise RuntimeError("dataset fsdd needs data_dir: the folder of FSDD recordings")
        files = _fsdd_files(Path(data_dir))
        for category in ("training", "testing"):
            chosen = [f for c, f in files if c == category]
            for i in range(0, len(chosen), 50):
                batch = chosen[i : i + 50]
                for digit in sorted({f.name[0] for f in batch}):
                    part = [(f.name, f.read_bytes()) for f in batch if f.name[0] == digit]
                    body = client.upload_files(category, part, label=digit)
                    bad = [r for r in body.get("files", []) if not r.get("success")]
                    if bad or not body.get("files"):
                        raise RuntimeError(f"upload failed: {bad or body}")
            echo(f"  uploaded {len(chosen)} {category} recordings")
        impulse_body = FSDD_IMPULSE
    counts = client.get(f"/api/{project_id}/raw-data/label-counts")["counts"]
    echo(
        f"ingested {len(files)} samples: "
        + ", ".join(f"{c} {sum(v.values())}" for c, v in counts.items() if v)
    )
    stages["ingest"] = round(time.monotonic() - t, 2)

    if epochs is not None:
        impulse_body = _with_epochs(impulse_body, epochs)
    learn = impulse_body.learn or []
    impulse_id = client.post(
        f"/api/{project_id}/impulses", json=impulse_body.model_dump(mode="json", exclude_none=True)
    )["id"]
    echo(f"designed impulse {impulse_id}: {impulse_body.name}")

    def job(stage: str, path: str, body: dict) -> dict:
        t = time.monotonic()
        job_id = client.post(f"/api/{project_id}/jobs/{path}", json=body)["id"]
        result = client.wait_for_job(
            project_id,
            job_id,
            timeout=3600,
            on_line=lambda line: echo(f"  [{stage} {job_id}] {line}"),
        )
        stages[stage] = round(time.monotonic() - t, 2)
        if result["status"] != "succeeded":
            raise RuntimeError(f"{stage} job {job_id} {result['status']}: {result.get('error')}")
        return result

    job("features", "generate-features", {"impulseId": impulse_id})
    summary: dict = {
        "project_id": project_id,
        "dataset": dataset,
        "samples": len(files),
        "counts": counts,
        "impulse_id": impulse_id,
        "stages": stages,
    }
    for block in learn:
        trained = job(
            f"train_{block.type}", "train", {"impulseId": impulse_id, "learnId": block.id}
        )
        tested = job(f"test_{block.type}", "test", {"impulseId": impulse_id, "learnId": block.id})
        if block.type == "classification":
            summary["validation_accuracy"] = {
                k: v["accuracy"] for k, v in trained["result"]["validation"].items()
            }
            summary["test_accuracy"] = tested["result"]["accuracy"]
            summary["model"] = {
                "parameters": trained["result"]["card"]["parameters"],
                "macs": trained["result"]["card"]["macs"],
                "int8_bytes": trained["result"]["card"]["file_bytes"],
                "operators": trained["result"]["card"]["operators"],
            }
        else:
            summary["anomaly"] = tested["result"]["per_category"]
    classifier = next(b for b in learn if b.type == "classification")
    for target in build_targets:
        built = job(
            f"build_{target}",
            "build-ondevice-model",
            {
                "impulseId": impulse_id,
                "learnId": classifier.id,
                "engine": "compiled",
                "modelType": "int8",
                "target": target,
            },
        )
        m = built["result"]["manifest"]
        summary.setdefault("deployments", {})[target] = {
            "bit_exact": m.get("bit_exact"),
            "arena_bytes": m.get("arena_bytes"),
            "flash_bytes": m.get("flash_bytes"),
            "ram_bytes": m.get("ram_bytes"),
            "instructions": m.get("instructions"),
            "zip": built["result"]["name"],
            "same_class": (m.get("verification") or {}).get("impulse", {}).get("same_class"),
        }

    summary.setdefault("test_accuracy", {"float32": None, "int8": None})
    return summary


def default_build_targets() -> tuple[str, ...]:
    """The host, plus an emulated Cortex-M4F when the Arm toolchain and QEMU are installed."""
    from workers.deploy.mcu import toolchain_available

    return ("linux-x86_64", "cortex-m4f") if toolchain_available() else ("linux-x86_64",)


def dashboard_access(
    project_id: int, email: str, password: str | None, *, url: str | None = None
) -> dict:
    """Where and as whom to see the demo's project: the URL `tinyforge up` serves (or the demo's
    own server with --keep), the project's page, the user and its password (None when the user
    existed before this run: its password was printed then; `tinyforge user set-password` resets
    it)."""
    base = url or "http://127.0.0.1:8000"
    return {
        "url": f"{base}/login",
        "project_url": f"{base}/projects/{project_id}",
        "start": None if url else "tinyforge up",
        "user": email,
        "password": password,
        "reset_password": f"tinyforge user set-password --email {email}",
    }


def dashboard_text(access: dict) -> str:
    start = f"run `{access['start']}`, then " if access["start"] else ""
    password = (
        f"password {access['password']}"
        if access["password"]
        else f"your password (forgot it? `{access['reset_password']}`)"
    )
    return (
        f"see it in the dashboard: {start}open {access['url']} and sign in as {access['user']}, "
        f"{password}; the project is at {access['project_url']}"
    )


def run_demo(
    *,
    port: int = 0,
    keep: bool = False,
    echo: Callable[[str], None] = print,
    dataset: str = "motion",
    data_dir: Path | None = None,
    n_per_label: int = 20,
    epochs: int | None = None,
    build_targets: tuple[str, ...] | None = None,
) -> dict:
    """Ingest → impulse → features → train (float32 + int8) → test, through the platform's own
    API."""
    from app.core.db import session_scope, upgrade
    from app.services import projects, users

    if dataset not in ("motion", "fsdd"):
        raise RuntimeError(f"unknown dataset '{dataset}': use motion or fsdd")
    if dataset == "fsdd" and (data_dir is None or not Path(data_dir).is_dir()):
        raise RuntimeError("--dataset fsdd needs --data DIR pointing at the FSDD recordings")
    stages: dict[str, float] = {}
    t0 = time.monotonic()
    build_targets = default_build_targets() if build_targets is None else build_targets
    upgrade()
    with session_scope() as session:  # before `tinyforge up` would make it, unseen by the user
        owner, password = users.ensure_first_admin(session)
        owner_email = owner.email
    port = port or free_port()
    with running_platform(port, echo=echo) as url:
        stages["start"] = round(time.monotonic() - t0, 2)

        t = time.monotonic()
        with session_scope() as session:
            new = projects.create_project(
                session,
                name=f"{dataset} demo {time.strftime('%Y-%m-%d %H:%M:%S')}",
                owner=users.get_by_email(session, owner_email),
            )
            project_id, api_key, hmac_key = new.project.id, new.api_key, new.hmac_key
        echo(f"created project {project_id} owned by {owner_email}")
        stages["create_project"] = round(time.monotonic() - t, 2)

        with TinyforgeClient(url, api_key) as client:
            summary = run_pipeline(
                client,
                project_id,
                hmac_key,
                dataset=dataset,
                data_dir=data_dir,
                n_per_label=n_per_label,
                epochs=epochs,
                echo=echo,
                stages=stages,
                build_targets=build_targets,
            )
        summary["url"] = url
        summary["dashboard"] = dashboard_access(
            project_id, owner_email, password, url=url if keep else None
        )
        summary.setdefault("test_accuracy", {"float32": None, "int8": None})
        stages["total"] = round(time.monotonic() - t0, 2)
        acc = summary["test_accuracy"]
        echo(f"test accuracy: float32 {acc['float32']}, int8 {acc['int8']}")
        echo(dashboard_text(summary["dashboard"]))
        if keep:
            echo(f"platform still running at {url} (Ctrl-C to stop); API key {api_key}")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return summary
