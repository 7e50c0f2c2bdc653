"""The typed impulse: choices as the blocks declare them, errors naming the field, JSON as
stored."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from app.schemas.errors import describe, location
from app.schemas.impulses import (
    ANOMALY_TYPES,
    INPUT_TYPES,
    ImageInputBlock,
    ImpulseCreate,
    ImpulseUpdate,
    LearnBlock,
)
from tests.app.api.helpers import key


def test_choices_are_the_declarations_choices():
    from workers.dsp.windowing import IMAGE_PARAMS

    declared = {p.name: p.choices for p in IMAGE_PARAMS if p.choices}
    props = ImageInputBlock.model_json_schema()["properties"]
    assert {name: tuple(props[name]["enum"]) for name in declared} == declared
    assert INPUT_TYPES == ("time-series", "image") and ANOMALY_TYPES == (
        "anomaly-kmeans",
        "anomaly-gmm",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"input": {"type": "audio"}, "dsp": [{"block": "mfcc"}]},
            "input.type: got 'audio'; must be one of time-series, image",
        ),
        (
            {"input": 3, "dsp": [{"block": "mfcc"}]},
            "input: must be an object with a 'type' of time-series or image",
        ),
        (
            {
                "input": {"type": "time-series", "window_size_ms": "long"},
                "dsp": [{"block": "mfcc"}],
            },
            "input.window_size_ms: Input should be a valid number, unable to parse string "
            "as a number",
        ),
        (
            {"input": {"type": "image", "width": 2000}, "dsp": [{"block": "image"}]},
            "input.width: Input should be less than or equal to 1024",
        ),
        (
            {"input": {"type": "time-series"}, "dsp": [{"block": "mfcc", "param": {}}]},
            "dsp[0].param: Extra inputs are not permitted",
        ),
        (
            {
                "input": {"type": "time-series"},
                "dsp": [{"block": "mfcc"}],
                "learn": [{"type": "svm"}],
            },
            "learn[0].type: Input should be 'classification', 'regression', "
            "'anomaly-kmeans' or 'anomaly-gmm'",
        ),
        (
            {"input": {"type": "time-series"}, "dsp": []},
            "dsp: List should have at least 1 item after validation, not 0",
        ),
    ],
)
def test_shape_errors_name_the_field(body, message):
    with pytest.raises(ValidationError) as caught:
        ImpulseCreate.model_validate(body)
    assert describe(caught.value.errors()) == message


def test_locations_read_like_the_services_messages():
    assert location(("body", "dsp", 0, "params", "fft_length")) == "dsp[0].params.fft_length"
    assert location(("query", "limit")) == "limit" and location(()) == ""


def test_the_window_step_defaults_to_the_window():
    spec = ImpulseUpdate.model_validate(
        {"input": {"type": "time-series", "window_size_ms": 250}}
    ).input
    assert spec is not None and spec.window_increase_ms == 250.0


def test_the_anomaly_kind_follows_the_type():
    kinds = {
        t: LearnBlock(id=1, type=t, name=t, dsp=[1]).anomaly_kind
        for t in ("classification", "regression", "anomaly-kmeans", "anomaly-gmm")
    }
    assert kinds == {
        "classification": None,
        "regression": None,
        "anomaly-kmeans": "kmeans",
        "anomaly-gmm": "gmm",
    }


def test_the_design_is_stored_as_the_same_json(client, make_project, session):
    """The columns hold plain JSON (as before the design was typed): the API's answer, byte for
    byte."""
    import json

    p = make_project()
    body = {
        "input": {"type": "time-series", "frequency_hz": 8000, "axes": ["audio"]},
        "dsp": [{"block": "mfe"}],
        "learn": [{"type": "anomaly-gmm"}],
    }
    impulse = client.post(f"/api/{p.project.id}/impulses", json=body, headers=key(p.api_key)).json()
    impulse = impulse["impulse"]
    row = session.execute(
        text("SELECT input, dsp, learn FROM impulses WHERE id = :id"), {"id": impulse["id"]}
    ).one()
    stored = [json.loads(v) if isinstance(v, str) else v for v in row]
    assert stored == [impulse["input"], impulse["dsp"], impulse["learn"]]
    assert stored[0] == {
        "type": "time-series",
        "axes": ["audio"],
        "window_size_ms": 1000.0,
        "window_increase_ms": 1000.0,
        "frequency_hz": 8000.0,
        "pad_short": True,
    }
    assert stored[2] == [
        {"id": 100, "type": "anomaly-gmm", "name": "anomaly-gmm", "dsp": [1], "settings": {}}
    ]


def test_an_update_changes_only_what_it_sends(client, make_project):
    p = make_project()
    h = key(p.api_key)
    body = {
        "input": {"type": "time-series"},
        "dsp": [{"block": "flatten"}],
        "learn": [{"type": "classification"}],
    }
    iid = client.post(f"/api/{p.project.id}/impulses", json=body, headers=h).json()["id"]
    url = f"/api/{p.project.id}/impulses/{iid}"
    kept = client.put(url, json={"name": "renamed"}, headers=h).json()["impulse"]
    assert kept["learn"] and kept["revision"] == 1
    for part in ("input", "dsp"):
        r = client.put(url, json={part: None}, headers=h)
        assert r.status_code == 422 and r.json()["error"].startswith(f"{part}: must be"), r.text
    cleared = client.put(url, json={"learn": None}, headers=h).json()["impulse"]
    assert cleared["learn"] == [] and cleared["revision"] == 2
