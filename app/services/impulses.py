"""Impulses: validation of the input/DSP/learn design, storage with a revision counter.

Validation uses the processing blocks' own parameter declarations (workers.dsp), so the API, the
job and the dashboard form agree on names, defaults and ranges.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Impulse
from app.services.errors import Invalid, NotFound
from workers.dsp import BLOCKS, ImageInput, ParamError, TimeSeriesInput, get_block

INPUT_TYPES = ("time-series", "image")
LEARN_TYPES = ("classification", "regression", "anomaly-kmeans", "anomaly-gmm")
IMAGE_RESIZE = ("squash", "fit-short", "fit-long")
IMAGE_DEPTH = ("rgb", "grayscale")


def block_declarations() -> dict[str, Any]:
    """Every processing block and input block with its parameters (`GET /api/dsp-blocks`, the design form)."""
    return {"blocks": [b.schema() for b in BLOCKS.values()],
            "inputs": {"time-series": TimeSeriesInput.schema(), "image": ImageInput.schema()}}


def _invalid(where: str, exc: ParamError) -> Invalid:
    return Invalid(f"{where}.{exc.field}: {exc.message}")


def validate_input(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise Invalid("input: must be an object with a 'type' of time-series or image")
    kind = spec.get("type")
    if kind == "time-series":
        allowed = {"type", "axes", "window_size_ms", "window_increase_ms", "frequency_hz", "pad_short"}
        _no_unknown("input", spec, allowed)
        try:
            ts = TimeSeriesInput(
                axes=spec.get("axes"), window_size_ms=spec.get("window_size_ms", 1000),
                window_increase_ms=spec.get("window_increase_ms", spec.get("window_size_ms", 1000)),
                frequency_hz=spec.get("frequency_hz", 100), pad_short=spec.get("pad_short", True),
            ).validate()
        except ParamError as exc:
            raise _invalid("input", exc) from exc
        return {"type": kind, "axes": ts.axes, "window_size_ms": ts.window_size_ms,
                "window_increase_ms": ts.window_increase_ms, "frequency_hz": ts.frequency_hz,
                "pad_short": ts.pad_short}
    if kind == "image":
        _no_unknown("input", spec, {"type", "width", "height", "resize_mode", "color_depth"})
        out = {"type": kind}
        for name in ("width", "height"):
            v = spec.get(name, 96)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 1024:
                raise Invalid(f"input.{name}: got {v!r}; must be an integer between 1 and 1024")
            out[name] = v
        for name, choices, default in (("resize_mode", IMAGE_RESIZE, "squash"), ("color_depth", IMAGE_DEPTH, "rgb")):
            v = spec.get(name, default)
            if v not in choices:
                raise Invalid(f"input.{name}: got {v!r}; must be one of {', '.join(choices)}")
            out[name] = v
        return out
    raise Invalid(f"input.type: got {kind!r}; must be one of {', '.join(INPUT_TYPES)}")


def _no_unknown(where: str, spec: dict, allowed: set[str]) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise Invalid(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def validate_dsp(blocks: Any, input_spec: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(blocks, list) or not blocks:
        raise Invalid("dsp: must be a non-empty list of processing blocks")
    out, ids = [], set()
    want = "image" if input_spec["type"] == "image" else "timeseries"
    for i, b in enumerate(blocks):
        where = f"dsp[{i}]"
        if not isinstance(b, dict):
            raise Invalid(f"{where}: must be an object with 'block' and 'params'")
        _no_unknown(where, b, {"id", "block", "params", "name", "implementation_version"})
        bid = b.get("id", i + 1)
        if not isinstance(bid, int) or isinstance(bid, bool) or bid < 1 or bid in ids:
            raise Invalid(f"{where}.id: got {bid!r}; must be a positive integer, unique in the impulse")
        ids.add(bid)
        try:
            block = get_block(b.get("block"))
            params = block.validate(b.get("params") or {})
        except ParamError as exc:
            raise _invalid(where if exc.field == "block" else f"{where}.params", exc) from exc
        if block.input_kind != want:
            raise Invalid(f"{where}.block: '{block.name}' processes {block.input_kind} input, "
                          f"but the impulse's input is {input_spec['type']}")
        out.append({"id": bid, "block": block.name, "name": b.get("name") or block.title,
                    "params": params, "implementation_version": block.implementation_version})
    return out


def validate_learn(blocks: Any, dsp: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        raise Invalid("learn: must be a list of learning blocks")
    dsp_ids = {b["id"] for b in dsp}
    used = dsp_ids | set()
    out = []
    for i, b in enumerate(blocks):
        where = f"learn[{i}]"
        if not isinstance(b, dict):
            raise Invalid(f"{where}: must be an object with 'type' and 'dsp'")
        _no_unknown(where, b, {"id", "type", "dsp", "settings", "name"})
        bid = b.get("id", 100 + i)
        if not isinstance(bid, int) or isinstance(bid, bool) or bid < 1 or bid in used:
            raise Invalid(f"{where}.id: got {bid!r}; must be a positive integer, unique in the impulse")
        used.add(bid)
        if b.get("type") not in LEARN_TYPES:
            raise Invalid(f"{where}.type: got {b.get('type')!r}; must be one of {', '.join(LEARN_TYPES)}")
        refs = b.get("dsp", sorted(dsp_ids))
        if not isinstance(refs, list) or not refs or any(r not in dsp_ids for r in refs):
            raise Invalid(f"{where}.dsp: got {refs!r}; must list ids of this impulse's processing blocks {sorted(dsp_ids)}")
        settings = b.get("settings") or {}
        if not isinstance(settings, dict):
            raise Invalid(f"{where}.settings: must be an object")
        entry = {"id": bid, "type": b["type"], "name": b.get("name") or b["type"], "dsp": refs, "settings": settings}
        from app.services.learning import (
            validate_learn_settings,  # imports workers.learn: no TensorFlow
        )

        validate_learn_settings(entry)
        out.append(entry)
    return out


def validate_design(body: dict[str, Any]) -> dict[str, Any]:
    input_spec = validate_input(body.get("input"))
    dsp = validate_dsp(body.get("dsp"), input_spec)
    learn = validate_learn(body.get("learn"), dsp)
    return {"input": input_spec, "dsp": dsp, "learn": learn}


def create_impulse(session: Session, project_id: int, body: dict[str, Any]) -> Impulse:
    name = str(body.get("name") or "Impulse").strip()[:200] or "Impulse"
    design = validate_design(body)
    impulse = Impulse(project_id=project_id, name=name, revision=1, **design)
    session.add(impulse)
    session.flush()
    return impulse


def update_impulse(session: Session, impulse: Impulse, body: dict[str, Any]) -> Impulse:
    merged = {"input": impulse.input, "dsp": impulse.dsp, "learn": impulse.learn, **body}
    design = validate_design(merged)
    if body.get("name"):
        impulse.name = str(body["name"]).strip()[:200]
    changed = any(getattr(impulse, k) != v for k, v in design.items())
    for k, v in design.items():
        setattr(impulse, k, v)
    if changed:
        impulse.revision += 1
    session.flush()
    return impulse


def get_impulse(session: Session, project_id: int, impulse_id: int) -> Impulse:
    impulse = session.get(Impulse, impulse_id)
    if impulse is None or impulse.project_id != project_id:
        raise NotFound(f"impulse {impulse_id} does not exist in project {project_id}")
    return impulse


def list_impulses(session: Session, project_id: int) -> list[Impulse]:
    return list(session.scalars(select(Impulse).where(Impulse.project_id == project_id).order_by(Impulse.id)))


def dsp_block(impulse: Impulse, dsp_id: int) -> dict[str, Any]:
    for b in impulse.dsp:
        if b["id"] == dsp_id:
            return b
    raise NotFound(f"impulse {impulse.id} has no processing block {dsp_id} (it has {[b['id'] for b in impulse.dsp]})")


def feature_config_hash(input_spec: dict[str, Any], block: dict[str, Any]) -> str:
    """Identifies a feature set: same input block + same DSP block settings ⇒ same features per sample."""
    doc = {"input": input_spec, "block": block["block"], "params": block["params"],
           "implementation_version": block["implementation_version"]}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def impulse_json(impulse: Impulse) -> dict[str, Any]:
    return {"id": impulse.id, "projectId": impulse.project_id, "name": impulse.name, "revision": impulse.revision,
            "input": impulse.input, "dsp": impulse.dsp, "learn": impulse.learn,
            "created": impulse.created_at.isoformat(), "updated": impulse.updated_at.isoformat()}
