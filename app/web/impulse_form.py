"""The impulse design form, built from the blocks' own parameter declarations (`GET /api/dsp-blocks`).

Form field names: `name`, `input_type`; `in.<param>` (time-series input), `img.<param>` (image input);
`block` (the chosen processing block) and `p.<block>.<param>` for each block's parameters; `learn_type`.
Values are converted by their declared type and handed to `app.services.impulses`, which validates them
with the same declarations the API uses; its messages (`dsp[0].params.fft_length: got ...`) are mapped
back to the form field they name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.services.impulses import LEARN_TYPES

DEFAULT_BLOCK = "mfcc"


def declarations() -> dict[str, Any]:
    """Exactly what `GET /api/dsp-blocks` answers."""
    from app.api.routes.dsp import dsp_blocks

    out = dsp_blocks()
    return {"blocks": out["blocks"], "inputs": out["inputs"], "learn_types": list(LEARN_TYPES)}


def _convert(param: Mapping[str, Any], raw: str | None) -> Any:
    """A form string as the declared type; an unparsable string is passed on for the validator to name."""
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


def design_from_form(form: Mapping[str, Sequence[str]], decl: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the impulse body for the service, the submitted values keyed by field name for re-rendering)."""
    values: dict[str, Any] = {"name": (_last(form, "name") or "").strip()}
    input_type = _last(form, "input_type") or "time-series"
    values["input_type"] = input_type
    prefix, schema = ("img.", decl["inputs"]["image"]) if input_type == "image" else ("in.", decl["inputs"]["time-series"])
    input_spec: dict[str, Any] = {"type": input_type}
    for p in schema["params"]:
        raw = _last(form, prefix + p["name"])
        values[prefix + p["name"]] = raw
        converted = _convert(p, raw)
        if converted is not None or p["type"] == "list":
            input_spec[p["name"]] = converted
    block_name = _last(form, "block") or ""
    values["block"] = block_name
    block = next((b for b in decl["blocks"] if b["name"] == block_name), None)
    dsp: dict[str, Any] = {"block": block_name, "params": {}}
    if block is not None:
        for p in block["params"]:
            key = f"p.{block_name}.{p['name']}"
            raw = _last(form, key)
            values[key] = raw
            converted = _convert(p, raw)
            if converted is not None:
                dsp["params"][p["name"]] = converted
    learn_type = _last(form, "learn_type") or ""
    values["learn_type"] = learn_type
    body: dict[str, Any] = {"name": values["name"] or "Impulse", "input": input_spec, "dsp": [dsp],
                            "learn": [{"type": learn_type}] if learn_type else []}
    return body, values


_PATH = re.compile(r"^(input|dsp\[(\d+)\](?:\.params)?|learn\[(\d+)\])(?:\.(\w+))?: (.*)$", re.S)


def field_for_error(message: str, body: Mapping[str, Any]) -> tuple[str, str]:
    """Map a service validation message to (form field name, message); '' names the form as a whole."""
    m = _PATH.match(message)
    if not m:
        return "", message
    where, _dsp_ix, _learn_ix, field, text = m.groups()
    if where == "input":
        if field is None or field == "type":
            return "input_type", text
        return ("img." if body.get("input", {}).get("type") == "image" else "in.") + field, text
    if where.startswith("dsp"):
        block = (body.get("dsp") or [{}])[0].get("block", "")
        if where.endswith(".params") and field:
            return f"p.{block}.{field}", text
        return "block", text if field in (None, "block") else f"{field}: {text}"
    return "learn_type", text if field in (None, "type") else f"{field}: {text}"


def values_from_impulse(impulse: Any | None, decl: dict[str, Any]) -> dict[str, Any]:
    """Form values showing an existing impulse (or the defaults for a new one)."""
    values: dict[str, Any] = {}
    inp = impulse.input if impulse is not None else {"type": "time-series"}
    values["name"] = impulse.name if impulse is not None else "Impulse"
    values["input_type"] = inp.get("type", "time-series")
    for prefix, kind in (("in.", "time-series"), ("img.", "image")):
        for p in decl["inputs"][kind]["params"]:
            v = inp.get(p["name"], p["default"]) if inp.get("type") == kind else p["default"]
            values[prefix + p["name"]] = ", ".join(v) if isinstance(v, list) else v
    first = (impulse.dsp[0] if impulse is not None and impulse.dsp else {"block": DEFAULT_BLOCK, "params": {}})
    values["block"] = first["block"]
    for b in decl["blocks"]:
        for p in b["params"]:
            v = first["params"].get(p["name"], p["default"]) if b["name"] == first["block"] else p["default"]
            values[f"p.{b['name']}.{p['name']}"] = v
    values["learn_type"] = impulse.learn[0]["type"] if impulse is not None and impulse.learn else "classification"
    return values
