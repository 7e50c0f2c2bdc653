"""Search spaces as data: per kind of data, the dimensions the tuner varies and their values.

A space is a dict `{dimension: [values, ...]}` (JSON as the API takes it). Dimensions:

- input: `window_size_ms`, `window_stride` (fraction of the window between window starts),
  `downsample` (divide the data's own rate by this), images: `size` (square, pixels) and
  `color_depth`;
- `dsp`: the processing blocks to try (names from `workers.dsp`); `dsp.<param>` gives values of
  a block parameter, applied to whichever chosen block declares it and checked with that
  block's own declaration (`Param`), so the message for an impossible value is the block's;
- the network: `network` (a family, see `NETWORKS`), `width` (filters/units of the first
  layer), `depth` (layers or blocks).

`narrow(space, override)` applies a user's JSON (replace a dimension's values, add a
dimension, or drop one by giving one value); everything is checked with a clear `SpaceError`.
`candidate(space, point, ...)` turns a point (one value per dimension) into an impulse
definition: input block, one DSP block with its parameters, the learning block's layers.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from typing import Any

from workers.dsp import ParamError, get_block
from workers.learn import LearnError, validate_architecture

KINDS = ("motion", "audio", "image")


class SpaceError(ValueError):
    """A bad search space or override: the message names the dimension and what is allowed."""


# ---------------------------------------------------------------- default spaces (per data kind)

DEFAULT_SPACES: dict[str, dict[str, list[Any]]] = {
    "motion": {
        "window_size_ms": [1000, 2000],
        "window_stride": [0.5],
        "downsample": [1, 2, 4],
        "dsp": ["spectral", "flatten", "raw"],
        "dsp.fft_length": [16, 32, 64],
        "dsp.filter_type": ["none", "low"],
        "dsp.analysis_type": ["FFT", "Wavelet"],
        "network": ["dense", "conv1d"],
        "width": [8, 16, 32],
        "depth": [1, 2, 3],
    },
    "audio": {
        "window_size_ms": [1000],
        "window_stride": [1.0],
        "downsample": [1, 2],
        "dsp": ["mfcc", "mfe"],
        "dsp.frame_length": [0.02, 0.032],
        "dsp.frame_stride": [0.016, 0.02, 0.032],
        "dsp.num_filters": [32, 40],
        "dsp.num_cepstral": [10, 13],
        "network": ["ds_cnn", "conv1d", "micronet"],
        "width": [8, 16, 32, 64],
        "depth": [1, 2, 3, 4],
    },
    "image": {
        "size": [32, 48, 64, 96],
        "color_depth": ["grayscale", "rgb"],
        "dsp": ["image"],
        "network": ["cnn", "mobilenet"],
        "width": [8, 16, 32],
        "depth": [1, 2, 3],
    },
}

# which networks read which features: (rank of the per-window feature shape) -> families
NETWORKS: dict[str, str] = {
    "dense": "fully connected layers, `depth` of them, `width` units halving each layer",
    "conv1d": "1-D conv blocks (conv, max pool) over time; filters `width`, doubling per block",
    "ds_cnn": "DS-CNN (MLPerf Tiny KWS): conv stem + `depth` depthwise-separable blocks of `width`",
    "micronet": "MicroNets-style: strided conv stem, DS blocks widening ×2 every 2 blocks with a "
    "stride 2 at each widening, global average pooling (shaped for MCU memory)",
    "cnn": "small CNN: `depth` conv 3x3 + max-pool stages, filters `width` doubling",
    "mobilenet": "MobileNet-like: strided conv stem + `depth` strided DS blocks, width doubling",
}
_NETWORKS_BY_RANK = {1: {"dense", "conv1d"}, 2: {"dense", "conv1d", "ds_cnn", "micronet"}}
_NETWORKS_BY_RANK[3] = {"dense", "cnn", "mobilenet", "ds_cnn", "micronet"}
_DSP_BY_KIND = {
    "motion": {"spectral", "flatten", "raw"},
    "audio": {"mfcc", "mfe", "spectrogram", "raw", "flatten", "spectral"},
    "image": {"image"},
}
_NUMERIC = {
    "window_size_ms": (1, 3_600_000),
    "window_stride": (0.01, 1.0),
    "downsample": (1, 64),
    "size": (4, 1024),
    "width": (1, 512),
    "depth": (1, 8),
}
_INTEGER = {"downsample", "size", "width", "depth"}
_CHOICES = {"color_depth": ("grayscale", "rgb"), "network": tuple(NETWORKS)}
_INPUT_DIMS = {
    "motion": ("window_size_ms", "window_stride", "downsample"),
    "audio": ("window_size_ms", "window_stride", "downsample"),
    "image": ("size", "color_depth"),
}


def default_space(kind: str) -> dict[str, list[Any]]:
    if kind not in DEFAULT_SPACES:
        raise SpaceError(f"unknown kind of data {kind!r}; known: {', '.join(KINDS)}")
    return {k: list(v) for k, v in DEFAULT_SPACES[kind].items()}


def _check_values(kind: str, dim: str, values: Any, dsp_blocks: list[str]) -> list[Any]:
    if not isinstance(values, list) or not values:
        raise SpaceError(f"space.{dim}: must be a non-empty list of values, got {values!r}")
    if len(values) > 64:
        raise SpaceError(f"space.{dim}: at most 64 values, got {len(values)}")
    out: list[Any] = []
    for v in values:
        if dim in _NUMERIC:
            lo, hi = _NUMERIC[dim]
            integer = dim in _INTEGER
            ok = isinstance(v, int | float) and not isinstance(v, bool)
            if ok and integer and float(v) != int(v):
                ok = False
            if not ok or not math.isfinite(v) or not lo <= v <= hi:
                what = "an integer" if integer else "a number"
                raise SpaceError(
                    f"space.{dim}: got {v!r}; each value must be {what} in [{lo}, {hi}]"
                )
            v = int(v) if integer else v
        elif dim in _CHOICES:
            if v not in _CHOICES[dim]:
                raise SpaceError(
                    f"space.{dim}: got {v!r}; choose from {', '.join(map(repr, _CHOICES[dim]))}"
                )
        elif dim == "dsp":
            if v not in _DSP_BY_KIND[kind]:
                raise SpaceError(
                    f"space.dsp: got {v!r}; for {kind} data choose from "
                    f"{', '.join(sorted(_DSP_BY_KIND[kind]))}"
                )
        elif dim.startswith("dsp."):
            name = dim[4:]
            owners = [b for b in dsp_blocks if any(p.name == name for p in get_block(b).params)]
            if not owners:
                raise SpaceError(
                    f"space.{dim}: none of the processing blocks in space.dsp "
                    f"({', '.join(dsp_blocks)}) has a parameter {name!r}"
                )
            for b in owners:
                try:
                    get_block(b).validate({name: v})
                except ParamError as exc:
                    raise SpaceError(f"space.{dim}: {b}: {exc}") from exc
        else:
            raise SpaceError(f"space: unknown dimension {dim!r}")
        if v in out:
            raise SpaceError(f"space.{dim}: value {v!r} is listed twice")
        out.append(v)
    return out


def validate_space(kind: str, space: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Check every dimension of a full space for `kind`; returns a clean copy."""
    if kind not in DEFAULT_SPACES:
        raise SpaceError(f"unknown kind of data {kind!r}; known: {', '.join(KINDS)}")
    if not isinstance(space, Mapping):
        raise SpaceError(f"space: must be an object of dimension -> [values], got {space!r}")
    allowed = set(_INPUT_DIMS[kind]) | {"dsp", "network", "width", "depth"}
    for dim in space:
        if not isinstance(dim, str):
            raise SpaceError(f"space: dimension names are strings, got {dim!r}")
        if dim not in allowed and not dim.startswith("dsp."):
            raise SpaceError(
                f"space: unknown dimension {dim!r} for {kind} data; known: "
                f"{', '.join(sorted(allowed))}, dsp.<parameter>"
            )
    missing = [d for d in ("dsp", "network", "width", "depth") if d not in space]
    if missing:
        raise SpaceError(f"space: missing dimension(s) {', '.join(missing)}")
    dsp_blocks = _check_values(kind, "dsp", space["dsp"], [])
    out = {"dsp": dsp_blocks}
    for dim, values in space.items():
        if dim != "dsp":
            out[dim] = _check_values(kind, dim, values, dsp_blocks)
    return out


def narrow(kind: str, override: Any, base: Mapping[str, list[Any]] | None = None) -> dict:
    """The default space for `kind` (or `base`) with a user's override applied: each dimension
    given replaces that dimension's values (a one-value list fixes it; new values widen it),
    `null` removes an optional `dsp.<param>` dimension (the block default is used)."""
    space = {k: list(v) for k, v in (base or default_space(kind)).items()}
    if override is None:
        return validate_space(kind, space)
    if not isinstance(override, Mapping):
        raise SpaceError(f"space: must be an object of dimension -> [values], got {override!r}")
    for dim, values in override.items():
        if values is None:
            if not str(dim).startswith("dsp."):
                raise SpaceError(f"space.{dim}: only dsp.<parameter> dimensions can be removed")
            space.pop(dim, None)
        else:
            space[dim] = values
    # drop block parameters no chosen block declares any more (user narrowed space.dsp)
    blocks = space.get("dsp") or []
    for dim in [d for d in space if d.startswith("dsp.") and d not in override]:
        name = dim[4:]
        if isinstance(blocks, list) and not any(
            isinstance(b, str)
            and b in _DSP_BY_KIND.get(kind, ())
            and any(p.name == name for p in get_block(b).params)
            for b in blocks
        ):
            space.pop(dim)
    return validate_space(kind, space)


def size(space: Mapping[str, list[Any]]) -> int:
    return math.prod(len(v) for v in space.values())


# ---------------------------------------------------------------- points → impulse definitions


def relevant(point: Mapping[str, Any]) -> dict[str, Any]:
    """The point without parameters its DSP block does not declare (two points that differ only
    there are the same candidate)."""
    block = get_block(point["dsp"])
    names = {p.name for p in block.params}
    return {k: v for k, v in sorted(point.items()) if not k.startswith("dsp.") or k[4:] in names}


def sample_points(space: Mapping[str, list[Any]], n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """Up to `n` distinct (after `relevant`) points drawn uniformly; all of them when the space
    is small."""
    rng = random.Random(seed)
    dims = sorted(space)
    seen: set[tuple] = set()
    out: list[dict[str, Any]] = []
    if size(space) <= 4 * n:
        grid = [
            dict(zip(dims, vals, strict=True))
            for vals in itertools.product(*(space[d] for d in dims))
        ]
        rng.shuffle(grid)
        source = iter(grid)
    else:
        source = ({d: rng.choice(space[d]) for d in dims} for _ in range(50 * n))
    for p in source:
        key = tuple(relevant(p).items())
        if key in seen:
            continue
        seen.add(key)
        out.append(relevant(p))
        if len(out) >= n:
            break
    return out


def _with_reshape(shape: tuple[int, ...], target: tuple[int, ...]) -> list[dict[str, Any]]:
    return [] if shape == target else [{"type": "reshape", "shape": list(target)}]


def network_layers(
    family: str, *, width: int, depth: int, input_shape: tuple[int, ...]
) -> list[dict[str, Any]]:
    """The layers (architecture as data, `workers.learn.architectures`) of one family."""
    shape = tuple(int(s) for s in input_shape)
    rank = len(shape)
    if family not in _NETWORKS_BY_RANK.get(min(rank, 3), set()):
        raise SpaceError(
            f"network {family!r} does not read features shaped {list(shape)}; "
            f"use one of {', '.join(sorted(_NETWORKS_BY_RANK.get(min(rank, 3), set())))}"
        )
    layers: list[dict[str, Any]] = []
    if family == "dense":
        layers += [{"type": "flatten"}] if rank > 1 else []
        units = width
        for _ in range(depth):
            layers.append({"type": "dense", "units": max(2, units)})
            units //= 2
        return layers
    if family == "conv1d":
        steps, chans = (shape[0], 1) if rank == 1 else (shape[0], math.prod(shape[1:]))
        layers += _with_reshape(shape, (steps, chans))
        for i in range(depth):
            layers.append({"type": "conv1d", "filters": width * 2**i, "kernel_size": 3})
            if steps >= 4:
                layers.append({"type": "max_pool", "pool_size": 2})
                steps = math.ceil(steps / 2)
        layers += [{"type": "dropout", "rate": 0.25}, {"type": "flatten"}]
        return layers
    h, w = shape[0], shape[1]
    c = shape[2] if rank == 3 else 1
    layers += _with_reshape(shape, (h, w, c))
    if family == "cnn":
        for i in range(depth):
            layers.append({"type": "conv2d", "filters": width * 2**i, "kernel_size": 3})
            if min(h, w) >= 2:
                layers.append({"type": "max_pool", "pool_size": 2})
                h, w = math.ceil(h / 2), math.ceil(w / 2)
        layers.append({"type": "dropout", "rate": 0.25})
        layers.append(
            {"type": "flatten"}
            if h * w * width * 2 ** (depth - 1) <= 4096
            else {"type": "global_avg_pool"}
        )
        return layers
    # stems of the depthwise-separable families
    kernel = [min(5, h), min(3, w)] if family == "ds_cnn" else [min(3, h), min(3, w)]
    stride = [2 if h >= 4 else 1, 2 if w >= 4 else 1]
    layers += [
        {
            "type": "conv2d",
            "filters": width,
            "kernel_size": kernel,
            "strides": stride,
            "activation": "linear",
        },
        {"type": "batch_norm"},
        {"type": "activation", "activation": "relu"},
    ]
    h, w = math.ceil(h / stride[0]), math.ceil(w / stride[1])
    filters = width
    for i in range(depth):
        strides = 1
        if family == "mobilenet" or (family == "micronet" and i % 2 == 1):
            filters *= 2
            if min(h, w) >= 4:
                strides = 2
                h, w = math.ceil(h / 2), math.ceil(w / 2)
        layers.append({"type": "ds_conv2d", "filters": filters, "strides": strides})
    layers += [{"type": "dropout", "rate": 0.25}, {"type": "global_avg_pool"}]
    return layers


def dsp_params(point: Mapping[str, Any]) -> dict[str, Any]:
    return {k[4:]: v for k, v in point.items() if k.startswith("dsp.")}


def input_block(kind: str, point: Mapping[str, Any], *, source_hz: float | None) -> dict:
    """The impulse's input block for a point (`source_hz`: the data's own rate)."""
    if kind == "image":
        return {
            "type": "image",
            "width": int(point.get("size", 96)),
            "height": int(point.get("size", 96)),
            "resize_mode": "squash",
            "color_depth": point.get("color_depth", "rgb"),
        }
    if not source_hz:
        raise SpaceError("time-series data without a sampling rate")
    window = float(point.get("window_size_ms", 1000))
    return {
        "type": "time-series",
        "window_size_ms": window,
        "window_increase_ms": round(window * float(point.get("window_stride", 1.0)), 3),
        "frequency_hz": source_hz / int(point.get("downsample", 1)),
        "pad_short": True,
    }


def impulse_for(
    kind: str,
    point: Mapping[str, Any],
    *,
    source_hz: float | None,
    n_axes: int,
) -> dict[str, Any]:
    """{input, dsp: {block, params}, learn: {layers}, feature_shape} for a point; SpaceError when
    the combination does not work (a frame longer than the window, a network that does not read
    these features), with the block's or the architecture's own message."""
    inp = input_block(kind, point, source_hz=source_hz)
    block = get_block(point["dsp"])
    shape: tuple[int, ...]
    try:
        params = block.validate(dsp_params(point))
        if kind == "image":
            params = block.validate(
                {
                    **dsp_params(point),
                    "channels": "Grayscale" if inp["color_depth"] == "grayscale" else "RGB",
                }
            )
            shape = (int(inp["height"]), int(inp["width"]), 3 if params["channels"] == "RGB" else 1)
        else:
            samples = max(
                1, int(math.floor(inp["window_size_ms"] * inp["frequency_hz"] / 1000 + 0.5))
            )
            shape = block.output_shape(
                window_samples=samples,
                n_axes=n_axes,
                frequency_hz=inp["frequency_hz"],
                params=params,
            )
    except (ParamError, ValueError) as exc:
        raise SpaceError(f"{point['dsp']}: {exc}") from exc
    shape = tuple(int(s) for s in shape)
    layers = network_layers(
        point["network"], width=int(point["width"]), depth=int(point["depth"]), input_shape=shape
    )
    try:
        layers = validate_architecture(layers, input_shape=shape)
    except LearnError as exc:
        raise SpaceError(f"network {point['network']}: {exc}") from exc
    return {
        "input": inp,
        "dsp": {"block": block.name, "params": params},
        "learn": {"layers": layers},
        "feature_shape": list(shape),
    }
