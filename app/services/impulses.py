"""Impulses: the rules of a design (checked with the blocks' own declarations), storage with a
revision.

A request is parsed into `app.schemas.impulses` models where it enters (the API body, the design
form); `validate_design` turns the client's description into a complete `ImpulseDesign`, checking
values with the processing blocks' parameter declarations (workers.dsp) and the learning blocks'
training settings (workers.learn), so the API, the form and the jobs agree on names, defaults and
ranges. Its messages name the field: `dsp[0].params.fft_length: got 100; must be a power of two`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.storage import BlobStore
from app.models import Impulse
from app.schemas.impulses import (
    DspBlock,
    DspBlockSpec,
    ImageInputBlock,
    ImpulseCreate,
    ImpulseDesign,
    ImpulseUpdate,
    InputBlock,
    LearnBlock,
    LearnBlockSpec,
)
from app.services import artifacts
from app.services.errors import Invalid, NotFound
from workers.dsp import BLOCKS, ImageInput, ParamError, TimeSeriesInput, get_block
from workers.dsp.windowing import TIMESERIES_PARAMS

CLASSIFIER_SETTINGS = ("training", "layers", "min_confidence")
ANOMALY_SETTINGS = ("n_clusters", "n_components", "features", "seed", "threshold")


def block_declarations() -> dict[str, Any]:
    """Every processing block and input block with its parameters (`GET /api/dsp-blocks`, the design
    form)."""
    return {
        "blocks": [b.schema() for b in BLOCKS.values()],
        "inputs": {"time-series": TimeSeriesInput.schema(), "image": ImageInput.schema()},
    }


# --- the rules of a design ----------------------------------------------------------------------


def validate_input(spec: InputBlock) -> InputBlock:
    """The input block with its values checked and coerced by the declarations (workers.dsp)."""
    try:
        if isinstance(spec, ImageInputBlock):
            image = spec.to_dsp().validate()
            return spec.model_copy(update={"width": image.width, "height": image.height})
        series = spec.to_dsp().validate()
    except ParamError as exc:
        raise Invalid(f"input.{exc.field}: {exc.message}") from exc
    return spec.model_copy(
        update={
            "axes": series.axes,
            "window_size_ms": series.window_size_ms,
            "window_increase_ms": series.window_increase_ms,
            "frequency_hz": series.frequency_hz,
            "pad_short": series.pad_short,
        }
    )


def _check_id(where: str, block_id: int, taken: set[int]) -> None:
    if block_id < 1 or block_id in taken:
        raise Invalid(
            f"{where}.id: got {block_id!r}; must be a positive integer, unique in the impulse"
        )
    taken.add(block_id)


def validate_dsp(
    specs: Sequence[DspBlockSpec | DspBlock], input_spec: InputBlock
) -> list[DspBlock]:
    if not specs:
        raise Invalid("dsp: must be a non-empty list of processing blocks")
    want = "image" if isinstance(input_spec, ImageInputBlock) else "timeseries"
    out: list[DspBlock] = []
    ids: set[int] = set()
    errors: list[str] = []
    for i, spec in enumerate(specs):
        where = f"dsp[{i}]"
        block_id = spec.id if spec.id is not None else i + 1
        try:
            _check_id(where, block_id, ids)
        except Invalid as exc:
            errors.append(exc.message)
        try:
            block = get_block(spec.block)
            params = block.validate(spec.params or {})
        except ParamError as exc:
            errors.append(
                f"{where}.{exc.field}: {exc.message}"
                if exc.field == "block"
                else f"{where}.params.{exc.field}: {exc.message}"
            )
            continue
        if block.input_kind != want:
            errors.append(
                f"{where}.block: '{block.name}' processes {block.input_kind} input, "
                f"but the impulse's input is {input_spec.type}"
            )
            continue
        out.append(
            DspBlock(
                id=block_id,
                block=block.name,
                name=spec.name or block.title,
                params=params,
                implementation_version=block.implementation_version,
            )
        )
    if errors:
        raise Invalid.of(errors)
    return out


def validate_learn(
    specs: Sequence[LearnBlockSpec | LearnBlock], dsp: Sequence[DspBlock]
) -> list[LearnBlock]:
    dsp_ids = sorted(b.id for b in dsp)
    taken = set(dsp_ids)
    out: list[LearnBlock] = []
    errors: list[str] = []
    for i, spec in enumerate(specs):
        where = f"learn[{i}]"
        block_id = spec.id if spec.id is not None else 100 + i
        refs = list(spec.dsp) if spec.dsp is not None else dsp_ids
        try:
            _check_id(where, block_id, taken)
            if not refs or any(r not in dsp_ids for r in refs):
                raise Invalid(
                    f"{where}.dsp: got {refs!r}; must list ids of this impulse's processing "
                    f"blocks {dsp_ids}"
                )
            block = LearnBlock(
                id=block_id,
                type=spec.type,
                name=spec.name or spec.type,
                dsp=refs,
                settings=dict(spec.settings or {}),
            )
            validate_learn_settings(block)
        except Invalid as exc:
            errors.extend(e if e.startswith(where) else f"{where}: {e}" for e in exc.errors)
            continue
        out.append(block)
    if errors:
        raise Invalid.of(errors)
    return out


def validate_learn_settings(block: LearnBlock) -> None:
    """Check a learning block's settings as far as possible without features (422 naming the
    problem)."""
    from workers.learn import LearnError, TrainSettings  # no TensorFlow

    where = f"learn block {block.id}"
    if block.is_anomaly:
        unknown = set(block.settings) - set(ANOMALY_SETTINGS)
        if unknown:
            raise Invalid(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
        return
    unknown = set(block.settings) - set(CLASSIFIER_SETTINGS)
    if unknown:
        raise Invalid(
            f"{where}: unknown setting(s) {', '.join(sorted(unknown))}; "
            f"use {', '.join(CLASSIFIER_SETTINGS)}"
        )
    try:
        TrainSettings.from_dict({**block.training, "task": block.task})
    except LearnError as exc:
        raise Invalid(f"{where}: {exc}") from exc


def validate_design(
    input_spec: InputBlock,
    dsp: Sequence[DspBlockSpec | DspBlock],
    learn: Sequence[LearnBlockSpec | LearnBlock],
) -> ImpulseDesign:
    """A complete, checked design from a client's description, validated as a whole: each part,
    then what the parts must agree on (every processing block's output shape from the input's
    window: an FFT longer than the window, a frame that does not fit, ...). `Invalid` lists every
    error at once, each naming its field."""
    errors: list[str] = []
    checked_input: InputBlock | None = None
    checked_dsp: list[DspBlock] = []
    checked_learn: list[LearnBlock] = []
    try:
        checked_input = validate_input(input_spec)
    except Invalid as exc:
        errors.extend(exc.errors)
    try:
        checked_dsp = validate_dsp(dsp, checked_input or input_spec)
    except Invalid as exc:
        errors.extend(exc.errors)
    try:
        checked_learn = validate_learn(learn, checked_dsp or _placeholder_dsp(dsp))
    except Invalid as exc:
        errors.extend(exc.errors)
    if checked_input is not None and len(checked_dsp) == len(dsp):
        errors.extend(_shape_errors(checked_input, checked_dsp))
    if errors:
        raise Invalid.of(errors)
    assert checked_input is not None  # no error: every part was checked
    return ImpulseDesign(input=checked_input, dsp=checked_dsp, learn=checked_learn)


def _placeholder_dsp(specs: Sequence[DspBlockSpec | DspBlock]) -> list[DspBlock]:
    """The processing blocks' ids only, so learning blocks are checked when a processing block
    is wrong too."""
    return [
        DspBlock(
            id=s.id if s.id is not None else i + 1,
            block=str(s.block),
            name="",
            params={},
            implementation_version=0,
        )
        for i, s in enumerate(specs)
    ]


def _shape_errors(input_spec: InputBlock, dsp: Sequence[DspBlock]) -> list[str]:
    """Each processing block run on the input's window, in shape only (no data)."""
    if isinstance(input_spec, ImageInputBlock):
        return []
    window = TimeSeriesInput.window_samples(input_spec.window_size_ms, input_spec.frequency_hz)
    n_axes = len(input_spec.axes) if input_spec.axes else 1
    errors = []
    for i, b in enumerate(dsp):
        try:
            get_block(b.block).output_shape(
                window_samples=window,
                n_axes=n_axes,
                frequency_hz=input_spec.frequency_hz,
                params=b.params,
            )
        except ParamError as exc:
            errors.append(
                f"dsp[{i}].params.{exc.field}: {exc.message} (input: "
                f"{input_spec.window_size_ms:g} ms at {input_spec.frequency_hz:g} Hz)"
            )
        except ValueError as exc:
            errors.append(f"dsp[{i}].block: {exc}")
    return errors


# --- defaults from the data -----------------------------------------------------------------------


def data_defaults(session: Session, project_id: int) -> dict[str, float]:
    """The time-series input's defaults for this project's data, the one source the API, the
    dashboard and `GET /api/{projectId}/impulse-defaults` use: the frequency is the samples' own
    (most common) rate; the window 1000 ms, or the median sample's length when most samples are
    shorter (rounded down to 10 ms); the step the window. Without samples: the declarations."""
    from sqlalchemy import func

    from app.models import Sample

    declared = {p.name: p.default for p in TIMESERIES_PARAMS}
    base = (Sample.project_id == project_id, Sample.kind == "timeseries", Sample.enabled.is_(True))
    rate = session.execute(
        select(Sample.frequency_hz, func.count())
        .where(*base, Sample.frequency_hz > 0)
        .group_by(Sample.frequency_hz)
        .order_by(func.count().desc(), Sample.frequency_hz.desc())
        .limit(1)
    ).first()
    lengths = sorted(
        session.scalars(select(Sample.length_ms).where(*base, Sample.length_ms > 0).limit(10_000))
    )
    window = float(declared["window_size_ms"])
    if lengths:
        median = lengths[len(lengths) // 2]
        if median < window:
            window = max(10.0, float(int(median // 10) * 10))
    return {
        "frequency_hz": float(rate[0]) if rate else float(declared["frequency_hz"]),
        "window_size_ms": window,
        "window_increase_ms": window,
    }


def with_data_defaults(spec: InputBlock, defaults: dict[str, float]) -> InputBlock:
    """The input block with the fields the client left out taken from `defaults`."""
    if isinstance(spec, ImageInputBlock):
        return spec
    given = spec.model_fields_set
    update: dict[str, Any] = {}
    for name in ("frequency_hz", "window_size_ms"):
        if name not in given:
            update[name] = defaults[name]
    if "window_increase_ms" not in given:
        update["window_increase_ms"] = update.get("window_size_ms", spec.window_size_ms)
    return spec.model_copy(update=update)


# --- storage ------------------------------------------------------------------------------------


def create_impulse(session: Session, project_id: int, body: ImpulseCreate) -> Impulse:
    name = (body.name or "").strip()[:200] or "Impulse"
    spec = with_data_defaults(body.input, data_defaults(session, project_id))
    design = validate_design(spec, body.dsp, body.learn or [])
    impulse = Impulse(
        project_id=project_id,
        name=name,
        revision=1,
        input=design.input,
        dsp=design.dsp,
        learn=design.learn,
    )
    session.add(impulse)
    session.flush()
    return impulse


def update_impulse(session: Session, impulse: Impulse, body: ImpulseUpdate) -> Impulse:
    """Apply a change; the revision goes up when the design changes (so artifacts can tell they are
    stale).

    Parts the body leaves out stay as they are; `learn: null` removes the learning blocks, a null
    input or dsp is refused (as a missing one is when an impulse is created).
    """
    sent = body.model_fields_set
    if "input" in sent and body.input is None:
        raise Invalid("input: must be an object with a 'type' of time-series or image")
    if "dsp" in sent and body.dsp is None:
        raise Invalid("dsp: must be a non-empty list of processing blocks")
    new_input = (
        with_data_defaults(body.input, data_defaults(session, impulse.project_id))
        if body.input is not None
        else None
    )
    design = validate_design(
        new_input or impulse.input,
        body.dsp or impulse.dsp,
        (body.learn or []) if "learn" in sent else impulse.learn,
    )
    if body.name:
        impulse.name = body.name.strip()[:200]
    return _save_design(session, impulse, design)


def replace_learn_block(session: Session, impulse: Impulse, block: LearnBlock) -> Impulse:
    """Put `block` in the place of the impulse's learning block with its id (e.g. new training
    settings)."""
    learn = [block if b.id == block.id else b for b in impulse.learn]
    return _save_design(session, impulse, validate_design(impulse.input, impulse.dsp, learn))


def _save_design(session: Session, impulse: Impulse, design: ImpulseDesign) -> Impulse:
    if design != impulse.design:
        impulse.design = design
        impulse.revision += 1
    session.flush()
    return impulse


def delete_impulse(session: Session, store: BlobStore, impulse: Impulse) -> None:
    """Delete the impulse; its artifacts' rows go with it, their blobs once that commits."""
    artifacts.delete_blobs_on_commit(session, store, artifacts.impulse_artifacts(session, impulse))
    session.delete(impulse)


def get_impulse(session: Session, project_id: int, impulse_id: int) -> Impulse:
    impulse = session.get(Impulse, impulse_id)
    if impulse is None or impulse.project_id != project_id:
        raise NotFound(f"impulse {impulse_id} does not exist in project {project_id}")
    return impulse


def list_impulses(session: Session, project_id: int) -> list[Impulse]:
    return list(
        session.scalars(
            select(Impulse).where(Impulse.project_id == project_id).order_by(Impulse.id)
        )
    )


def dsp_block(impulse: Impulse, dsp_id: int) -> DspBlock:
    for b in impulse.dsp:
        if b.id == dsp_id:
            return b
    raise NotFound(
        f"impulse {impulse.id} has no processing block {dsp_id} "
        f"(it has {[b.id for b in impulse.dsp]})"
    )


def feature_config_hash(input_spec: InputBlock, block: DspBlock) -> str:
    """Identifies a feature set: same input block + same DSP block settings ⇒ same features per
    sample."""
    doc = {
        "input": input_spec.model_dump(mode="json"),
        "block": block.block,
        "params": block.params,
        "implementation_version": block.implementation_version,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def impulse_json(impulse: Impulse) -> dict[str, Any]:
    return {
        "id": impulse.id,
        "projectId": impulse.project_id,
        "name": impulse.name,
        "revision": impulse.revision,
        **impulse.design.model_dump(mode="json"),
        "created": impulse.created_at.isoformat(),
        "updated": impulse.updated_at.isoformat(),
    }


# --- the design at a glance -----------------------------------------------------------------------


def design_cards(session: Session, impulse: Impulse) -> list[dict[str, Any]]:
    """The impulse as block cards left to right, each with what comes out of it: the input's
    window ("16000 samples at 16 kHz, 1 axis"), each processing block's output shape, each
    learning block's classes. Axes and classes come from the project's training data."""
    from sqlalchemy import func

    from app.models import Sample

    cards: list[dict[str, Any]] = []
    inp = impulse.input
    if isinstance(inp, ImageInputBlock):
        n_axes = len(inp.channels)
        cards.append(
            {
                "kind": "input",
                "name": "Image input",
                "out": f"{inp.width}×{inp.height}×{n_axes}",
                "detail": f"{inp.resize_mode}, {inp.color_depth}",
            }
        )
        window = inp.width * inp.height
    else:
        sensors = session.scalars(
            select(Sample.sensors)
            .where(Sample.project_id == impulse.project_id, Sample.kind == "timeseries")
            .limit(1)
        ).first()
        n_axes = len(inp.axes) if inp.axes else max(1, len(sensors or []))
        window = TimeSeriesInput.window_samples(inp.window_size_ms, inp.frequency_hz)
        cards.append(
            {
                "kind": "input",
                "name": "Time-series input",
                "out": f"{window} × {n_axes}",
                "detail": f"{inp.window_size_ms:g} ms windows every {inp.window_increase_ms:g} ms "
                f"at {inp.frequency_hz:g} Hz, {n_axes} ax{'is' if n_axes == 1 else 'es'}",
            }
        )
    for b in impulse.dsp:
        try:
            shape = get_block(b.block).output_shape(
                window_samples=window, n_axes=n_axes, frequency_hz=inp.frequency_hz, params=b.params
            )
            out = "×".join(str(d) for d in shape) or "?"
        except (ParamError, ValueError) as exc:
            out = f"does not fit: {exc}"
        cards.append({"kind": "dsp", "name": b.name, "out": out, "detail": b.block})
    labels = session.scalar(
        select(func.count(func.distinct(Sample.label))).where(
            Sample.project_id == impulse.project_id,
            Sample.category == "training",
            Sample.enabled.is_(True),
        )
    )
    names = {d.id: d.name for d in impulse.dsp}
    for lb in impulse.learn:
        reads = ", ".join(names.get(i, str(i)) for i in lb.dsp)
        if lb.is_anomaly:
            out = "anomaly score"
        elif lb.type == "regression":
            out = "a value"
        else:
            out = f"{labels or 0} class{'' if labels == 1 else 'es'}"
        cards.append({"kind": "learn", "name": lb.name, "out": out, "detail": f"reads {reads}"})
    return cards
