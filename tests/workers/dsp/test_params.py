"""Parameter declarations drive validation and schema; every bad parameter is a ParamError
naming the field and the allowed range or choices."""

from __future__ import annotations

import json
import math

import pytest

from workers.dsp import BLOCKS, ImageInput, Param, ParamError, TimeSeriesInput, get_block


def bad_values(p: Param) -> list:
    if p.type == "bool":
        return ["maybe", 2, 0.5, None, [True]]
    if p.type == "select":
        return ["definitely-not-a-choice", None, 3.5]
    if p.type == "str":
        return [3, None]
    out = ["abc", None, True, float("nan"), float("inf"), [1]]
    if p.minimum is not None:
        out.append(p.minimum - (1 if p.type == "int" else max(abs(p.minimum) * 0.01, 1e-3)))
    if p.maximum is not None:
        out.append(p.maximum + (1 if p.type == "int" else max(abs(p.maximum) * 0.01, 1e-3)))
    if p.type == "int":
        out.append((p.minimum or 0) + 1.5)
    return out


CASES = [(b.name, p, v) for b in BLOCKS.values() for p in b.params for v in bad_values(p)]


@pytest.mark.parametrize(
    ("block", "param", "value"), CASES, ids=[f"{b}-{p.name}-{v!r}" for b, p, v in CASES]
)
def test_every_bad_parameter_names_field_and_range(block, param, value):
    with pytest.raises(ParamError) as err:
        BLOCKS[block].validate({param.name: value})
    assert err.value.field == param.name
    assert param.describe_range() in err.value.message
    assert str(err.value).startswith(param.name + ":")


@pytest.mark.parametrize("block", list(BLOCKS))
def test_defaults_validate_and_unknown_keys_are_rejected(block):
    b = BLOCKS[block]
    p = b.validate({})
    assert set(p) == {q.name for q in b.params}
    assert b.validate(p) == p  # idempotent
    with pytest.raises(ParamError) as err:
        b.validate({"frame_lenght": 0.02})
    assert err.value.field == "frame_lenght" and "unknown parameter" in err.value.message


@pytest.mark.parametrize("block", list(BLOCKS))
def test_schema_is_json_and_declares_every_param(block):
    b = BLOCKS[block]
    s = json.loads(json.dumps(b.schema()))
    assert (
        s["name"] == block
        and s["implementation_version"] >= 1
        and s["input_kind"] in ("timeseries", "image")
    )
    assert [p["name"] for p in s["params"]] == [p.name for p in b.params]
    assert set(s["json_schema"]["properties"]) == {p.name for p in b.params}
    assert s["json_schema"]["additionalProperties"] is False
    for p in s["params"]:
        assert p["help"] and p["label"]
        assert {
            "name",
            "type",
            "default",
            "minimum",
            "maximum",
            "choices",
            "help",
            "label",
        } <= p.keys()


def test_form_strings_are_coerced():
    p = BLOCKS["mfcc"].validate(
        {"num_cepstral": "12", "frame_length": "0.025", "win_size": 0.0 + 51}
    )
    assert p["num_cepstral"] == 12 and isinstance(p["num_cepstral"], int)
    assert p["frame_length"] == 0.025 and p["win_size"] == 51
    q = BLOCKS["flatten"].validate({"skewness": "true", "average": 0})
    assert q["skewness"] is True and q["average"] is False
    assert BLOCKS["spectral"].validate({"filter_type": "high"})["filter_type"] == "high"


@pytest.mark.parametrize(
    ("block", "params", "field", "text"),
    [
        (
            "mfcc",
            {"num_cepstral": 40, "num_filters": 32},
            "num_cepstral",
            "at most num_filters (32)",
        ),
        ("mfcc", {"win_size": 100}, "win_size", "odd"),
        ("mfcc", {"fft_length": 300}, "fft_length", "power of two"),
        ("mfe", {"fft_length": 1000}, "fft_length", "power of two"),
        ("spectrogram", {"fft_length": 48}, "fft_length", "power of two"),
        (
            "flatten",
            {"average": False, "minimum": False, "maximum": False, "rms": False, "stdev": False},
            "average",
            "at least one",
        ),
    ],
)
def test_cross_field_checks(block, params, field, text):
    with pytest.raises(ParamError) as err:
        BLOCKS[block].validate(params)
    assert err.value.field == field and text in err.value.message


def test_get_block():
    assert get_block("mfcc") is BLOCKS["mfcc"]
    assert set(BLOCKS) == {"raw", "flatten", "spectral", "spectrogram", "mfe", "mfcc", "image"}
    with pytest.raises(ParamError) as err:
        get_block("mfccc")
    assert (
        err.value.field == "block"
        and "mfcc" in err.value.message
        and "spectral" in err.value.message
    )


def test_frequency_must_be_positive():
    import numpy as np

    with pytest.raises(ParamError) as err:
        BLOCKS["mfcc"].run(np.zeros((1, 8000, 1), np.float32), frequency_hz=0, params={})
    assert err.value.field == "frequency_hz"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(window_size_ms=0), "window_size_ms"),
        (dict(window_size_ms=-5), "window_size_ms"),
        (dict(window_increase_ms=0), "window_increase_ms"),
        (dict(frequency_hz=0), "frequency_hz"),
        (dict(frequency_hz=math.nan), "frequency_hz"),
        (dict(pad_short="perhaps"), "pad_short"),
        (dict(axes=[]), "axes"),
        (dict(axes=["x", "x"]), "axes"),
        (dict(axes="x"), "axes"),
        (dict(window_size_ms=0.01, frequency_hz=10), "window_size_ms"),
    ],
)
def test_timeseries_input_validation(kwargs, field):
    base = dict(axes=None, window_size_ms=1000, window_increase_ms=500, frequency_hz=100)
    with pytest.raises(ParamError) as err:
        TimeSeriesInput(**{**base, **kwargs}).validate()
    assert err.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(width=0), "width"),
        (dict(height=5000), "height"),
        (dict(width=9.5), "width"),
        (dict(resize_mode="crop"), "resize_mode"),
        (dict(color_depth="cmyk"), "color_depth"),
    ],
)
def test_image_input_validation(kwargs, field):
    with pytest.raises(ParamError) as err:
        ImageInput(**kwargs).validate()
    assert err.value.field == field


def test_input_schemas_are_json():
    ts = json.loads(json.dumps(TimeSeriesInput.schema()))
    assert {p["name"] for p in ts["params"]} == {
        "axes",
        "window_size_ms",
        "window_increase_ms",
        "frequency_hz",
        "pad_short",
    }
    im = json.loads(json.dumps(ImageInput.schema()))
    assert {p["name"] for p in im["params"]} == {"width", "height", "resize_mode", "color_depth"}


def test_memoised_validation_keeps_types_apart():
    b = BLOCKS["mfcc"]
    assert b.validate({"num_cepstral": 1})["num_cepstral"] == 1
    with pytest.raises(ParamError):
        b.validate({"num_cepstral": True})  # equal to 1 and same hash, still not an integer
    p = b.validate({})
    p["num_cepstral"] = 99  # the caller's copy; the memo is not affected
    assert b.validate({})["num_cepstral"] == 13
