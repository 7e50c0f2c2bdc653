"""Architectures as data: validation messages, shape inference, defaults, Keras building."""

import subprocess
import sys

import pytest

from tests.paths import REPO_ROOT
from workers.learn import (
    LearnError,
    default_architecture,
    describe_architecture,
    validate_architecture,
)
from workers.learn.architectures import LAYER_TYPES, layer_types_schema


def test_import_does_not_pull_tensorflow():
    code = (
        "import sys, workers.learn, workers.learn.quantize, workers.learn.evaluate, "
        "workers.learn.anomaly;bad=[m for m in "
        "('tensorflow','keras','tflite_micro','ai_edge_litert') if m in sys.modules];print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_defaults_are_filled_in():
    layers = validate_architecture([{"type": "dense"}, {"type": "dropout"}], input_shape=(10,))
    assert layers == [
        {"type": "dense", "units": 20, "activation": "relu"},
        {"type": "dropout", "rate": 0.25},
    ]


@pytest.mark.parametrize(
    ("layers", "shape", "message"),
    [
        (
            [{"type": "dense", "units": 0}],
            (4,),
            "layer 0 (dense), setting 'units': 0 is below the minimum 1",
        ),
        (
            [{"type": "dense", "units": 2.5}],
            (4,),
            "layer 0 (dense), setting 'units': expected an integer",
        ),
        (
            [{"type": "dense"}, {"type": "dropout", "rate": 1.5}],
            (4,),
            "layer 1 (dropout), setting 'rate': 1.5 is above",
        ),
        ([{"type": "dense", "unit": 3}], (4,), "layer 0 (dense): unknown setting 'unit'"),
        ([{"type": "lstm"}], (4,), "layer 0: unknown type 'lstm'"),
        ([{"units": 3}], (4,), "layer 0: unknown type None"),
        (["dense"], (4,), "layer 0: expected an object"),
        (
            [{"type": "dense", "activation": "softplus"}],
            (4,),
            "setting 'activation': 'softplus' is not one of",
        ),
        ([{"type": "conv1d"}], (4,), "layer 0 (conv1d): needs a 2-D input (steps, channels)"),
        ([{"type": "conv2d"}, {"type": "flatten"}], (10, 3), "layer 0 (conv2d): needs a 3-D input"),
        ([{"type": "dense"}], (10, 3), "layer 0 (dense): needs a 1-D input"),
        (
            [{"type": "reshape", "shape": [7, 2]}, {"type": "flatten"}],
            (15,),
            "layer 0 (reshape): cannot reshape (15,)",
        ),
        (
            [{"type": "conv1d", "kernel_size": 9, "padding": "valid"}, {"type": "flatten"}],
            (5, 1),
            "kernel/window (9) is larger",
        ),
        (
            [{"type": "conv2d", "kernel_size": [3, 3, 3]}],
            (8, 8, 1),
            "setting 'kernel_size': expected one integer or a pair",
        ),
        (
            [{"type": "max_pool", "pool_size": [2, 2]}, {"type": "flatten"}],
            (8, 2),
            "a 1-D layer takes one integer",
        ),
        ([{"type": "conv1d"}], (10, 2), "end the architecture with flatten or global_avg_pool"),
        ("dense", (4,), "must be a list of layers"),
        ([{"type": "dense", "use_bias": True}], (4,), "unknown setting 'use_bias'"),
        ([{"type": "dense"}], (0,), "input shape must be a non-empty list of positive integers"),
    ],
)
def test_validation_errors_name_layer_and_field(layers, shape, message):
    with pytest.raises(LearnError) as err:
        validate_architecture(layers, input_shape=shape)
    assert message in str(err.value)


def test_shapes_params_and_macs():
    d = describe_architecture(
        [
            {"type": "reshape", "shape": [8, 6, 1]},
            {
                "type": "conv2d",
                "filters": 4,
                "kernel_size": [3, 2],
                "strides": [2, 1],
                "padding": "valid",
            },
            {"type": "ds_conv2d", "filters": 5},
            {"type": "max_pool", "pool_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 3},
        ],
        input_shape=(48,),
        n_outputs=2,
    )
    # conv valid: h = (8-3)//2+1 = 3, w = (6-2)//1+1 = 5; pool 'same' → (2, 3)
    assert d["shapes"] == [[8, 6, 1], [3, 5, 4], [3, 5, 5], [2, 3, 5], [30], [3]]
    conv = 3 * 2 * 1 * 4 + 4
    ds = 9 * 4 + 4 * 4 + 4 * 5 + 4 * 5  # batch norm: 4 values per channel
    dense = 30 * 3 + 3
    head = 3 * 2 + 2
    assert d["parameters"] == conv + ds + dense + head
    assert d["macs"] == 15 * 4 * 6 + (15 * 4 * 9 + 15 * 4 * 5) + 90 + 6


@pytest.mark.parametrize(
    ("kind", "shape"),
    [
        ("spectral", (33,)),
        ("flatten", (4, 3)),
        ("timeseries", (125, 3)),
        ("raw", (375,)),
        ("mfcc", (50, 13)),
        ("mfe", (49, 40)),
        ("spectrogram", (30, 65, 1)),
        ("image", (32, 32, 3)),
        ("image", (96, 96, 1)),
    ],
)
def test_default_architectures_validate(kind, shape):
    layers = default_architecture(input_shape=shape, feature_kind=kind, n_outputs=3)
    d = describe_architecture(layers, input_shape=shape, n_outputs=3)
    assert len(d["shapes"][-1]) == 1
    assert d["parameters"] > 0


def test_default_architecture_rejects_bad_requests():
    with pytest.raises(LearnError, match="unknown feature kind 'audio'"):
        default_architecture(input_shape=(10,), feature_kind="audio", n_outputs=2)
    with pytest.raises(LearnError, match=r"mfcc features need shape \(frames, coefficients\)"):
        default_architecture(input_shape=(650,), feature_kind="mfcc", n_outputs=2)
    with pytest.raises(LearnError, match="unknown task"):
        default_architecture(
            input_shape=(10,), feature_kind="spectral", n_outputs=2, task="ranking"
        )


def test_schema_is_plain_data():
    import json

    schema = layer_types_schema()
    assert set(schema) == set(LAYER_TYPES)
    assert schema["dense"]["settings"]["units"] == {
        "kind": "int",
        "default": 20,
        "help": "number of neurons",
        "minimum": 1,
        "maximum": 4096,
    }
    json.dumps(schema)


def test_keras_model_matches_described_shapes():
    from workers.learn import build_keras_model

    shape = (50, 13)
    layers = default_architecture(input_shape=shape, feature_kind="mfcc", n_outputs=10)
    d = describe_architecture(layers, input_shape=shape, n_outputs=10)
    model = build_keras_model(layers, input_shape=shape, n_outputs=10, task="classification")
    assert tuple(model.output.shape) == (None, 10)
    assert model.count_params() == d["parameters"]
    reg = build_keras_model(
        [{"type": "dense", "units": 4}], input_shape=(6,), n_outputs=1, task="regression"
    )
    assert reg.layers[-1].get_config()["activation"] == "linear"
    with pytest.raises(LearnError, match="at least two classes"):
        build_keras_model([{"type": "dense"}], input_shape=(6,), n_outputs=1, task="classification")
