"""Turn one processing block's configuration into C: constant tables + a `dsp_run` entry point.

Every table is computed here, at build time, by the same functions the NumPy reference uses
(`workers.dsp.primitives`), so C and Python read the same float32 numbers: the FFT twiddles,
the sparse mel filterbank with its constant factors folded in, the DCT matrix, the CMVN
padding map, the Hann window and the Butterworth sections. The C runtime in `runtime/`
does the arithmetic. See docs/dsp-c.md.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workers.deploy import cgen
from workers.deploy.cgen import (
    RUNTIME_PREFIX,
    c_double,
    c_float,
    c_int,
    c_list,
    check_prefix,
    runtime_source,
)
from workers.deploy.ir import CompileError
from workers.dsp import get_block
from workers.dsp.blocks.common import band_edges, frame_geometry
from workers.dsp.params import ParamError
from workers.dsp.primitives import (
    butterworth_sos,
    dct_matrix,
    hann_periodic,
    mel_filterbank,
)

DSP_C_VERSION = "0.1.0"
PACKAGE_DIR = Path(__file__).resolve().parent
RUNTIME_DIR = PACKAGE_DIR / "runtime"
RUNTIME_HEADER = "tinyforge_dsp.h"
RUNTIME_SOURCES: tuple[Path, ...] = (
    RUNTIME_DIR / "tinyforge_dsp_fft.c",
    RUNTIME_DIR / "tinyforge_dsp_audio.c",
    RUNTIME_DIR / "tinyforge_dsp_stats.c",
)
_FLATTEN_BITS = ("average", "minimum", "maximum", "rms", "stdev", "skewness", "kurtosis")


class DspBuildError(ValueError):
    """The block configuration cannot be turned into C: names the block and the parameter."""

    def __init__(self, block: str, field: str, message: str) -> None:
        super().__init__(f"DSP block {block!r}, parameter {field!r}: {message}")
        self.block = block
        self.field = field


@dataclass(frozen=True)
class DspEmission:
    """Generated C for one block configuration.

    `files`: relative path -> text (``<prefix>dsp_config.h``, ``<prefix>dsp_config.c``).
    `sources`: the runtime .c files to compile with them; `include_dirs`: where
    ``tinyforge_dsp.h`` lives. `n_features`: floats written per window; `input_floats`:
    floats read per window; `scratch_bytes`: static RAM of the scratch buffer; `shape`: the
    reference's per-window feature shape.
    """

    block: str
    params: dict
    files: dict[str, str]
    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    n_features: int
    input_floats: int
    scratch_bytes: int
    table_bytes: int
    shape: tuple[int, ...]
    prefix: str = RUNTIME_PREFIX
    manifest: dict = field(default_factory=dict)


def runtime_files(prefix: str = RUNTIME_PREFIX) -> dict[str, str]:
    """The runtime sources as text (relpath -> text) under `prefix`, for a library that must not
    carry the default names: emit its configuration with ``runtime_prefix=prefix`` to match."""
    _check_prefix(prefix, field="prefix")
    return {
        f"runtime/{name}": text
        for name, text in (
            runtime_source(path, prefix)
            for path in (RUNTIME_DIR / RUNTIME_HEADER, *RUNTIME_SOURCES)
        )
    }


def _check_prefix(prefix: str, *, field: str) -> None:
    try:
        check_prefix(prefix)
    except CompileError as exc:
        raise DspBuildError("-", field, str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Tables


@dataclass
class _Table:
    name: str
    ctype: str
    values: list[str]
    comment: str
    nbytes: int

    def render(self) -> dict:
        vals = self.values or ["0"]
        per_line = 8 if self.ctype in ("float", "double") else 16
        return dict(
            name=self.name,
            ctype=self.ctype,
            count=len(vals),
            body=c_list(vals, per_line=per_line),
            comment=self.comment,
        )


class _Ctx:
    """Names and tables of one block's configuration: its own symbols carry `prefix`, the runtime
    it calls is named with `runtime_prefix`."""

    def __init__(self, prefix: str, runtime_prefix: str) -> None:
        self.prefix = prefix
        self.runtime_prefix = runtime_prefix
        self.tables: list[_Table] = []

    def rt(self, name: str) -> str:
        """A runtime function or type: ``dsp_mfcc`` -> ``<runtime prefix>dsp_mfcc``."""
        return f"{self.runtime_prefix}{name}"

    def rt_macro(self, name: str) -> str:
        """A runtime macro: ``DSP_STAT_RMS`` -> ``<RUNTIME PREFIX>DSP_STAT_RMS``."""
        return f"{self.runtime_prefix.upper()}{name}"

    def table(self, stem: str, ctype: str, values, comment: str) -> str:
        name = f"{self.prefix}dsp_tab_{stem}"
        arr = np.asarray(values)
        if ctype == "float":
            vals = [c_float(v, what=f"table {stem}") for v in arr.ravel()]
            size = 4
        elif ctype == "double":
            vals = [c_double(v, what=f"table {stem}") for v in arr.ravel()]
            size = 8
        elif ctype == "uint16_t":
            if arr.size and (arr.min() < 0 or arr.max() > 0xFFFF):
                raise ValueError(f"{stem}: values do not fit uint16")
            vals = [c_int(v) for v in arr.ravel()]
            size = 2
        else:
            raise ValueError(ctype)
        self.tables.append(_Table(name, ctype, vals, comment, max(len(vals), 1) * size))
        return name

    def rfft(self, n: int) -> str:
        """Designated initializer of the runtime's dsp_rfft_t for length n (tables shared)."""
        tw_name = f"{self.prefix}dsp_tab_fft{n}_twiddle"
        if not any(t.name == tw_name for t in self.tables):
            twiddle, bitrev = rfft_tables(n)
            self.table(f"fft{n}_twiddle", "float", twiddle, f"cos/sin(2 pi k / {n}), k < {n // 2}")
            self.table(
                f"fft{n}_bitrev", "uint16_t", bitrev, f"bit reversal of {n // 2} complex points"
            )
        return (
            f"{{ {n}u, {self.prefix}dsp_tab_fft{n}_twiddle, {self.prefix}dsp_tab_fft{n}_bitrev }}"
        )


def rfft_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tables of the runtime's `dsp_rfft` for a power-of-two length n >= 4: float32 twiddles
    ``[cos(2 pi k/n), sin(2 pi k/n)]`` for k < n/2 (computed in float64, rounded once) and the
    uint16 bit-reversal permutation of the n/2 complex points."""
    if n < 4 or n > 65536 or n & (n - 1):
        raise ValueError(f"FFT length {n} is not a power of two between 4 and 65536")
    k = np.arange(n // 2)
    tw = np.empty(n, dtype=np.float64)
    tw[0::2] = np.cos(2.0 * np.pi * k / n)
    tw[1::2] = np.sin(2.0 * np.pi * k / n)
    m = n // 2
    bits = m.bit_length() - 1
    rev = [int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(m)]
    return tw.astype(np.float32), np.asarray(rev, dtype=np.uint16)


# ---------------------------------------------------------------------------------------------
# Per-block emitters: return (config_type, [(field, C expression)], body, scratch_floats)


def _sparse_bank(ctx: _Ctx, weights: np.ndarray) -> list[tuple[str, str]]:
    starts, lens, flat = [], [], []
    for row in weights:
        nz = np.flatnonzero(row)
        if nz.size == 0:
            starts.append(0)
            lens.append(0)
            continue
        lo, hi = int(nz[0]), int(nz[-1]) + 1
        starts.append(lo)
        lens.append(hi - lo)
        flat.extend(row[lo:hi].tolist())
    return [
        ("fb_start", ctx.table("fb_start", "uint16_t", starts, "first FFT bin of each mel filter")),
        ("fb_len", ctx.table("fb_len", "uint16_t", lens, "bins covered by each mel filter")),
        (
            "fb_weights",
            ctx.table(
                "fb_weights",
                "float",
                np.asarray(flat, dtype=np.float32),
                "mel filter weights x input_scale^2 / fft_length, filter after filter",
            ),
        ),
    ]


def _audio(ctx: _Ctx, block: str, p: dict, *, window_samples, n_axes, frequency_hz):
    frame, stride, frames = frame_geometry(
        p, window_samples=window_samples, frequency_hz=frequency_hz
    )
    n_fft = int(p["fft_length"])
    if frames > 0xFFFF:  # the CMVN padding map holds uint16 frame indices
        raise DspBuildError(
            block, "frame_stride", f"{frames} frames per window; the C runtime allows 65535"
        )
    fields: list[tuple[str, str]] = [
        ("n_samples", f"{window_samples}u"),
        ("n_axes", f"{n_axes}u"),
        ("frame_samples", f"{frame}u"),
        ("stride_samples", f"{stride}u"),
        ("n_frames", f"{frames}u"),
    ]
    scratch = n_fft + 2
    if block == "spectrogram":
        scale = float(p["input_full_scale"])
        input_scale = np.float32(1.0 / scale) if scale != 1.0 else np.float32(1.0)
        fields += [("input_scale", c_float(input_scale)), ("pre_cof", "0.0f")]
    else:
        fields += [("input_scale", "1.0f"), ("pre_cof", c_float(p["pre_cof"]))]
    fields.append(("fft", ctx.rfft(n_fft)))
    if block in ("mfe", "mfcc"):
        low, high = band_edges(p, frequency_hz=frequency_hz)
        bank = mel_filterbank(
            num_filters=int(p["num_filters"]),
            fft_length=n_fft,
            frequency_hz=float(frequency_hz),
            low_hz=low,
            high_hz=high,
        )
        # as primitives.filterbank_energies: float32(float64(bank) * input_scale**2 / fft_length)
        gain = float(1.0 / p["input_full_scale"]) ** 2 / n_fft
        weights = (bank.astype(np.float64) * gain).astype(np.float32)
        fields.append(("num_filters", f"{int(p['num_filters'])}u"))
        fields += _sparse_bank(ctx, weights)
        fields.append(("energy_gain", c_float(np.float32(1.0 * gain))))
    if block in ("spectrogram", "mfe"):
        floor_db = float(p["noise_floor_db"])
        fields += [
            ("noise_floor_db", c_float(floor_db)),
            ("db_scale", c_float(1.0 / (12.0 - floor_db))),
        ]
    if block == "spectrogram":
        fields.append(("power_scale", c_float(1.0 / n_fft)))
    if block == "mfcc":
        nc, nf = int(p["num_cepstral"]), int(p["num_filters"])
        dct = dct_matrix(n_inputs=nf, n_outputs=nc).T  # [num_cepstral][num_filters]
        fields += [
            ("num_cepstral", f"{nc}u"),
            ("dct", ctx.table("dct", "float", dct, f"orthonormal DCT-II rows [{nc}][{nf}]")),
        ]
        win = int(p["win_size"])
        # spectrum (reused by CMVN for 2 x num_cepstral sums), log energies, then m
        scratch = max(n_fft + 2, 2 * nc) + nf + 1
        if win:
            pad = (win - 1) // 2
            source = np.pad(np.arange(frames), pad, mode="symmetric")
            fields += [
                ("win_size", f"{win}u"),
                (
                    "cmvn_source",
                    ctx.table(
                        "cmvn_source",
                        "uint16_t",
                        source,
                        f"CMVN: padded row -> frame (numpy pad 'symmetric', {pad} each side)",
                    ),
                ),
            ]
            scratch += frames * nc
        else:
            fields += [("win_size", "0u"), ("cmvn_source", "NULL")]
    prefix = ctx.prefix
    body = (
        f"return {ctx.rt('dsp_' + block)}(&{prefix}dsp_cfg, window, features, {prefix}dsp_scratch);"
    )
    return ctx.rt("dsp_audio_t"), fields, body, scratch


def _flatten(ctx: _Ctx, p: dict, *, window_samples, n_axes, frequency_hz):
    mask = " | ".join(ctx.rt_macro(f"DSP_STAT_{name.upper()}") for name in _FLATTEN_BITS if p[name])
    fields = [
        ("n_samples", f"{window_samples}u"),
        ("n_axes", f"{n_axes}u"),
        ("scale", c_double(p["scale_axes"])),
        ("stat_mask", mask),
    ]
    body = f"return {ctx.rt('dsp_flatten')}(&{ctx.prefix}dsp_cfg, window, features);"
    return ctx.rt("dsp_flatten_t"), fields, body, 0


def _spectral(ctx: _Ctx, p: dict, *, window_samples, n_axes, frequency_hz):
    n_fft = int(p["fft_length"])
    step = n_fft // 2 if p["do_fft_overlap"] else n_fft
    segments = 1 + (window_samples - n_fft) // step
    fields = [
        ("n_samples", f"{window_samples}u"),
        ("n_axes", f"{n_axes}u"),
        ("scale", c_float(p["scale_axes"])),
    ]
    if p["filter_type"] != "none":
        sos = butterworth_sos(
            kind=p["filter_type"],
            cutoff_hz=float(p["filter_cutoff"]),
            order=int(p["filter_order"]),
            frequency_hz=float(frequency_hz),
        )
        fields += [
            ("n_sections", f"{sos.shape[0]}u"),
            (
                "sos",
                ctx.table(
                    "sos",
                    "double",
                    sos,
                    f"Butterworth {p['filter_type']}-pass order {p['filter_order']} at "
                    f"{p['filter_cutoff']:g} Hz (scipy.signal.butter, sos)",
                ),
            ),
        ]
    else:
        fields += [("n_sections", "0u"), ("sos", "NULL")]
    if p["analysis_type"] == "Wavelet":
        import pywt

        wavelet = pywt.Wavelet(p["wavelet"])
        taps, levels = int(wavelet.dec_len), int(p["wavelet_level"])
        lengths, n = [], window_samples
        for _ in range(levels):  # pywt.dwt_coeff_len(n, taps, "symmetric")
            n = (n + taps - 1) // 2
            lengths.append(n)
        fields += [
            ("fft", "{ 0u, NULL, NULL }"),
            ("step", "0u"),
            ("n_segments", "0u"),
            ("hann", "NULL"),
            ("psd_scale", "0.0f"),
            ("do_log", "0"),
            ("wavelet_levels", f"{levels}u"),
            ("wavelet_taps", f"{taps}u"),
            ("wavelet_max_len", f"{max(lengths)}u"),
            (
                "dec_lo",
                ctx.table(
                    "wavelet_lo",
                    "double",
                    np.asarray(wavelet.dec_lo),
                    f"pywt.Wavelet('{p['wavelet']}').dec_lo",
                ),
            ),
            (
                "dec_hi",
                ctx.table(
                    "wavelet_hi",
                    "double",
                    np.asarray(wavelet.dec_hi),
                    f"pywt.Wavelet('{p['wavelet']}').dec_hi",
                ),
            ),
        ]
        scratch = window_samples + 4 * max(lengths)
    else:
        w = hann_periodic(n_fft)
        psd_scale = np.float32(1.0 / (frequency_hz * float(np.sum(w.astype(np.float64) ** 2))))
        fields += [
            ("fft", ctx.rfft(n_fft)),
            ("step", f"{step}u"),
            ("n_segments", f"{segments}u"),
            ("hann", ctx.table("hann", "float", w, f"periodic Hann window, {n_fft} points")),
            ("psd_scale", c_float(psd_scale)),
            ("do_log", "1" if p["do_log"] else "0"),
            ("wavelet_levels", "0u"),
            ("wavelet_taps", "0u"),
            ("wavelet_max_len", "0u"),
            ("dec_lo", "NULL"),
            ("dec_hi", "NULL"),
        ]
        scratch = window_samples + n_fft + 2 + n_fft // 2 + 1
    body = (
        f"return {ctx.rt('dsp_spectral')}(&{ctx.prefix}dsp_cfg, window, features, "
        f"{ctx.prefix}dsp_scratch);"
    )
    return ctx.rt("dsp_spectral_t"), fields, body, scratch


def _raw(ctx: _Ctx, p: dict, *, window_samples, n_axes, frequency_hz):
    body = (
        f"{ctx.rt('dsp_raw')}(window, features, {window_samples * n_axes}u, "
        f"{c_float(p['scale_axes'])});\n"
        "    return 0;"
    )
    return None, [], body, 0


def _image(ctx: _Ctx, p: dict, *, window_samples, n_axes, frequency_hz):
    if n_axes not in (1, 3):
        raise DspBuildError(
            "image", "n_axes", f"got {n_axes}; the image input has 1 or 3 channels per pixel"
        )
    out_c = 3 if p["channels"] == "RGB" else 1
    fields = [
        ("n_pixels", f"{window_samples}u"),
        ("in_channels", f"{n_axes}u"),
        ("out_channels", f"{out_c}u"),
        ("int8_range", "1" if p["scale"] == "int8" else "0"),
    ]
    body = f"return {ctx.rt('dsp_image')}(&{ctx.prefix}dsp_cfg, window, features);"
    return ctx.rt("dsp_image_t"), fields, body, 0


# ---------------------------------------------------------------------------------------------


def emit_dsp(
    block_name: str,
    params: dict | None,
    *,
    window_samples: int,
    n_axes: int,
    frequency_hz: float,
    prefix: str = RUNTIME_PREFIX,
    runtime_prefix: str = RUNTIME_PREFIX,
) -> DspEmission:
    """C for `block_name` with `params` on windows of `window_samples` x `n_axes` at `frequency_hz`.

    The generated symbols carry `prefix`; the runtime is called by `runtime_prefix`: its own
    names (the files in RUNTIME_DIR) by default, or a library's, whose runtime comes from
    `runtime_files(runtime_prefix)`.
    Images: `window_samples` is the pixel count (height x width, already resized by the input
    stage) and `n_axes` the input channels (1 or 3); pixels are floats 0..255.
    Raises DspBuildError naming the block and parameter for anything invalid or unsupported.
    """
    _check_prefix(prefix, field="prefix")
    _check_prefix(runtime_prefix, field="runtime_prefix")
    try:
        block = get_block(block_name)
    except ParamError as e:
        raise DspBuildError(str(block_name), "block", str(e)) from None
    name = block.name
    if (
        isinstance(window_samples, bool)
        or not isinstance(window_samples, (int, np.integer))
        or window_samples < 1
    ):
        raise DspBuildError(
            name, "window_samples", f"got {window_samples!r}; must be a positive integer"
        )
    if isinstance(n_axes, bool) or not isinstance(n_axes, (int, np.integer)) or n_axes < 1:
        raise DspBuildError(name, "n_axes", f"got {n_axes!r}; must be a positive integer")
    window_samples, n_axes = int(window_samples), int(n_axes)
    if name != "image" and not (
        isinstance(frequency_hz, numbers.Real)
        and not isinstance(frequency_hz, bool)
        and math.isfinite(frequency_hz)
        and frequency_hz > 0
    ):
        raise DspBuildError(name, "frequency_hz", f"got {frequency_hz!r}; must be > 0")
    if window_samples * n_axes >= 2**31:
        raise DspBuildError(name, "window_samples", "window too large for the C runtime")
    try:
        p = block.validate(params)
        shape: tuple[int, ...]
        if name == "image":
            shape = (window_samples, 3 if p["channels"] == "RGB" else 1)
        else:
            shape = block.output_shape(
                window_samples=window_samples, n_axes=n_axes, frequency_hz=frequency_hz, params=p
            )
    except ParamError as e:
        raise DspBuildError(name, e.field, str(e)) from None
    n_features = int(np.prod(shape))

    ctx = _Ctx(prefix, runtime_prefix)
    kw = dict(window_samples=window_samples, n_axes=n_axes, frequency_hz=float(frequency_hz or 0.0))
    if name in ("spectrogram", "mfe", "mfcc"):
        config_type, fields, body, scratch = _audio(ctx, name, p, **kw)
    else:
        config_type, fields, body, scratch = {
            "flatten": _flatten,
            "spectral": _spectral,
            "raw": _raw,
            "image": _image,
        }[name](ctx, p, **kw)

    banner = cgen.banner(
        f"Tinyforge DSP-to-C {DSP_C_VERSION} from processing block {name} "
        f"v{block.implementation_version} with params {json.dumps(p, sort_keys=True)}; window "
        f"{window_samples} x {n_axes} at {float(frequency_hz or 0):g} Hz"
    )
    common: dict[str, Any] = dict(
        banner=banner,
        prefix=prefix,
        runtime_prefix=runtime_prefix,
        block=name,
        window_samples=window_samples,
        n_axes=n_axes,
        frequency_c=c_float(frequency_hz or 0.0),
        input_floats=window_samples * n_axes,
        n_features=n_features,
        shape=tuple(int(s) for s in shape),
        scratch_floats=int(scratch),
    )
    files = {
        f"{prefix}dsp_config.h": cgen.render("dsp/dsp_config.h.j2", **common),
        f"{prefix}dsp_config.c": cgen.render(
            "dsp/dsp_config.c.j2",
            **common,
            tables=[t.render() for t in ctx.tables],
            config_type=config_type,
            config_fields=fields,
            body=body,
        ),
    }
    table_bytes = sum(t.nbytes for t in ctx.tables)
    return DspEmission(
        block=name,
        params=dict(p),
        files=files,
        sources=RUNTIME_SOURCES,
        include_dirs=(RUNTIME_DIR,),
        n_features=n_features,
        input_floats=window_samples * n_axes,
        scratch_bytes=int(scratch) * 4,
        table_bytes=table_bytes,
        shape=tuple(int(s) for s in shape),
        prefix=prefix,
        manifest=dict(
            block=name,
            implementation_version=block.implementation_version,
            params=dict(p),
            window_samples=window_samples,
            n_axes=n_axes,
            frequency_hz=float(frequency_hz or 0.0),
            n_features=n_features,
            scratch_bytes=int(scratch) * 4,
            table_bytes=table_bytes,
        ),
    )


def emit_dsp_chain(
    blocks: list[tuple[str, dict | None]],
    *,
    window_samples: int,
    n_axes: int,
    frequency_hz: float,
    prefix: str = RUNTIME_PREFIX,
    runtime_prefix: str = RUNTIME_PREFIX,
) -> DspEmission:
    """C for several processing blocks on the same window, their features side by side (in the
    order given, as the platform concatenates them for a learning block fed by several blocks).

    One block is `emit_dsp` itself. With more, block k is emitted with the prefix `<prefix>b<k>_`
    and a `<prefix>dsp_config.h/.c` pair defines the usual `<prefix>DSP_*` macros and
    `<prefix>dsp_run`, which runs each block into its slice of the features. Every block calls
    the runtime by `runtime_prefix`, as in `emit_dsp`.
    """
    if not blocks:
        raise DspBuildError("-", "blocks", "an impulse needs at least one processing block")
    kw: dict[str, Any] = dict(
        window_samples=window_samples,
        n_axes=n_axes,
        frequency_hz=frequency_hz,
        runtime_prefix=runtime_prefix,
    )
    if len(blocks) == 1:
        return emit_dsp(blocks[0][0], blocks[0][1], prefix=prefix, **kw)
    _check_prefix(prefix, field="prefix")
    parts = [
        emit_dsp(name, params, prefix=f"{prefix}b{k}_", **kw)
        for k, (name, params) in enumerate(blocks, 1)
    ]
    if any(e.block == "image" for e in parts):
        raise DspBuildError(
            "image", "blocks", "an image block cannot be combined with other processing blocks"
        )
    offsets = np.cumsum([0] + [e.n_features for e in parts[:-1]]).tolist()
    n_features = sum(e.n_features for e in parts)
    scratch_floats = sum(e.scratch_bytes for e in parts) // 4
    described = [
        {"block": e.block, "n_features": e.n_features, "offset": int(off), "prefix": e.prefix}
        for e, off in zip(parts, offsets, strict=True)
    ]
    banner = cgen.banner(
        f"Tinyforge DSP-to-C {DSP_C_VERSION}: {len(parts)} processing blocks "
        f"({' + '.join(e.block for e in parts)}) on one window {window_samples} x {n_axes} at "
        f"{float(frequency_hz or 0):g} Hz"
    )
    ctx: dict[str, Any] = dict(
        banner=banner,
        prefix=prefix,
        blocks=described,
        window_samples=window_samples,
        n_axes=n_axes,
        frequency_c=c_float(frequency_hz or 0.0),
        input_floats=window_samples * n_axes,
        n_features=n_features,
        scratch_floats=scratch_floats,
    )
    files = {name: text for e in parts for name, text in e.files.items()}
    files[f"{prefix}dsp_config.h"] = cgen.render("dsp/dsp_chain.h.j2", **ctx)
    files[f"{prefix}dsp_config.c"] = cgen.render("dsp/dsp_chain.c.j2", **ctx)
    table_bytes = sum(e.table_bytes for e in parts)
    return DspEmission(
        block="+".join(e.block for e in parts),
        params={"blocks": [{"block": e.block, "params": e.params} for e in parts]},
        files=files,
        sources=RUNTIME_SOURCES,
        include_dirs=(RUNTIME_DIR,),
        n_features=n_features,
        input_floats=window_samples * n_axes,
        scratch_bytes=scratch_floats * 4,
        table_bytes=table_bytes,
        shape=(n_features,),
        prefix=prefix,
        manifest=dict(
            blocks=[e.manifest for e in parts],
            n_features=n_features,
            scratch_bytes=scratch_floats * 4,
            table_bytes=table_bytes,
        ),
    )
