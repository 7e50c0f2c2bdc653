"""Deployment builds: trained (or uploaded) model + the impulse's DSP → verified C library zip."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import UnitOfWork
from app.core.storage import BlobStore
from app.models import Impulse
from app.schemas.impulses import DspBlock, ImageInputBlock, LearnBlock, TimeSeriesInputBlock
from app.schemas.jobs import BuildRequest
from app.services import artifacts, learning, profiles
from app.services import features as feature_service
from app.services import impulses as impulse_service
from app.services.errors import BadRequest, NotFound
from app.services.projects import get_project

if TYPE_CHECKING:
    from workers.deploy.package import ImpulseSpec

MAX_VERIFY = 100


def validate_request(request: BuildRequest) -> dict[str, Any]:
    """The build job's parameters: defaults filled in, Edge Impulse's engine name mapped, every
    choice checked (400 naming the unknown one and the known ones)."""
    from workers.deploy.lifetimes import OPTIMIZE_FOR
    from workers.deploy.package import ENGINES
    from workers.deploy.targets import TARGETS

    engine = request.engine or "compiled"
    optimize = request.optimize or ("ram" if engine == "tflite-eon-ram-optimized" else "speed")
    if engine == "tflite":  # Edge Impulse's name for its TFLM export
        engine = "tflite-micro"
    elif engine in ("tflite-eon", "tflite-eon-ram-optimized"):  # EI's compiled engine (EON)
        engine = "compiled"
    if engine not in ENGINES:
        raise BadRequest(f"engine '{engine}' is not known: use one of {', '.join(ENGINES)}")
    if optimize not in OPTIMIZE_FOR:
        raise BadRequest(
            f"optimize '{optimize}' is not known: use one of {', '.join(OPTIMIZE_FOR)}"
        )
    if optimize != "speed" and engine != "compiled":
        raise BadRequest(f"optimize '{optimize}' applies to the compiled engine only")
    model_type = request.modelType or "int8"
    if model_type not in ("int8", "float32"):
        raise BadRequest(f"modelType '{model_type}' is not known: use int8 or float32")
    target = request.target or "linux-x86_64"
    if target not in TARGETS:
        raise BadRequest(f"target '{target}' is not known: use one of {', '.join(TARGETS)}")
    out = {
        "engine": engine,
        "modelType": model_type,
        "optimize": optimize,
        "target": target,
        **request.model_dump(include={"impulseId", "learnId", "modelId"}, exclude_none=True),
    }
    if "modelId" not in out and "impulseId" not in out:
        raise BadRequest(
            "say what to build: impulseId (a trained impulse) or modelId (an uploaded .tflite)"
        )
    return out


def check_ready_to_build(session: Session, project_id: int, params: dict[str, Any]) -> None:
    """Fail before queueing what would fail in the job: an impulse whose model is not trained
    yet."""
    from app.services import readiness

    if params.get("impulseId") is not None:
        impulse = impulse_service.get_impulse(session, project_id, params["impulseId"])
        block = learning.learn_block(impulse, params.get("learnId"))
        readiness.refuse(readiness.build_blocker(session, impulse, block))
        artifacts.learn_artifact(session, impulse, block.id, "tflite-int8")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "impulse"


def build(
    uow: UnitOfWork,
    store: BlobStore,
    project_id: int,
    params: dict[str, Any],
    *,
    job_id: int | None = None,
    log: Callable[[str], None] = print,
    progress: Callable[[float], None] = lambda p: None,
) -> dict[str, Any]:
    from workers.deploy import CompileError
    from workers.deploy.package import build_library, render_docs, zip_library
    from workers.deploy.package.verify import record_in_manifest, verdict, verify_library
    from workers.deploy.targets import get_target

    p = validate_request(BuildRequest.model_validate(params))
    t0 = time.monotonic()
    left_out: list[str] = []  # learning blocks of the impulse the library goes without, and why
    spec, windows, expected, model_inputs, impulse_id, expected_anomaly = (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    with uow() as session:
        project = get_project(session, project_id)
        project_name, project_board = project.name, profiles.project_board(project)
        if "modelId" in p:
            art = artifacts.uploaded_model(session, project_id, p["modelId"])
            tflite = artifacts.read(store, art)
            title = art.name
        else:
            impulse = impulse_service.get_impulse(session, project_id, p["impulseId"])
            impulse_id = impulse.id
            block = learning.learn_block(impulse, p.get("learnId"))
            if block.is_anomaly:
                raise BadRequest(
                    f"learning block '{block.name}' is {block.type}: build a classifier or "
                    "regression block"
                )
            kind = "tflite-int8" if p["modelType"] == "int8" else "tflite-float32"
            tflite = artifacts.read(
                store, artifacts.learn_artifact(session, impulse, block.id, kind)
            )
            trained = artifacts.read_json(
                store, artifacts.learn_artifact(session, impulse, block.id, "training-results")
            )
            dsp_cfg = impulse_service.dsp_block(impulse, block.dsp[0])
            more_dsp = [
                (c.block, c.params)
                for c in (impulse_service.dsp_block(impulse, d) for d in block.dsp[1:])
            ]
            anomaly = _anomaly_model(session, store, impulse, block)
            left_out = [
                f"anomaly block '{o.name}' is not trained: train it to include it"
                for o in impulse.learn
                if o.anomaly_kind is not None and o.dsp == block.dsp and anomaly is None
            ]
            for reason in left_out:
                log(f"left out of the library: {reason}")
            axes = (
                impulse.input.channels
                if isinstance(impulse.input, ImageInputBlock)
                else _axes(session, impulse)
            )
            spec = _impulse_spec(impulse, dsp_cfg, trained, anomaly, axes)
            spec.more_dsp = more_dsp
            title = f"{project_name} / {impulse.name}"
            data = learning.load_block_features(session, store, impulse, block)
            windows, expected, model_inputs, rows = _verification_data(
                session, store, impulse, data, tflite, trained
            )
            if anomaly is not None and rows is not None:
                expected_anomaly = learning.score_anomaly(
                    anomaly["kind"], anomaly, data["X"][rows].reshape(len(rows), -1)
                )
    log(
        f"building {p['engine']} {p['modelType']} library for {p['target']} "
        f"(optimized for {p.get('optimize', 'speed')}) "
        f"({get_target(p['target']).description})"
    )
    try:
        lib = build_library(
            tflite,
            target=p["target"],
            impulse=spec,
            engine=p["engine"],
            model_type=p["modelType"],
            title=title,
            optimize_for=p.get("optimize", "speed"),
        )
    except CompileError as exc:
        raise BadRequest(f"cannot build the library: {exc}") from exc
    log(
        f"compiled: {len(lib.manifest['ops'])} operators ({', '.join(lib.manifest['ops'])}), arena "
        f"{lib.manifest['arena_bytes']} B (lower bound {lib.manifest['arena_lower_bound_bytes']} "
        f"B), weights {lib.manifest['weights_bytes']} B"
    )
    progress(30)
    if model_inputs is None:
        model_inputs = _random_inputs(lib, MAX_VERIFY)
    if p["engine"] == "compiled":
        report = verify_library(
            lib,
            tflite,
            target=p["target"],
            model_inputs=model_inputs,
            windows=windows,
            expected_scores=expected,
            expected_anomaly=expected_anomaly,
            log=log,
        )
        record_in_manifest(lib.manifest, report)
        failures = verdict(report)
        if failures:
            raise BadRequest("verification failed: " + "; ".join(failures))
        _record_memory(lib.manifest, tflite, p["target"], spec, project_board, log)
    else:
        log(
            "tflite-micro engine: the export is checked for completeness (model bytes, op "
            "resolver, measured arena); building it needs TFLM, which is not part of this machine"
        )
        lib.manifest["bit_exact"] = None
    render_docs(
        lib,
        title=title,
        impulse=spec,
        target_description=get_target(p["target"]).description,
        verified_target=p["target"] if lib.manifest.get("instructions") else None,
    )
    progress(90)
    root = f"tinyforge-{_slug(title)}-{p['target']}"
    blob = zip_library(lib, root=root)
    lib.manifest["seconds"] = round(time.monotonic() - t0, 2)
    if left_out:
        lib.manifest["left_out"] = left_out
    with uow() as session:
        artifact_id = artifacts.save_deployment(
            session,
            store,
            project_id=project_id,
            impulse_id=impulse_id,
            job_id=job_id,
            name=f"{root}.zip",
            data=blob,
            meta={**lib.manifest, "request": p},
        ).id
    log(f"library {root}.zip: {len(blob)} bytes, {len(lib.files)} files")
    return {
        "artifact_id": artifact_id,
        "name": f"{root}.zip",
        "size": len(blob),
        "manifest": lib.manifest,
    }


def _record_memory(
    manifest: dict[str, Any],
    tflite: bytes,
    target: str,
    spec: Any,
    board: str,
    log: Callable[[str], None],
) -> None:
    """The manifest's `ram_bytes` / `flash_bytes` and their breakdowns (`ram`, `flash`): the
    profile's figures for this impulse on a board with the target's core (the project's board when
    it has that core), one definition with the profile API and the dashboard
    (`workers.deploy.profile.memory`). Left as verification measured them when the target is not
    profiled or the toolchain is missing."""
    from workers.deploy.profile.memory import describe_memory

    entry = profiles.impulse_on_target(tflite, target, spec=spec, board=board)
    if entry is None:
        return
    manifest["ram_bytes"] = entry["total"]["ram_bytes"]
    manifest["flash_bytes"] = entry["total"]["flash_bytes"]
    manifest["ram"] = entry["ram"]
    manifest["flash"] = entry["flash"]
    manifest["memory_board"] = entry["board"]
    log(
        f"{target} memory (as the profile of {entry['board']}, docs/profile.md): "
        f"{describe_memory(entry['ram'], entry['flash'])}"
    )


def _anomaly_model(
    session: Session, store: BlobStore, impulse: Impulse, block: LearnBlock
) -> dict | None:
    """The trained anomaly block beside `block` (same processing blocks), its `kind` set from the
    impulse."""
    for other in impulse.learn:
        if other.anomaly_kind is not None and other.dsp == block.dsp:
            try:
                art = artifacts.learn_artifact(session, impulse, other.id, "anomaly-model")
            except NotFound:
                return None
            return {**artifacts.read_json(store, art), "kind": other.anomaly_kind}
    return None


def _axes(session: Session, impulse: Impulse) -> list[str]:
    """The axes the library reads: the impulse's choice, else the sensors of the project's
    samples."""
    from app.models import Sample

    if isinstance(impulse.input, TimeSeriesInputBlock) and impulse.input.axes:
        return list(impulse.input.axes)
    sample = session.scalars(
        select(Sample)
        .where(Sample.project_id == impulse.project_id, Sample.kind == "timeseries")
        .order_by(Sample.id)
        .limit(1)
    ).first()
    if sample is None:
        raise BadRequest("the project has no time-series samples to take the axes from")
    return [s["name"] for s in sample.sensors]


def _impulse_spec(
    impulse: Impulse, dsp_cfg: DspBlock, trained: dict, anomaly: dict | None, axes: list[str]
) -> ImpulseSpec:
    from workers.deploy.package import ImpulseSpec
    from workers.dsp import TimeSeriesInput

    spec = impulse.input
    labels = trained.get("labels") or ["value"]
    if isinstance(spec, ImageInputBlock):  # whole frames: width x height pixels, no sliding window
        pixels = spec.width * spec.height
        return ImpulseSpec(
            labels=labels,
            dsp_block=dsp_cfg.block,
            dsp_params=dsp_cfg.params,
            window_samples=pixels,
            axes=axes,
            frequency_hz=0.0,
            slice_samples=pixels,
            anomaly=anomaly,
            title=impulse.name,
            image=spec.model_dump(exclude={"type"}),
        )
    window = TimeSeriesInput.window_samples(spec.window_size_ms, spec.frequency_hz)
    slice_samples = max(
        1, min(window, TimeSeriesInput.window_samples(spec.window_increase_ms, spec.frequency_hz))
    )
    return ImpulseSpec(
        labels=labels,
        dsp_block=dsp_cfg.block,
        dsp_params=dsp_cfg.params,
        window_samples=window,
        axes=axes,
        frequency_hz=float(spec.frequency_hz),
        slice_samples=slice_samples,
        anomaly=anomaly,
        title=impulse.name,
    )


def _verification_data(
    session: Session,
    store: BlobStore,
    impulse: Impulse,
    data: dict[str, Any],
    tflite: bytes,
    trained: dict,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray, list[int] | None]:
    """Up to MAX_VERIFY real windows (testing first) with the platform's scores, and the model
    inputs."""
    from app.models import Sample
    from workers.learn.evaluate import predict_tflite, quantize_input
    from workers.learn.quantize import tflite_io_details

    cats = data["categories"]
    order = np.concatenate([np.flatnonzero(cats == "testing"), np.flatnonzero(cats == "training")])[
        :MAX_VERIFY
    ]
    X = data["X"][order]
    io = tflite_io_details(tflite)["input"]
    shaped = X.reshape((len(X),) + tuple(io["shape"][1:]))
    model_inputs = (
        quantize_input(shaped, scale=io["scale"], zero_point=io["zero_point"])
        if io["dtype"] == "int8"
        else shaped.astype(np.float32)
    )
    windows, rows = [], []
    by_sample: dict[int, np.ndarray] = {}
    for j in order:
        sid, w = int(data["sample_ids"][j]), int(data["window_index"][j])
        if sid not in by_sample:
            sample = session.get(Sample, sid)
            if sample is None:
                continue
            by_sample[sid] = feature_service.sample_windows(store, sample, impulse.input)
        windows.append(by_sample[sid][w].reshape(-1))
        rows.append(j)
    if not windows:
        return None, None, model_inputs, None
    Xw = data["X"][rows]
    expected = predict_tflite(
        tflite, Xw.reshape((len(Xw),) + tuple(io["shape"][1:])), engine="tflm"
    )
    return np.stack(windows).astype(np.float32), expected, model_inputs, rows


def _random_inputs(lib, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    shape = (n, *lib.compiled.input.shape[1:])
    if lib.compiled.input.dtype == "int8":
        return rng.integers(-128, 128, size=shape, dtype=np.int8)
    return rng.normal(size=shape).astype(np.float32)
