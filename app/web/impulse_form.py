"""The impulse design form, built from the blocks' own parameter declarations (`GET
/api/dsp-blocks`).

Form field names: `name`, `input_type`; `in.<param>` (time-series input), `img.<param>` (image
input); `block` (the first processing block) and `p.<block>.<param>` for each block's parameters;
further processing blocks `block.<i>` with `p<i>.<block>.<param>` (i = 1, 2, ...; empty = none);
`learn_type` (classification, regression or none) and `anomaly_type` (an anomaly block beside it, or
none). The learning blocks of the form read every processing block's features.
Values are converted by their declared type, parsed into `app.schemas.impulses.ImpulseCreate` (or
`ImpulseUpdate`) and handed to `app.services.impulses`, which validates them with the same
declarations the API uses; the messages of both (`dsp[0].params.fft_length: got ...`) are mapped
back to the form field they name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.models import Impulse
from app.schemas.errors import describe
from app.schemas.impulses import ANOMALY_TYPES, LEARN_TYPES
from app.services.errors import Invalid
from app.services.impulses import block_declarations

DEFAULT_BLOCK = "mfcc"
MAX_DSP_BLOCKS = 4
Body = TypeVar("Body", bound=BaseModel)


def declarations() -> dict[str, Any]:
    """What `GET /api/dsp-blocks` answers, and the learning block types."""
    return {**block_declarations(), "learn_types": list(LEARN_TYPES)}


def _convert(param: Mapping[str, Any], raw: str | None) -> Any:
    """A form string as the declared type; an unparsable string is passed on for the validator to
    name."""
    kind = param["type"]
    if raw is None:
        return False if kind == "bool" else None
    text = raw.strip()
    if kind == "bool":
        return text.lower() in ("true", "on", "1", "yes")
    if kind in ("int", "float"):
        try:
            number = float(text)
        except ValueError:
            return raw
        if kind == "int" and number.is_integer():
            return int(number)
        return number
    if kind == "list":
        items = [a.strip() for a in text.split(",") if a.strip()]
        return items or None
    return raw


def _last(form: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = form.get(key) or []
    return values[-1] if values else None


def design_from_form(
    form: Mapping[str, Sequence[str]], decl: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the impulse body for the service, the submitted values keyed by field name for
    re-rendering)."""
    values: dict[str, Any] = {"name": (_last(form, "name") or "").strip()}
    input_type = _last(form, "input_type") or "time-series"
    values["input_type"] = input_type
    prefix, schema = (
        ("img.", decl["inputs"]["image"])
        if input_type == "image"
        else ("in.", decl["inputs"]["time-series"])
    )
    input_spec: dict[str, Any] = {"type": input_type}
    for p in schema["params"]:
        raw = _last(form, prefix + p["name"])
        values[prefix + p["name"]] = raw
        converted = _convert(p, raw)
        if converted is not None or p["type"] == "list":
            input_spec[p["name"]] = converted
    dsp_blocks = []
    for slot in range(MAX_DSP_BLOCKS):
        block_name = _last(form, _block_field(slot)) or ""
        if slot and not block_name:
            continue  # an empty extra slot: no block there
        values[_block_field(slot)] = block_name
        block = next((b for b in decl["blocks"] if b["name"] == block_name), None)
        dsp: dict[str, Any] = {"block": block_name, "params": {}}
        if block is not None:
            for p in block["params"]:
                key = _param_field(slot, block_name, p["name"])
                raw = _last(form, key)
                values[key] = raw
                converted = _convert(p, raw)
                if converted is not None:
                    dsp["params"][p["name"]] = converted
        dsp["slot"] = slot
        dsp_blocks.append(dsp)
    values["dsp_slots"] = _slots([d["slot"] for d in dsp_blocks[1:]])
    learn_type, anomaly_type = _last(form, "learn_type") or "", _last(form, "anomaly_type") or ""
    values["learn_type"], values["anomaly_type"] = learn_type, anomaly_type
    learn = [{"type": t} for t in (learn_type, anomaly_type) if t]
    body: dict[str, Any] = {
        "name": values["name"] or "Impulse",
        "input": input_spec,
        "dsp": dsp_blocks,
        "learn": learn,
    }
    return body, values


def _block_field(slot: int) -> str:
    return "block" if slot == 0 else f"block.{slot}"


def _param_field(slot: int, block: str, param: str) -> str:
    return f"p.{block}.{param}" if slot == 0 else f"p{slot}.{block}.{param}"


def _slots(used: list[int]) -> list[int]:
    """The extra processing-block slots to show: the used ones and one empty slot to add a block."""
    shown = sorted(set(used))
    free = next((i for i in range(1, MAX_DSP_BLOCKS) if i not in shown), None)
    return sorted(shown + ([free] if free is not None else []))


def parse(model: type[Body], body: dict[str, Any]) -> Body:
    """The form's impulse as `model` (its slot numbers removed: errors map back with them); a value
    of the wrong type is reported as the service reports a value out of range (Invalid naming the
    field)."""
    try:
        return model.model_validate(
            {**body, "dsp": [{k: v for k, v in d.items() if k != "slot"} for d in body["dsp"]]}
        )
    except ValidationError as exc:
        raise Invalid(describe(exc.errors())) from exc


_PATH = re.compile(r"^(input|dsp\[(\d+)\](?:\.params)?|learn\[(\d+)\])(?:\.(\w+))?: (.*)$", re.S)


def field_for_error(message: str, body: Mapping[str, Any]) -> tuple[str, str]:
    """Map a service validation message to (form field name, message); '' names the form as a
    whole."""
    m = _PATH.match(message)
    if not m:
        return "", message
    where, dsp_ix, learn_ix, field, text = m.groups()
    if where == "input":
        if field is None or field == "type":
            return "input_type", text
        return ("img." if body.get("input", {}).get("type") == "image" else "in.") + field, text
    if where.startswith("dsp"):
        blocks = body.get("dsp") or [{}]
        entry = blocks[int(dsp_ix)] if int(dsp_ix) < len(blocks) else {}
        slot, block = entry.get("slot", int(dsp_ix)), entry.get("block", "")
        if where.endswith(".params") and field:
            return _param_field(slot, block, field), text
        return _block_field(slot), text if field in (None, "block") else f"{field}: {text}"
    learn = body.get("learn") or []
    kind = learn[int(learn_ix)].get("type", "") if int(learn_ix) < len(learn) else ""
    name = "anomaly_type" if kind in ANOMALY_TYPES else "learn_type"
    return name, text if field in (None, "type") else f"{field}: {text}"


def form_errors(exc: Invalid, body: Mapping[str, Any]) -> dict[str, str]:
    """Every error of an `Invalid` at the form field it names (several on one field: joined)."""
    out: dict[str, str] = {}
    for message in exc.errors:
        field, text = field_for_error(message, body)
        out[field] = f"{out[field]}; {text}" if field in out else text
    return out


def values_from_impulse(
    impulse: Impulse | None, decl: dict[str, Any], data_defaults: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Form values showing an existing impulse (or the defaults for a new one: the declared ones,
    with the time-series input's from the project's data, `impulses.data_defaults`)."""
    values: dict[str, Any] = {}
    inp = impulse.input if impulse is not None else None
    values["name"] = impulse.name if impulse is not None else "Impulse"
    values["input_type"] = inp.type if inp is not None else "time-series"
    for prefix, kind in (("in.", "time-series"), ("img.", "image")):
        for p in decl["inputs"][kind]["params"]:
            v = getattr(inp, p["name"]) if inp is not None and inp.type == kind else p["default"]
            values[prefix + p["name"]] = ", ".join(v) if isinstance(v, list) else v
    if impulse is None:
        for name, v in (data_defaults or {}).items():
            values["in." + name] = v
    blocks = (
        [(b.block, b.params) for b in impulse.dsp]
        if impulse is not None and impulse.dsp
        else [(DEFAULT_BLOCK, {})]
    )[:MAX_DSP_BLOCKS]
    values["dsp_slots"] = _slots(list(range(1, len(blocks))))
    for slot in range(MAX_DSP_BLOCKS):
        name, params = blocks[slot] if slot < len(blocks) else ("", {})
        values[_block_field(slot)] = name
        for b in decl["blocks"]:
            for p in b["params"]:
                v = params.get(p["name"], p["default"]) if b["name"] == name else p["default"]
                values[_param_field(slot, b["name"], p["name"])] = v
    learn = impulse.learn if impulse is not None else []
    primary = next((b.type for b in learn if not b.is_anomaly), None)
    values["learn_type"] = (
        primary
        if primary is not None
        else ""
        if impulse is not None and learn
        else "classification"
    )
    values["anomaly_type"] = next((b.type for b in learn if b.is_anomaly), "")
    return values
