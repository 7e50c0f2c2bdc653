"""Neural-network architectures as data.

An architecture is a list of layer dicts such as ``{"type": "conv1d", "filters": 8}``. Each
layer type declares its settings once in `LAYER_TYPES` (type, default, bounds, help), and
that one declaration drives validation, the API schema and the dashboard form. The output
layer (a dense layer with one unit per class, or per regression target) is not part of the
list: `build_keras_model` appends it.

Validation and shape inference are pure Python; only `build_keras_model` imports Keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from workers.learn.errors import LearnError

ACTIVATIONS = ("relu", "relu6", "tanh", "sigmoid", "linear")
PADDINGS = ("same", "valid")
FEATURE_KINDS = ("spectral", "flatten", "timeseries", "raw", "mfcc", "mfe", "spectrogram", "image")
TASKS = ("classification", "regression")
MAX_LAYERS = 64


@dataclass(frozen=True)
class Setting:
    """One setting of a layer type: `kind` is "int", "float", "choice", "int_or_pair", "shape" or
    "bool"."""

    kind: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is allowed (and is the default when `default` is None)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "default": self.default, "help": self.help}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.choices:
            out["choices"] = list(self.choices)
        if self.optional:
            out["optional"] = True
        return out


def _activation(default: str = "relu") -> Setting:
    return Setting("choice", default, "activation function", choices=ACTIVATIONS)


def _padding(default: str = "same") -> Setting:
    return Setting(
        "choice",
        default,
        "'same' keeps the size (stride 1), 'valid' uses no padding",
        choices=PADDINGS,
    )


LAYER_TYPES: dict[str, dict[str, Any]] = {
    "dense": {
        "help": "fully connected layer (needs a 1-D input: add flatten or global_avg_pool first)",
        "settings": {
            "units": Setting("int", 20, "number of neurons", 1, 4096),
            "activation": _activation(),
        },
    },
    "dropout": {
        "help": "randomly zeroes a fraction of the activations while training (no op at inference)",
        "settings": {"rate": Setting("float", 0.25, "fraction dropped", 0.0, 0.95)},
    },
    "activation": {
        "help": "an activation function on its own",
        "settings": {"activation": _activation()},
    },
    "batch_norm": {
        "help": "batch normalisation (folded into the previous layer when converting to .tflite)",
        "settings": {},
    },
    "conv1d": {
        "help": "1-D convolution over (steps, channels)",
        "settings": {
            "filters": Setting("int", 8, "number of output channels", 1, 1024),
            "kernel_size": Setting("int", 3, "kernel length in steps", 1, 64),
            "strides": Setting("int", 1, "step between kernel positions", 1, 16),
            "padding": _padding(),
            "activation": _activation(),
        },
    },
    "conv2d": {
        "help": "2-D convolution over (height, width, channels)",
        "settings": {
            "filters": Setting("int", 16, "number of output channels", 1, 1024),
            "kernel_size": Setting(
                "int_or_pair", 3, "kernel size, one int or [height, width]", 1, 32
            ),
            "strides": Setting("int_or_pair", 1, "step, one int or [height, width]", 1, 16),
            "padding": _padding(),
            "activation": _activation(),
        },
    },
    "depthwise_conv2d": {
        "help": "depthwise 2-D convolution (one kernel per input channel)",
        "settings": {
            "kernel_size": Setting(
                "int_or_pair", 3, "kernel size, one int or [height, width]", 1, 32
            ),
            "strides": Setting("int_or_pair", 1, "step, one int or [height, width]", 1, 16),
            "padding": _padding(),
            "depth_multiplier": Setting("int", 1, "output channels per input channel", 1, 8),
            "activation": _activation(),
        },
    },
    "ds_conv2d": {
        "help": "depthwise-separable block (DS-CNN): depthwise conv, then a 1x1 pointwise conv, "
        "each followed by batch norm and the activation",
        "settings": {
            "filters": Setting("int", 32, "output channels of the pointwise conv", 1, 1024),
            "kernel_size": Setting(
                "int_or_pair", 3, "depthwise kernel size, one int or [height, width]", 1, 32
            ),
            "strides": Setting(
                "int_or_pair", 1, "depthwise step, one int or [height, width]", 1, 16
            ),
            "padding": _padding(),
            "activation": _activation(),
            "batch_norm": Setting(
                "bool", True, "batch norm after each conv (folded at conversion)"
            ),
        },
    },
    "max_pool": {
        "help": "max pooling; 1-D on (steps, channels), 2-D on (height, width, channels)",
        "settings": {
            "pool_size": Setting("int_or_pair", 2, "window, one int or [height, width]", 1, 32),
            "strides": Setting(
                "int_or_pair", None, "step (default: the pool size)", 1, 32, optional=True
            ),
            "padding": _padding(),
        },
    },
    "avg_pool": {
        "help": "average pooling; 1-D on (steps, channels), 2-D on (height, width, channels)",
        "settings": {
            "pool_size": Setting("int_or_pair", 2, "window, one int or [height, width]", 1, 32),
            "strides": Setting(
                "int_or_pair", None, "step (default: the pool size)", 1, 32, optional=True
            ),
            "padding": _padding(),
        },
    },
    "global_avg_pool": {
        "help": (
            "average over all steps (1-D) or all positions (2-D), leaving one value per channel"
        ),
        "settings": {},
    },
    "flatten": {"help": "flattens to a 1-D vector", "settings": {}},
    "reshape": {
        "help": "reshapes (without the batch axis); one dimension may be -1",
        "settings": {"shape": Setting("shape", None, "target shape, e.g. [50, 13, 1]")},
    },
}


def layer_types_schema() -> dict[str, Any]:
    """`LAYER_TYPES` as plain JSON-able data (for the API and the dashboard form)."""
    return {
        name: {
            "help": spec["help"],
            "settings": {k: s.as_dict() for k, s in spec["settings"].items()},
        }
        for name, spec in LAYER_TYPES.items()
    }


# --------------------------------------------------------------------------- validation


def _where(index: int, layer_type: str, field: str | None = None) -> str:
    where = f"layer {index} ({layer_type})"
    return f"{where}, setting '{field}'" if field else where


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_number(value: Any, setting: Setting, where: str, *, integer: bool) -> int | float:
    if integer:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not _is_int(value):
            raise LearnError(f"{where}: expected an integer, got {value!r}")
    elif not (_is_int(value) or isinstance(value, float)) or isinstance(value, bool):
        raise LearnError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise LearnError(f"{where}: expected a finite number, got {value!r}")
    if setting.minimum is not None and value < setting.minimum:
        raise LearnError(f"{where}: {value} is below the minimum {setting.minimum}")
    if setting.maximum is not None and value > setting.maximum:
        raise LearnError(f"{where}: {value} is above the maximum {setting.maximum}")
    return value if integer else float(value)


def _check_setting(value: Any, setting: Setting, where: str) -> Any:
    if value is None:
        if setting.optional:
            return None
        raise LearnError(f"{where}: a value is required")
    if setting.kind == "int":
        return _check_number(value, setting, where, integer=True)
    if setting.kind == "float":
        return _check_number(value, setting, where, integer=False)
    if setting.kind == "bool":
        if not isinstance(value, bool):
            raise LearnError(f"{where}: expected true or false, got {value!r}")
        return value
    if setting.kind == "choice":
        if value not in setting.choices:
            raise LearnError(f"{where}: {value!r} is not one of {', '.join(setting.choices)}")
        return value
    if setting.kind == "int_or_pair":
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise LearnError(
                    f"{where}: expected one integer or a pair [height, width], got {list(value)!r}"
                )
            return [_check_number(v, setting, where, integer=True) for v in value]
        return _check_number(value, setting, where, integer=True)
    if setting.kind == "shape":
        if not isinstance(value, list | tuple) or not value:
            raise LearnError(f"{where}: expected a non-empty list of dimensions, got {value!r}")
        dims = []
        for v in value:
            if not _is_int(v) or (v < 1 and v != -1):
                raise LearnError(
                    f"{where}: dimensions must be positive integers or one -1, got {list(value)!r}"
                )
            dims.append(v)
        if dims.count(-1) > 1:
            raise LearnError(f"{where}: at most one dimension may be -1, got {dims!r}")
        return dims
    raise AssertionError(f"unknown setting kind {setting.kind}")


def _pair(value: int | list[int] | None, fallback: int | list[int]) -> tuple[int, int]:
    v = fallback if value is None else value
    return (v[0], v[1]) if isinstance(v, list | tuple) else (v, v)


def _single(
    value: int | list[int] | None, fallback: int | list[int], where: str, field: str
) -> int:
    v = fallback if value is None else value
    if isinstance(v, list | tuple):
        raise LearnError(
            f"{where}, setting '{field}': a 1-D layer takes one integer, got {list(v)!r}"
        )
    return v


def _conv_out(size: int, kernel: int, stride: int, padding: str, where: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    out = (size - kernel) // stride + 1
    if out < 1:
        raise LearnError(
            f"{where}: the kernel/window ({kernel}) is larger than the input ({size}) with "
            "padding 'valid'"
        )
    return out


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _need_rank(shape: tuple[int, ...], ranks: tuple[int, ...], where: str, what: str) -> None:
    if len(shape) not in ranks:
        raise LearnError(
            f"{where}: needs {what}, but its input has shape {_shape_text(shape)}; add a "
            "reshape layer first"
        )


def _layer_out(
    layer: dict[str, Any], shape: tuple[int, ...], where: str
) -> tuple[tuple[int, ...], int, int]:
    """Output shape, parameter count and multiply-accumulates of one validated layer."""
    t = layer["type"]
    if t == "dense":
        _need_rank(shape, (1,), where, "a 1-D input (add flatten or global_avg_pool before it)")
        units = layer["units"]
        return (units,), shape[0] * units + units, shape[0] * units
    if t in ("dropout", "activation"):
        return shape, 0, 0
    if t == "batch_norm":
        return shape, 4 * shape[-1], 0
    if t == "flatten":
        return (math.prod(shape),), 0, 0
    if t == "reshape":
        target = list(layer["shape"])
        total = math.prod(shape)
        if -1 in target:
            known = math.prod(d for d in target if d != -1)
            if total % known:
                raise LearnError(
                    f"{where}: cannot reshape {_shape_text(shape)} ({total} values) to {target}"
                )
            target[target.index(-1)] = total // known
        if math.prod(target) != total:
            raise LearnError(
                f"{where}: cannot reshape {_shape_text(shape)} ({total} values) to "
                f"{target} ({math.prod(target)} values)"
            )
        return tuple(target), 0, 0
    if t == "global_avg_pool":
        _need_rank(shape, (2, 3), where, "(steps, channels) or (height, width, channels)")
        return (shape[-1],), 0, 0
    if t == "conv1d":
        _need_rank(shape, (2,), where, "a 2-D input (steps, channels)")
        steps = _conv_out(shape[0], layer["kernel_size"], layer["strides"], layer["padding"], where)
        k, cin, cout = layer["kernel_size"], shape[1], layer["filters"]
        return (steps, cout), k * cin * cout + cout, steps * cout * k * cin
    if t in ("conv2d", "depthwise_conv2d", "ds_conv2d"):
        _need_rank(shape, (3,), where, "a 3-D input (height, width, channels)")
        kh, kw = _pair(layer["kernel_size"], 3)
        sh, sw = _pair(layer["strides"], 1)
        h = _conv_out(shape[0], kh, sh, layer["padding"], where)
        w = _conv_out(shape[1], kw, sw, layer["padding"], where)
        cin = shape[2]
        if t == "conv2d":
            cout = layer["filters"]
            return (h, w, cout), kh * kw * cin * cout + cout, h * w * cout * kh * kw * cin
        if t == "depthwise_conv2d":
            cout = cin * layer["depth_multiplier"]
            return (h, w, cout), kh * kw * cout + cout, h * w * cout * kh * kw
        cout = layer["filters"]
        extra = 4 if layer["batch_norm"] else 1  # BN: gamma, beta, moving mean/var; else a bias
        params = kh * kw * cin + extra * cin + cin * cout + extra * cout
        return (h, w, cout), params, h * w * cin * kh * kw + h * w * cin * cout
    if t in ("max_pool", "avg_pool"):
        _need_rank(shape, (2, 3), where, "(steps, channels) or (height, width, channels)")
        if len(shape) == 2:
            p = _single(layer["pool_size"], 2, where, "pool_size")
            s = _single(layer["strides"], p, where, "strides")
            return (_conv_out(shape[0], p, s, layer["padding"], where), shape[1]), 0, 0
        ph, pw = _pair(layer["pool_size"], 2)
        sh, sw = _pair(layer["strides"], [ph, pw])
        h = _conv_out(shape[0], ph, sh, layer["padding"], where)
        w = _conv_out(shape[1], pw, sw, layer["padding"], where)
        return (h, w, shape[2]), 0, 0
    raise AssertionError(t)


def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise LearnError(
            f"input shape must be a list of positive integers, got {input_shape!r}"
        ) from None
    if not shape or any(d < 1 for d in shape):
        raise LearnError(
            f"input shape must be a non-empty list of positive integers, got {input_shape!r}"
        )
    return shape


def validate_architecture(layers: Any, *, input_shape: Any) -> list[dict[str, Any]]:
    """Check an architecture against `LAYER_TYPES` and the input shape.

    Returns the layers with every setting filled in (defaults added). Raises `LearnError`
    naming the layer index and the setting at fault. The list must end with a 1-D output
    (the classification/regression head is appended by `build_keras_model`).
    """
    return [
        dict(layer) for layer in describe_architecture(layers, input_shape=input_shape)["layers"]
    ]


def describe_architecture(
    layers: Any, *, input_shape: Any, n_outputs: int | None = None
) -> dict[str, Any]:
    """Validate and describe: per-layer output shapes, parameters and MACs (the head included when
    `n_outputs` is given). ``{"layers": [...], "shapes": [...], "parameters": int, "macs":
    int}``."""
    shape = _check_input_shape(input_shape)
    if not isinstance(layers, list | tuple):
        raise LearnError(f"the architecture must be a list of layers, got {type(layers).__name__}")
    if len(layers) > MAX_LAYERS:
        raise LearnError(
            f"the architecture has {len(layers)} layers; at most {MAX_LAYERS} are allowed"
        )
    out_layers: list[dict[str, Any]] = []
    shapes: list[list[int]] = []
    params = macs = 0
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise LearnError(f"layer {index}: expected an object with a 'type', got {layer!r}")
        layer_type = layer.get("type")
        if layer_type not in LAYER_TYPES:
            raise LearnError(
                f"layer {index}: unknown type {layer_type!r}; known types: {', '.join(LAYER_TYPES)}"
            )
        declared: dict[str, Setting] = LAYER_TYPES[layer_type]["settings"]
        unknown = sorted(set(layer) - set(declared) - {"type"})
        if unknown:
            known = ", ".join(declared) or "none"
            raise LearnError(
                f"{_where(index, layer_type)}: unknown setting '{unknown[0]}' (known "
                f"settings: {known})"
            )
        clean: dict[str, Any] = {"type": layer_type}
        for field, setting in declared.items():
            value = layer.get(field, setting.default)
            clean[field] = _check_setting(value, setting, _where(index, layer_type, field))
        shape, p, m = _layer_out(clean, shape, _where(index, layer_type))
        params, macs = params + p, macs + m
        out_layers.append(clean)
        shapes.append(list(shape))
    if len(shape) != 1:
        raise LearnError(
            f"the last layer outputs shape {_shape_text(shape)}; end the architecture with flatten "
            "or global_avg_pool so the output layer gets a 1-D input"
        )
    if n_outputs is not None:
        params += shape[0] * n_outputs + n_outputs
        macs += shape[0] * n_outputs
    return {"layers": out_layers, "shapes": shapes, "parameters": params, "macs": macs}


# --------------------------------------------------------------------------- defaults


def default_architecture(
    *, input_shape: Any, feature_kind: str, n_outputs: int, task: str = "classification"
) -> list[dict[str, Any]]:
    """An architecture that works out of the box for the given features.

    - spectral / flatten features: two dense layers (20, 10);
    - timeseries / raw: two 1-D conv blocks (8 and 16 filters, kernel 3, max pool, dropout);
    - mfcc / mfe / spectrogram, input (frames, coefficients): a DS-CNN in the spirit of the
      MLPerf Tiny keyword-spotting model: a 2-D conv (32 filters, 5x3, stride 2x2) with batch
      norm, three depthwise-separable blocks of 32, dropout, global average pooling (on FSDD
      MFCC 50x13: 99 % test accuracy float32 and int8, see bench/train.py);
    - image, input (height, width, channels): a small CNN of three conv + max-pool stages.
    """
    if feature_kind not in FEATURE_KINDS:
        raise LearnError(
            f"unknown feature kind {feature_kind!r}; known: {', '.join(FEATURE_KINDS)}"
        )
    if task not in TASKS:
        raise LearnError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    if not _is_int(n_outputs) or n_outputs < 1:
        raise LearnError(f"the number of outputs must be a positive integer, got {n_outputs!r}")
    shape = _check_input_shape(input_shape)
    layers: list[dict[str, Any]]
    if feature_kind in ("spectral", "flatten"):
        layers = [] if len(shape) == 1 else [{"type": "flatten"}]
        layers += [{"type": "dense", "units": 20}, {"type": "dense", "units": 10}]
    elif feature_kind in ("timeseries", "raw"):
        if len(shape) > 2:
            raise LearnError(
                "time-series features need shape (steps,) or (steps, axes), got "
                f"{_shape_text(shape)}"
            )
        steps, axes = shape if len(shape) == 2 else (shape[0], 1)
        layers = [] if len(shape) == 2 else [{"type": "reshape", "shape": [steps, axes]}]
        layers += [
            {"type": "conv1d", "filters": 8, "kernel_size": 3},
            {"type": "max_pool", "pool_size": 2},
            {"type": "dropout", "rate": 0.25},
            {"type": "conv1d", "filters": 16, "kernel_size": 3},
            {"type": "max_pool", "pool_size": 2},
            {"type": "dropout", "rate": 0.25},
            {"type": "flatten"},
        ]
    elif feature_kind in ("mfcc", "mfe", "spectrogram"):
        if len(shape) not in (2, 3):
            raise LearnError(
                f"{feature_kind} features need shape (frames, coefficients), got "
                f"{_shape_text(shape)}"
            )
        frames, coefs = shape[0], shape[1]
        layers = [] if len(shape) == 3 else [{"type": "reshape", "shape": [frames, coefs, 1]}]
        layers += [
            {
                "type": "conv2d",
                "filters": 32,
                "kernel_size": [5, 3] if coefs >= 3 else [5, 1],
                "strides": [2, 2] if coefs >= 4 else [2, 1],
                "activation": "linear",
            },
            {"type": "batch_norm"},
            {"type": "activation", "activation": "relu"},
            {"type": "ds_conv2d", "filters": 32},
            {"type": "ds_conv2d", "filters": 32},
            {"type": "ds_conv2d", "filters": 32},
            {"type": "dropout", "rate": 0.25},
            {"type": "global_avg_pool"},
        ]
    else:  # image
        if len(shape) != 3:
            raise LearnError(
                f"image features need shape (height, width, channels), got {_shape_text(shape)}"
            )
        layers = []
        h, w = shape[0], shape[1]
        for filters in (16, 32, 32):
            layers.append({"type": "conv2d", "filters": filters, "kernel_size": 3})
            if min(h, w) >= 2:
                layers.append({"type": "max_pool", "pool_size": 2})
                h, w = math.ceil(h / 2), math.ceil(w / 2)
        layers.append({"type": "dropout", "rate": 0.25})
        layers.append({"type": "flatten"} if h * w * 32 <= 4096 else {"type": "global_avg_pool"})
    return validate_architecture(layers, input_shape=shape)


# --------------------------------------------------------------------------- Keras


def _keras_activation(name: str) -> str | None:
    return None if name == "linear" else name


def build_keras_model(
    layers: Any, *, input_shape: Any, n_outputs: int, task: str = "classification"
) -> Any:
    """Build (not compile) a Keras model: input → the validated layers → output head.

    The head is a dense layer named "output": softmax over `n_outputs` classes for
    classification, linear with `n_outputs` targets for regression.
    """
    import keras  # lazy: only the worker pays for TensorFlow
    from keras import layers as kl

    _check_output_head(task, n_outputs)
    shape = _check_input_shape(input_shape)
    layers = validate_architecture(layers, input_shape=shape)
    inputs = keras.Input(shape=shape, name="features")
    x = inputs
    rank = len(shape)
    for i, layer in enumerate(layers):
        x = _keras_layer(kl, layer, x, name=f"l{i}_{layer['type']}", rank=rank)
        if layer["type"] in ("flatten", "global_avg_pool", "reshape"):
            rank = len(x.shape) - 1
    activation = "softmax" if task == "classification" else None
    outputs = kl.Dense(n_outputs, activation=activation, name="output")(x)
    return keras.Model(inputs, outputs, name="tinyforge_model")


def _check_output_head(task: str, n_outputs: Any) -> None:
    if task not in TASKS:
        raise LearnError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    if not _is_int(n_outputs) or n_outputs < 1:
        raise LearnError(f"the number of outputs must be a positive integer, got {n_outputs!r}")
    if task == "classification" and n_outputs < 2:
        raise LearnError("classification needs at least two classes")


def _keras_layer(kl: Any, layer: dict[str, Any], x: Any, *, name: str, rank: int) -> Any:
    """Apply one validated layer (`kl` is `keras.layers`) to the tensor `x` of the given rank
    (without the batch axis); return the output tensor."""
    t = layer["type"]
    if t == "dense":
        return kl.Dense(
            layer["units"], activation=_keras_activation(layer["activation"]), name=name
        )(x)
    if t == "dropout":
        return kl.Dropout(layer["rate"], name=name)(x)
    if t == "activation":
        return kl.Activation(layer["activation"], name=name)(x)
    if t == "batch_norm":
        return kl.BatchNormalization(name=name)(x)
    if t == "flatten":
        return kl.Flatten(name=name)(x)
    if t == "reshape":
        return kl.Reshape(tuple(layer["shape"]), name=name)(x)
    if t == "global_avg_pool":
        # an average pool over the whole map + flatten: converts to AVERAGE_POOL_2D + RESHAPE
        # (what MLPerf Tiny's DS-CNN uses) instead of MEAN
        if rank == 2:
            x = kl.AveragePooling1D(int(x.shape[1]), name=name)(x)
        else:
            x = kl.AveragePooling2D((int(x.shape[1]), int(x.shape[2])), name=name)(x)
        return kl.Flatten(name=f"{name}_flatten")(x)
    if t == "conv1d":
        return kl.Conv1D(
            layer["filters"],
            layer["kernel_size"],
            strides=layer["strides"],
            padding=layer["padding"],
            activation=_keras_activation(layer["activation"]),
            name=name,
        )(x)
    if t == "conv2d":
        return kl.Conv2D(
            layer["filters"],
            _pair(layer["kernel_size"], 3),
            strides=_pair(layer["strides"], 1),
            padding=layer["padding"],
            activation=_keras_activation(layer["activation"]),
            name=name,
        )(x)
    if t == "depthwise_conv2d":
        return kl.DepthwiseConv2D(
            _pair(layer["kernel_size"], 3),
            strides=_pair(layer["strides"], 1),
            padding=layer["padding"],
            depth_multiplier=layer["depth_multiplier"],
            activation=_keras_activation(layer["activation"]),
            name=name,
        )(x)
    if t == "ds_conv2d":
        return _keras_ds_conv2d(kl, layer, x, name=name)
    if t in ("max_pool", "avg_pool"):
        return _keras_pool(kl, layer, x, name=name, rank=rank)
    raise AssertionError(t)  # pragma: no cover - validate_architecture rejects unknown types


def _keras_ds_conv2d(kl: Any, layer: dict[str, Any], x: Any, *, name: str) -> Any:
    """Depthwise conv → [batch norm] → activation → 1×1 pointwise conv → [batch norm] →
    activation (the DS-CNN block; without batch norm the convolutions carry biases)."""
    bn = layer["batch_norm"]
    x = kl.DepthwiseConv2D(
        _pair(layer["kernel_size"], 3),
        strides=_pair(layer["strides"], 1),
        padding=layer["padding"],
        use_bias=not bn,
        name=f"{name}_dw",
    )(x)
    if bn:
        x = kl.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = kl.Activation(layer["activation"], name=f"{name}_dw_act")(x)
    x = kl.Conv2D(layer["filters"], 1, use_bias=not bn, name=f"{name}_pw")(x)
    if bn:
        x = kl.BatchNormalization(name=f"{name}_pw_bn")(x)
    return kl.Activation(layer["activation"], name=f"{name}_pw_act")(x)


def _keras_pool(kl: Any, layer: dict[str, Any], x: Any, *, name: str, rank: int) -> Any:
    """Max or average pooling, 1-D on (steps, channels) and 2-D on (height, width, channels);
    the stride defaults to the pool size."""
    if rank == 2:
        pool = kl.MaxPooling1D if layer["type"] == "max_pool" else kl.AveragePooling1D
        p = layer["pool_size"]
        return pool(p, strides=layer["strides"] or p, padding=layer["padding"], name=name)(x)
    pool = kl.MaxPooling2D if layer["type"] == "max_pool" else kl.AveragePooling2D
    p = _pair(layer["pool_size"], 2)
    return pool(p, strides=_pair(layer["strides"], list(p)), padding=layer["padding"], name=name)(x)
