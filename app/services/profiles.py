"""Performance profiles of trained learning blocks, per board, int8 beside float32 (issue 11).

The computation is `workers.deploy.profile.profile_model` (pure, no database); this module
loads a block's models, shapes the answer of
`GET /api/{projectId}/impulses/{impulseId}/learn/{learnId}/profile` and stores it as the block's
`profile` artifact (written by the profile job that follows every training).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
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


def shape_board(
    entry: dict[str, Any], dsp: Any = None, anomaly: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One board of a model profile (`profile_model`) as the API's dsp/model/anomaly/total entry.

    `dsp`: the processing blocks measured on the board's core (`profile.dsp.DspMeasurement`),
    None, or why it could not be measured (then the DSP part is null and the notes say so).
    `anomaly`: the trained anomaly block's model (K-means or GMM), costed from its dimensions
    (`profile.anomaly`), or None.
    RAM total = window buffer + DSP working memory + arena + kernel scratch + the deepest of the
    stacks (DSP, model, anomaly scorer) + static data; flash total = code + weights + DSP tables
    + anomaly tables. Cycles total = DSP + model + anomaly."""
    from workers.deploy.profile.cycles import cycles_from_classes
    from workers.deploy.profile.memory import impulse_memory, memory_totals

    clock = entry["clock_hz"]
    model = _part(entry["cycles"], clock, entry["ram_bytes"], entry["flash_bytes"])
    empty = _part(None, clock, None, None)
    notes = list(entry["notes"])
    cycles = entry["cycles"]
    dsp_part = empty
    if isinstance(dsp, str):  # why this core's DSP could not be measured
        notes.append(dsp)
        dsp = None
    elif dsp is not None:
        dsp_cycles = cycles_from_classes(
            dsp.classes, entry["target"], flash_wait_states=entry["flash_wait_states"]
        ).cycles
        dsp_part = _part(dsp_cycles, clock, dsp.ram_bytes, dsp.flash_bytes)
        cycles += dsp_cycles
    if dsp is None:
        notes.append("the DSP is not profiled in this answer: total is without it")
    ram, flash = impulse_memory(entry["ram"], entry["flash"], dsp=dsp)
    total = _part(cycles, clock, *memory_totals(ram, flash))
    board_ram, board_flash = entry["board_ram_bytes"], entry["board_flash_bytes"]
    board = {
        "board": entry["board"],
        "target": entry["target"],
        "mcu": entry["mcu"],
        "clock_hz": clock,
        "board_ram_bytes": board_ram,
        "board_flash_bytes": board_flash,
        "flash_wait_states": entry["flash_wait_states"],
        "method": entry["method"],
        "fits": _fits(total, board_ram, board_flash),
        "dsp": dsp_part,
        "model": model,
        "anomaly": empty,
        "total": total,
        "ram": ram,
        "flash": flash,
        "instructions": entry["instructions"],
        "notes": notes,
    }
    return with_anomaly(board, anomaly)


def _fits(total: dict, board_ram: int | None, board_flash: int | None) -> bool:
    return (board_ram is None or total["ram_bytes"] <= board_ram) and (
        board_flash is None or total["flash_bytes"] <= board_flash
    )


def with_anomaly(board: dict[str, Any], anomaly: dict[str, Any] | None) -> dict[str, Any]:
    """`board` (a shaped entry without anomaly part) with the anomaly scorer's cost added to its
    parts, breakdowns and total; `board` itself when `anomaly` is None. Applied when the profile is
    read, so a block trained after the classifier's profile job still counts."""
    from workers.deploy.profile.anomaly import NOTE, anomaly_cost
    from workers.deploy.profile.memory import impulse_memory, memory_totals

    if anomaly is None or board["anomaly"]["cycles"] is not None:
        return board
    cost = anomaly_cost(
        anomaly, board["target"], flash_wait_states=board.get("flash_wait_states", 0)
    )
    clock = board["clock_hz"]
    ram, flash = impulse_memory(board["ram"], board["flash"], anomaly=cost)
    total = _part(board["total"]["cycles"] + cost["cycles"], clock, *memory_totals(ram, flash))
    return {
        **board,
        "anomaly": _part(cost["cycles"], clock, cost["ram_bytes"], cost["flash_bytes"]),
        "total": total,
        "ram": ram,
        "flash": flash,
        "fits": _fits(total, board["board_ram_bytes"], board["board_flash_bytes"]),
        "notes": [*board["notes"], NOTE],
    }


def profile_models(
    models: dict[str, bytes],
    *,
    boards: Sequence[str] | None = None,
    measure_board: str | None = None,
    dsp: dict[str, Any] | None = None,
    anomaly: dict[str, Any] | None = None,
    log: Callable[[str], None] = lambda m: None,
) -> dict[str, Any]:
    """Profile each model ({"int8": bytes, "float32": bytes}) on the boards: estimates on every
    board; measured under QEMU on `measure_board`'s core when given and the toolchain is there.
    `dsp`: measured processing blocks per target; `anomaly`: the trained anomaly block beside."""
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
            "boards": [
                shape_board(e, (dsp or {}).get(e["target"]), anomaly) for e in result["boards"]
            ],
        }
        for e in result["boards"]:
            if e["method"] == "measured":
                log(
                    f"{kind} on {e['board']} (QEMU, measured): {e['cycles']:,} cycles = "
                    f"{e['latency_ms']:.2f} ms at {e['clock_hz'] / 1e6:g} MHz, RAM "
                    f"{e['ram_bytes']:,} B "
                    f"(arena {e['ram']['arena']:,} + scratch {e['ram']['scratch']:,} + stack "
                    f"{e['ram']['stack']:,} + other {e['ram']['other']:,}), flash "
                    f"{e['flash_bytes']:,} B"
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


def _anomaly(session: Session, store: BlobStore, impulse: Impulse, learn_id: int) -> dict | None:
    """The trained anomaly block that scores beside block `learn_id` (same processing blocks), as
    the deployment compiles it; None when there is none (or `learn_id` is the anomaly block)."""
    from app.services import deployment, learning

    block = learning.learn_block(impulse, learn_id)
    if block.anomaly_kind is not None:
        return None
    return deployment._anomaly_model(session, store, impulse, block)


def stored_profile(
    session: Session, store: BlobStore, impulse: Impulse, learn_id: int
) -> dict[str, Any] | None:
    """The profile job's stored result for a block with the anomaly block beside it (as trained
    now) costed in (`with_anomaly`): what the API and the dashboard show; None before the job."""
    try:
        art = artifacts.learn_artifact(session, impulse, learn_id, "profile")
    except NotFound:
        return None
    return _with_anomaly_all(
        json.loads(store.get(art.blob_key)), _anomaly(session, store, impulse, learn_id)
    )


def _with_anomaly_all(prof: dict[str, Any], anomaly: dict[str, Any] | None) -> dict[str, Any]:
    for kind in ("int8", "float32"):
        if kind in prof:
            prof[kind]["boards"] = [with_anomaly(b, anomaly) for b in prof[kind]["boards"]]
    return prof


def learn_profile(
    session: Session,
    store: BlobStore,
    impulse: Impulse,
    learn_id: int,
    *,
    boards: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The stored profile (`stored_profile`) of a block, or a fresh estimate when there is none
    yet, with the anomaly block costed in; filtered to `boards` (422 for an unknown one)."""
    for name in boards or ():
        check_board(name)
    stored = stored_profile(session, store, impulse, learn_id)
    if stored is None:
        stored = _with_anomaly_all(
            profile_models(_models(session, store, impulse, learn_id)),
            _anomaly(session, store, impulse, learn_id),
        )
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
    dsp = _measure_dsp(uow, project_id, impulse_id, learn_id, log)
    result = profile_models(models, measure_board=board, dsp=dsp, log=log)
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


def _measure_dsp(uow, project_id: int, impulse_id: int, learn_id: int, log) -> dict | None:
    """The block's processing blocks, as the library emits them, measured on every core under
    QEMU (one window each); None without the toolchain or for an impulse the C DSP cannot build."""
    from app.schemas.impulses import ImageInputBlock
    from app.services import deployment, learning
    from app.services import impulses as impulse_service
    from workers.deploy.dsp import DspBuildError, emit_dsp_chain
    from workers.deploy.mcu import toolchain_available
    from workers.deploy.profile import PROFILE_BOARDS

    if not toolchain_available():
        log("the Arm toolchain is not installed: the DSP is not profiled")
        return None
    with uow() as session:
        impulse = impulse_service.get_impulse(session, project_id, impulse_id)
        block = learning.learn_block(impulse, learn_id)
        cfgs = [impulse_service.dsp_block(impulse, d) for d in block.dsp]
        try:
            axes = (  # as the deployment builder takes them
                impulse.input.channels
                if isinstance(impulse.input, ImageInputBlock)
                else deployment._axes(session, impulse)
            )
            spec = deployment._impulse_spec(impulse, cfgs[0], {}, None, axes)
        except ServiceError as exc:
            log(f"the DSP is not profiled: {exc.message}")
            return None
    try:
        emission = emit_dsp_chain(
            [(c.block, c.params) for c in cfgs],
            window_samples=spec.window_samples,
            n_axes=len(spec.axes),
            frequency_hz=spec.frequency_hz,
        )
    except DspBuildError as exc:
        log(f"the DSP is not profiled: {exc}")
        return None
    return measure_dsp_per_target(emission, dict.fromkeys(b.target for b in PROFILE_BOARDS), log)


def measure_dsp_per_target(
    emission, targets: Iterable[str], log: Callable[[str], None]
) -> dict[str, Any]:
    """The processing blocks measured on each core. A core whose emulated machine cannot hold
    them (an 8 kHz MFCC window on the M0+'s 16 kB micro:bit) gets the reason instead of a
    measurement: its boards say the DSP is not profiled, and the other cores are still measured."""
    from workers.deploy.mcu.errors import McuDoesNotFitError

    out: dict[str, Any] = {}
    for target in targets:
        try:
            out[target] = _measure_dsp_on(emission, target, log)
        except McuDoesNotFitError as exc:
            reason = str(exc).splitlines()[0]
            log(f"the DSP is not profiled on {target}: {reason}")
            out[target] = f"the DSP is not profiled on this core: {reason}"
    return out


def _measure_dsp_on(emission, target: str, log: Callable[[str], None]) -> Any:
    from workers.deploy.profile.dsp import measure_dsp

    m = measure_dsp(emission, target)
    log(
        f"DSP ({emission.block}) on {target}: {sum(m.classes.values()):,} counts, RAM "
        f"{m.ram_bytes:,} B (window {m.window_bytes:,} + scratch {m.scratch_bytes:,} + stack "
        f"{m.stack_used_bytes:,}), flash {m.flash_bytes:,} B (tables {m.table_bytes:,})"
    )
    return m


def impulse_on_target(
    tflite: bytes,
    target: str,
    *,
    spec: Any = None,
    anomaly: dict[str, Any] | None = None,
    board: str | None = None,
    log: Callable[[str], None] = lambda m: None,
) -> dict[str, Any] | None:
    """What a build for `target` records (issue 11): the profile entry of the impulse on a board
    with that core (`board` when it has it, else the first preset), the model and the DSP measured
    under QEMU, the anomaly block computed: the same function and inputs as the profile job, so
    the manifest's RAM/flash are the profile API's. `spec`: the build's `ImpulseSpec` (None for a
    bare model). None without the toolchain or for a core the profile does not cover."""
    from workers.deploy.dsp import DspBuildError, emit_dsp_chain
    from workers.deploy.mcu import toolchain_available
    from workers.deploy.profile import PROFILE_BOARDS, profile_model

    candidates = [b for b in PROFILE_BOARDS if b.target == target]
    if not candidates or not toolchain_available():
        return None
    chosen = next((b for b in candidates if b.name == board), candidates[0])
    dsp = None
    if spec is not None:
        try:
            emission = emit_dsp_chain(
                [(spec.dsp_block, spec.dsp_params), *spec.more_dsp],
                window_samples=spec.window_samples,
                n_axes=len(spec.axes),
                frequency_hz=spec.frequency_hz,
            )
            dsp = _measure_dsp_on(emission, target, log)
        except DspBuildError as exc:
            log(f"the DSP is not profiled: {exc}")
    result = profile_model(tflite, boards=[chosen.name], measure_targets=[target])
    if anomaly is None and spec is not None:
        anomaly = spec.anomaly
    return shape_board(result["boards"][0], dsp, anomaly)
