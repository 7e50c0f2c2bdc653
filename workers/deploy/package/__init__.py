"""Package a compiled model (+ the impulse's DSP and the classifier API) as a C library.

`build_library` gathers the compiler's model files, the DSP block in C and the hand-written
classifier runtime under `src/`, adds a Makefile, a CMakeLists.txt, an Arduino library layout,
example programs, a README and a JSON manifest; linux-* builds of an impulse also get the Linux
runner's sources under `eim/` (`package.eim`). `zip_library` packs it byte-identically for the
same inputs (sorted entries, fixed timestamps, executables such as `model.eim` kept executable).
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from workers.deploy import cgen
from workers.deploy.cgen import c_float
from workers.deploy.compiler import COMPILER_VERSION, CompiledModel, compile_model
from workers.deploy.ir import CompileError
from workers.deploy.targets import get_target

RUNTIME_DIR = Path(__file__).parent / "runtime"
ENGINES = ("compiled", "tflite-micro")


@dataclass
class ImpulseSpec:
    """What the classifier API needs to know about the impulse."""

    labels: list[str]
    dsp_block: str
    dsp_params: dict[str, Any]
    window_samples: int
    axes: list[str]
    frequency_hz: float
    slice_samples: int
    anomaly: dict[str, Any] | None = None  # K-means or GMM arrays from workers.learn.anomaly
    title: str = "impulse"
    # image impulses: {"width", "height", "resize_mode", "color_depth"}; the window is width x
    # height pixels of len(axes) channels, frequency 0, and there is no continuous mode
    image: dict[str, Any] | None = None
    # further processing blocks feeding the same learning block: (block, params), features side by
    # side
    more_dsp: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def dsp_name(impulse: ImpulseSpec) -> str:
    return "+".join([impulse.dsp_block, *(name for name, _ in impulse.more_dsp)])


@dataclass
class Library:
    files: dict[str, bytes]
    manifest: dict[str, Any]
    compiled: CompiledModel
    include_dirs: list[str] = field(default_factory=lambda: ["src"])
    model_sources: list[str] = field(default_factory=list)
    impulse_sources: list[str] = field(default_factory=list)
    eim_sources: list[str] = field(default_factory=list)  # the Linux runner (linux-* impulses)
    executables: set[str] = field(default_factory=set)  # files written and zipped with mode 755


def _check_label(label: str) -> str:
    if any(c in label for c in '"\\\n\r') or any(ord(c) < 32 for c in label):
        raise CompileError(f"label {label!r} contains characters that cannot go into a C string")
    return label


def build_library(
    tflite_bytes: bytes,
    *,
    target: str,
    impulse: ImpulseSpec | None = None,
    engine: str = "compiled",
    prefix: str = "tinyforge_",
    model_type: str | None = None,
    title: str = "Tinyforge impulse",
    optimize_for: str = "speed",
) -> Library:
    """Compile and package. Raises CompileError (unsupported op, bad model, ...) before writing
    anything. `optimize_for` "ram" (compiled engine only) plans the smaller arena of
    `compile_model`'s RAM plan."""
    if engine not in ENGINES:
        raise CompileError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if optimize_for != "speed" and engine != "compiled":
        raise CompileError(f"optimize {optimize_for!r} applies to the compiled engine only")
    tgt = get_target(target)
    compiled = compile_model(
        tflite_bytes, prefix=prefix, model_type=model_type, optimize_for=optimize_for
    )
    int8 = compiled.input.dtype == "int8"
    description = (
        f"Tinyforge {COMPILER_VERSION} for {target} from model sha256 {compiled.model_sha256[:16]}"
    )
    banner = cgen.banner(description)
    files: dict[str, str] = {}
    if engine == "compiled":
        for rel, text in compiled.files.items():
            if rel in ("Makefile",):
                continue
            files[rel if rel.startswith("examples/") else f"src/{rel}"] = text
        model_sources = sorted(f"src/{s}" for s in compiled.sources)
    else:
        model_sources, tflm = _tflm_files(tflite_bytes, compiled, banner=banner, prefix=prefix)
        files.update(tflm["files"])
    impulse_sources: list[str] = []
    ctx: dict[str, Any] = {"banner": banner, "prefix": prefix, "impulse": impulse is not None}
    manifest: dict[str, Any] = {
        "compiler_version": COMPILER_VERSION,
        "engine": engine,
        "target": target,
        "model_sha256": compiled.model_sha256,
        "model_type": "int8" if int8 else "float32",
        "ops": sorted(compiled.ops),
        "arena_bytes": compiled.arena_bytes,
        "optimize": optimize_for,
        "arena_lower_bound_bytes": compiled.lower_bound_bytes,
        "weights_bytes": compiled.weights_bytes,
        "kernel_scratch_bytes": compiled.scratch_bytes,
        "macs": compiled.macs,
        "input": _io(compiled.input),
        "output": _io(compiled.output),
        "prefix": prefix,
        "cflags": list(tgt.gcc_flags),
        "flash_bytes": None,
        "ram_bytes": None,
        "instructions": None,
        "bit_exact": None,
    }
    if impulse is not None:
        from workers.deploy.dsp import DspBuildError, emit_dsp_chain, runtime_files

        try:
            dsp = emit_dsp_chain(
                [(impulse.dsp_block, impulse.dsp_params), *impulse.more_dsp],
                window_samples=impulse.window_samples,
                n_axes=len(impulse.axes),
                frequency_hz=impulse.frequency_hz,
                prefix=prefix,
                runtime_prefix=prefix,
            )
        except DspBuildError as exc:
            raise CompileError(f"DSP block {dsp_name(impulse)}: {exc}") from exc
        n_in = compiled.input.nbytes // (1 if int8 else 4)
        if dsp.n_features != n_in:
            raise CompileError(
                f"the DSP block produces {dsp.n_features} features but the model takes "
                f"{n_in} inputs"
            )
        for rel, text in dsp.files.items():  # they call the DSP runtime by the library's prefix
            files[f"src/{rel}"] = text
        for rel, text in runtime_files(
            prefix
        ).items():  # next to the config: Arduino only adds src/ to the path
            files[f"src/{PurePosixPath(rel).name}"] = text
        runtime_banner = cgen.banner(description, note=cgen.RUNTIME_COPY)
        for name in ("tinyforge_classifier.h", "tinyforge_classifier.c"):
            relname, text = cgen.runtime_source(RUNTIME_DIR / name, prefix)
            files[f"src/{relname}"] = runtime_banner + "\n" + text
        labels = [_check_label(lab) for lab in impulse.labels]
        n_out = compiled.output.nbytes // (1 if compiled.output.dtype == "int8" else 4)
        if n_out != len(labels):
            raise CompileError(
                f"the model has {n_out} outputs but the impulse has {len(labels)} labels"
            )
        anomaly = _anomaly_ctx(impulse.anomaly, dsp.n_features)
        ictx = {
            **ctx,
            "window_samples": impulse.window_samples,
            "axes": len(impulse.axes),
            "image": impulse.image,
            "axis_names": impulse.axes,
            "slice_samples": impulse.slice_samples,
            "frequency_hz": impulse.frequency_hz,
            "frequency_c": c_float(impulse.frequency_hz),
            "labels": labels,
            "n_features": dsp.n_features,
            "n_outputs": n_out,
            "int8": int8,
            "input_scale_c": c_float(compiled.input.scale or 1.0),
            "input_zero_point": compiled.input.zero_point or 0,
            "output_scale_c": c_float(compiled.output.scale or 1.0),
            "output_zero_point": compiled.output.zero_point or 0,
            "anomaly": anomaly,
        }
        files[f"src/{prefix}impulse.h"] = cgen.render("package/impulse.h.j2", **ictx)
        files[f"src/{prefix}impulse.c"] = cgen.render("package/impulse.c.j2", **ictx)
        files["examples/classify.c"] = cgen.render("package/classify.c.j2", **ctx)
        ino = f"examples/{prefix}classify/{prefix}classify.ino"
        files[ino] = cgen.render("package/classify.ino.j2", **ictx)
        impulse_sources = sorted(
            p for p in files if p.startswith("src/") and p.endswith(".c") and p not in model_sources
        )
        if tgt.kind == "linux":
            from workers.deploy.package.eim import eim_files

            files.update(
                eim_files(
                    impulse,
                    labels=labels,
                    title=title,
                    prefix=prefix,
                    banner=banner,
                    runtime_banner=runtime_banner,
                )
            )
        manifest.update(
            {
                "labels": labels,
                "dsp": {
                    "block": dsp_name(impulse),
                    "params": dsp.params,
                    "n_features": dsp.n_features,
                    "scratch_bytes": dsp.scratch_bytes,
                    "window_samples": impulse.window_samples,
                    "axes": impulse.axes,
                    "frequency_hz": impulse.frequency_hz,
                    "image": impulse.image,
                },
                "anomaly": bool(anomaly),
                "ram_estimate_bytes": compiled.arena_bytes
                + compiled.scratch_bytes
                + dsp.scratch_bytes
                + 4 * (2 * impulse.window_samples * len(impulse.axes) + dsp.n_features),
            }
        )
    else:
        manifest["ram_estimate_bytes"] = compiled.arena_bytes + compiled.scratch_bytes
    if engine == "tflite-micro":
        manifest.update(
            {
                "arena_bytes": tflm["arena_bytes"],
                "tflm_arena_measured_bytes": tflm["measured_bytes"],
                "tflm_arena_margin_percent": TFLM_MARGIN_PERCENT,
                "tflm_op_resolver": tflm["ops"],
            }
        )
    _check_fits(tgt, compiled, manifest)
    eim_sources = sorted(p for p in files if p.startswith("eim/") and p.endswith(".c"))
    mctx = {
        **ctx,
        "banner_make": cgen.banner(description, comment="hash"),
        "include_dirs": ["src"],
        "model_sources": model_sources,
        "impulse_sources": impulse_sources,
        "eim_sources": eim_sources,
    }
    files["Makefile"] = cgen.render("package/Makefile.j2", **mctx)
    files["CMakeLists.txt"] = cgen.render("package/CMakeLists.txt.j2", **mctx)
    files["library.properties"] = cgen.render(
        "package/library.properties.j2",
        arduino_name=f"{prefix}impulse",
        title=title,
        compiler_version=COMPILER_VERSION,
        target=target,
    )
    lib = Library(
        files={k: v.encode() for k, v in files.items()},
        manifest=manifest,
        compiled=compiled,
        model_sources=model_sources,
        impulse_sources=impulse_sources,
        eim_sources=eim_sources,
    )
    render_docs(lib, title=title, impulse=impulse, target_description=tgt.description)
    return lib


TFLM_MARGIN_PERCENT = 10


def _tflm_op_method(op: str) -> str:
    """CONV_2D -> AddConv2D, FULLY_CONNECTED -> AddFullyConnected (MicroMutableOpResolver's
    names)."""
    return "Add" + "".join(p.capitalize() for p in op.split("_")).replace("2d", "2D").replace(
        "1d", "1D"
    )


def _tflm_files(
    tflite_bytes: bytes, compiled: CompiledModel, *, banner: str, prefix: str
) -> tuple[list[str], dict]:
    from workers.deploy.host import tflm_arena_bytes

    sample = np.zeros(
        compiled.input.shape, dtype=np.int8 if compiled.input.dtype == "int8" else np.float32
    )
    measured, _head = tflm_arena_bytes(tflite_bytes, [sample])
    arena = ((measured * (100 + TFLM_MARGIN_PERCENT) // 100) + 15) // 16 * 16
    ops = sorted({_tflm_op_method(op) for op in compiled.ops})
    ctx: dict[str, Any] = {
        "banner": banner,
        "prefix": prefix,
        "arena_bytes": arena,
        "measured_bytes": measured,
        "margin_percent": TFLM_MARGIN_PERCENT,
        "ops": ops,
        "input_bytes": compiled.input.nbytes,
        "output_bytes": compiled.output.nbytes,
    }
    rows = [
        ", ".join(f"0x{b:02x}" for b in tflite_bytes[i : i + 16])
        for i in range(0, len(tflite_bytes), 16)
    ]
    array = (
        f"{banner}\n/* The .tflite model, byte for byte ({len(tflite_bytes)} bytes). */\n"
        f"#if defined(__GNUC__)\n__attribute__((aligned(16)))\n#endif\n"
        f"const unsigned char {prefix}model_tflite[{len(tflite_bytes)}] = {{\n    "
        + ",\n    ".join(rows)
        + "\n};\n"
        f"const unsigned int {prefix}model_tflite_len = {len(tflite_bytes)};\n"
    )
    files = {
        f"src/{prefix}model_tflite.c": array,
        f"src/{prefix}model.h": cgen.render("package/tflm_model.h.j2", **ctx),
        f"src/{prefix}tflm_model.cc": cgen.render("package/tflm_model.cc.j2", **ctx),
    }
    return [f"src/{prefix}model_tflite.c", f"src/{prefix}tflm_model.cc"], {
        "files": files,
        "arena_bytes": arena,
        "measured_bytes": measured,
        "ops": ops,
    }


def _io(t) -> dict[str, Any]:
    return {
        "shape": list(t.shape),
        "dtype": t.dtype,
        "scale": t.scale,
        "zero_point": t.zero_point,
        "bytes": t.nbytes,
    }


def _anomaly_ctx(model: dict[str, Any] | None, n_features: int) -> dict[str, Any] | None:
    """Template context of a K-means or Gaussian-mixture anomaly block (workers.learn.anomaly)."""
    if not model:
        return None
    kind = model.get("kind")  # set by the learning block that trained it (workers.learn.anomaly)
    if kind not in ("kmeans", "gmm"):
        raise CompileError(
            f"anomaly blocks of kind {kind!r} cannot be compiled to C (K-means and GMM can)"
        )
    index = list(model.get("features") or range(n_features))
    if any(not 0 <= i < n_features for i in index):
        raise CompileError(
            f"the anomaly block reads feature indices outside the DSP output (0..{n_features - 1})"
        )

    def floats(name: str, values: Any) -> list[str]:
        what = f"the anomaly block's {name}"
        return [c_float(v, what=what) for v in np.ravel(np.asarray(values, np.float64))]

    ctx: dict[str, Any] = {
        "kind": kind,
        "features": len(index),
        "index": [int(i) for i in index],
        "mean": floats("mean", model["mean"]),
        "scale": floats("scale", model["scale"]),
        "threshold_c": floats("threshold", model.get("threshold", 1.0))[0],
    }
    if kind == "kmeans":
        ctx.update(
            clusters=len(model["radii"]),
            centres=floats("centres", model["centres"]),
            radii=floats("radii", model["radii"]),
        )
        return ctx
    # GMM: log p(z) = logsumexp_k(const_k - |(z - mean_k) U_k|^2 / 2), const_k = log w_k + log det
    # U_k - d log(2 pi) / 2
    d = len(index)
    weights, means = (
        np.asarray(model["weights"], np.float64),
        np.asarray(model["means"], np.float64),
    )
    prec = np.asarray(model["precisions_cholesky"], np.float64)
    full = model["covariance_type"] == "full"
    log_det = np.log(np.diagonal(prec, axis1=1, axis2=2)).sum(1) if full else np.log(prec).sum(1)
    const = np.log(weights) + log_det - 0.5 * d * math.log(2 * math.pi)
    # full: the upper triangle of each U, column by column (column j holds rows 0..j)
    factors = (
        [prec[k][i, j] for k in range(len(weights)) for j in range(d) for i in range(j + 1)]
        if full
        else prec.ravel().tolist()
    )
    ctx.update(
        clusters=len(weights),
        full=full,
        means=floats("means", means),
        const=floats("log weights", const),
        factors=floats("precision factors", factors),
    )
    return ctx


def _check_fits(tgt, compiled: CompiledModel, manifest: dict[str, Any]) -> None:
    ram = manifest["ram_estimate_bytes"]
    if tgt.ram_bytes is not None and ram > tgt.ram_bytes:
        raise CompileError(
            f"the model needs about {ram} bytes of RAM (arena {compiled.arena_bytes}) but "
            f"{tgt.name} has {tgt.ram_bytes}"
        )
    if tgt.flash_bytes is not None and compiled.weights_bytes > tgt.flash_bytes:
        raise CompileError(
            f"the model's weights take {compiled.weights_bytes} bytes but {tgt.name} has "
            f"{tgt.flash_bytes} bytes of flash"
        )


def render_docs(
    lib: Library,
    *,
    title: str,
    impulse: ImpulseSpec | None,
    target_description: str,
    verified_target: str | None = None,
) -> None:
    """(Re)write README.md and manifest.json from the manifest (after verification fills it in)."""
    m = lib.manifest
    ctx = {
        "title": title,
        "compiler_version": m["compiler_version"],
        "target": m["target"],
        "target_description": target_description,
        "engine": m["engine"],
        "model_type": m["model_type"],
        "arena_bytes": m["arena_bytes"],
        "lower_bound_bytes": m["arena_lower_bound_bytes"],
        "weights_bytes": m["weights_bytes"],
        "ops": m["ops"],
        "cflags": " ".join(m["cflags"]) or "(host defaults)",
        "input_bytes": m["input"]["bytes"],
        "prefix": m["prefix"],
        "impulse": impulse is not None,
        "verified_target": verified_target,
        "eim": bool(lib.eim_sources),
        "eim_shipped": "model.eim" in lib.files,
    }
    if impulse is not None:
        ctx.update(
            {
                "dsp_block": dsp_name(impulse),
                "n_features": m["dsp"]["n_features"],
                "dsp_scratch_bytes": m["dsp"]["scratch_bytes"],
                "window_samples": impulse.window_samples,
                "axes": len(impulse.axes),
                "axis_names": impulse.axes,
                "frequency_hz": impulse.frequency_hz,
                "labels": m["labels"],
                "image": impulse.image,
            }
        )
    lib.files["README.md"] = cgen.render("package/README.md.j2", **ctx).encode()
    lib.files["manifest.json"] = (json.dumps(m, indent=2, sort_keys=True) + "\n").encode()


def write_library(lib: Library, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    for rel, data in sorted(lib.files.items()):
        path = out_dir / _safe_rel(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if rel in lib.executables:
            path.chmod(0o755)


def _safe_rel(rel: str) -> PurePosixPath:
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise CompileError(f"refusing to write {rel!r} outside the library folder")
    return p


def zip_library(lib: Library, *, root: str = "tinyforge-impulse") -> bytes:
    """A zip of the library under `root/`: same inputs, byte-identical zip."""
    _safe_rel(root)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for rel in sorted(lib.files):
            name = f"{root}/{_safe_rel(rel)}"
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if rel in lib.executables else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, lib.files[rel], compresslevel=9)
    return buf.getvalue()
