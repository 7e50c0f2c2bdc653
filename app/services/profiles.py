"""Performance profiles of trained learning blocks, per board, int8 beside float32 (issue 11).

The computation is `workers.deploy.profile.profile_model` (pure, no database); this module
loads a block's models, shapes the answer of
`GET /api/{projectId}/impulses/{impulseId}/learn/{learnId}/profile` and stores it as the block's
`profile` artifact (written by the profile job that follows every training).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.core.storage import BlobStore
from app.models import Impulse, Project
from app.schemas.ei import DEFAULT_BOARD
from app.services import artifacts
from app.services.errors import NotFound, ServiceError

PARTS = ("dsp", "model", "anomaly", "total")


def board_names() -> list[str]:
    from workers.deploy.profile import board_names as names

    return names()


def check_board(name: str) -> str:
    """`name` if it is a profiled board preset; a 422 listing the valid ones otherwise."""
    valid = board_names()
    if name not in valid:
        raise ServiceError(f"unknown board {name!r}; valid boards: {', '.join(valid)}", status=422)
    return name


def project_board(project: Project) -> str:
    return project.target_board or DEFAULT_BOARD


def _part(cycles: int | None, clock_hz: int, ram: int | None, flash: int | None) -> dict:
    return {
        "cycles": cycles,
        "latency_ms": None if cycles is None else round(cycles / clock_hz * 1000, 4),
        "ram_bytes": ram,
        "flash_bytes": flash,
    }


def shape_board(entry: dict[str, Any], *, anomaly_block: bool = False) -> dict[str, Any]:
    """One board of a model profile (`profile_model`) as the API's dsp/model/anomaly/total entry.

    The DSP and the anomaly block are not profiled yet: their parts are null and a note says so;
    `total` is then the model's figures."""
    clock = entry["clock_hz"]
    model = _part(entry["cycles"], clock, entry["ram_bytes"], entry["flash_bytes"])
    empty = _part(None, clock, None, None)
    notes = list(entry["notes"])
    notes.append("DSP and anomaly blocks are not profiled yet: total is the model alone")
    return {
        "board": entry["board"],
        "target": entry["target"],
        "mcu": entry["mcu"],
        "clock_hz": clock,
        "board_ram_bytes": entry["board_ram_bytes"],
        "board_flash_bytes": entry["board_flash_bytes"],
        "method": entry["method"],
        "fits": entry["fits"],
        "dsp": empty,
        "model": empty if anomaly_block else model,
        "anomaly": model if anomaly_block else empty,
        "total": dict(model),
        "ram": entry["ram"],
        "flash": entry["flash"],
        "instructions": entry["instructions"],
        "notes": notes,
    }


def profile_models(
    models: dict[str, bytes],
    *,
    boards: Sequence[str] | None = None,
    measure_board: str | None = None,
    log: Callable[[str], None] = lambda m: None,
) -> dict[str, Any]:
    """Profile each model ({"int8": bytes, "float32": bytes}) on the boards: estimates on every
    board; measured under QEMU on `measure_board`'s core when given and the toolchain is there."""
    from workers.deploy.mcu import toolchain_available
    from workers.deploy.profile import profile_model, resolve_boards

    chosen = [b.name for b in resolve_boards(boards)]
    measure_targets: list[str] = []
    if measure_board is not None and toolchain_available():
        measure_targets = [b.target for b in resolve_boards([measure_board])]
    out: dict[str, Any] = {}
    for kind, data in models.items():
        result = profile_model(
            data,
            boards=chosen,
            estimate=not measure_targets,
            measure_targets=measure_targets,
            model_name=kind,
        )
        out[kind] = {
            "model": result["model"],
            "boards": [shape_board(e) for e in result["boards"]],
        }
        for e in result["boards"]:
            if e["method"] == "measured":
                log(
                    f"{kind} on {e['board']} (QEMU, measured): {e['cycles']:,} cycles = "
                    f"{e['latency_ms']:.2f} ms at {e['clock_hz'] / 1e6:g} MHz, RAM {e['ram_bytes']:,} B "
                    f"(arena {e['ram']['arena']:,} + scratch {e['ram']['scratch']:,} + stack "
                    f"{e['ram']['stack']:,} + other {e['ram']['other']:,}), flash {e['flash_bytes']:,} B"
                )
    return out


def _models(session: Session, store: BlobStore, impulse: Impulse, learn_id: int) -> dict:
    models = {}
    for kind, name in (("int8", "tflite-int8"), ("float32", "tflite-float32")):
        try:
            art = artifacts.learn_artifact(session, impulse, learn_id, name)
        except NotFound:
            continue
        models[kind] = store.get(art.blob_key)
    if not models:
        raise NotFound("this learning block has no trained model yet: train it first")
    return models


def learn_profile(
    session: Session,
    store: BlobStore,
    impulse: Impulse,
    learn_id: int,
    *,
    boards: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The stored profile (from the profile job) of a block, or a fresh estimate when there is
    none yet; filtered to `boards` (422 for an unknown one)."""
    for name in boards or ():
        check_board(name)
    try:
        art = artifacts.learn_artifact(session, impulse, learn_id, "profile")
        stored = json.loads(store.get(art.blob_key))
    except NotFound:
        stored = profile_models(_models(session, store, impulse, learn_id))
    if boards:
        wanted = set(boards)
        for kind in ("int8", "float32"):
            if kind in stored:
                stored[kind]["boards"] = [b for b in stored[kind]["boards"] if b["board"] in wanted]
    return stored


def run_profile(
    uow: Callable[[], Any],
    store: BlobStore,
    project_id: int,
    impulse_id: int,
    learn_id: int,
    *,
    job_id: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The profile job: estimate on every board, measure the project's board, store the result."""
    from app.services import impulses as impulse_service

    with uow() as session:
        project = session.get(Project, project_id)
        impulse = impulse_service.get_impulse(session, project_id, impulse_id)
        models = _models(session, store, impulse, learn_id)
        board = project_board(project)
        revision = impulse.revision
    log(f"profiling {', '.join(models)} on {len(board_names())} boards; measuring {board}")
    result = profile_models(models, measure_board=board, log=log)
    result["measured_board"] = board
    with uow() as session:
        impulse = impulse_service.get_impulse(session, project_id, impulse_id)
        artifacts.save_learn_artifact(
            session,
            store,
            impulse,
            learn_id,
            "profile",
            json.dumps(result).encode(),
            revision=revision,
            job_id=job_id,
        )
    return {"boards": len(result.get("int8", result.get("float32", {})).get("boards", []))}
