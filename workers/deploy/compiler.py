"""Compile a `.tflite` model into a self-contained C99 library (no interpreter, no heap)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workers.deploy import cgen
from workers.deploy.cgen import c_float, c_int, c_list, check_identifier, check_prefix, sanitize
from workers.deploy.ir import C_TYPES, CompileError, Graph, Operator, Tensor
from workers.deploy.lifetimes import OPTIMIZE_FOR, ArenaPlan, plan_memory
from workers.deploy.lower import LOWERINGS, EmitContext
from workers.deploy.reader import read_model

COMPILER_VERSION = "0.1.0"
SUPPORTED_OPS = frozenset(LOWERINGS)
RUNTIME_DIR = Path(__file__).parent / "runtime"
RUNTIME_FILES = (
    "tinyforge_fixedpoint.h",
    "tinyforge_kernels.h",
    "tinyforge_kernels_s8.c",
    "tinyforge_kernels_s8_opt.c",
    "tinyforge_kernels_s8_simd.c",
    "tinyforge_kernels_f32.c",
    "tinyforge_kernels_common.c",
    "tinyforge_kernels_ram.h",
    "tinyforge_kernels_ram.c",
)


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None
    nbytes: int


@dataclass
class CompiledModel:
    files: dict[str, str]  # relative path -> file text
    arena_bytes: int
    lower_bound_bytes: int
    ops: list[str]
    input: TensorInfo
    output: TensorInfo
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    prefix: str = "tinyforge_"
    model_sha256: str = ""
    weights_bytes: int = 0
    scratch_bytes: int = 0  # static im2col buffer of the optimised convolution (outside the arena)
    macs: int = 0  # multiply-accumulates per inference (conv, depthwise, fully connected)
    sources: list[str] = field(default_factory=list)  # .c files to compile, relative paths
    tensor_offsets: dict[int, int] = field(default_factory=dict)
    optimize_for: str = "speed"  # the memory plan: "speed" or "ram"
    ram_steps: dict[int, str] = field(default_factory=dict)  # RAM plan: operator -> rewrite
    not_produced: tuple[int, ...] = ()  # tensors the RAM plan never holds whole (not compared)
    out_dir: Path | None = None


def count_macs(graph: Graph) -> int:
    """Multiply-accumulates of one inference in CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED."""
    total = 0
    for op in graph.operators:
        if op.opcode not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        flt, out = graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
        if op.opcode == "CONV_2D":
            total += out.num_elements * int(np.prod(flt.shape[1:]))
        elif op.opcode == "DEPTHWISE_CONV_2D":
            total += out.num_elements * int(flt.shape[1] * flt.shape[2])
        else:
            total += out.num_elements * int(flt.shape[-1])
    return total


def check_supported(tflite_bytes: bytes) -> list[str]:
    """Names of the model's operators this compiler cannot generate code for (sorted)."""
    graph = read_model(tflite_bytes)
    return sorted({op.opcode for op in graph.operators} - SUPPORTED_OPS)


def _tensor_info(t: Tensor) -> TensorInfo:
    return TensorInfo(
        name=t.name,
        shape=tuple(t.shape),
        dtype=t.dtype,
        scale=t.scale if t.quant else None,
        zero_point=t.zero_point if t.quant else None,
        nbytes=t.nbytes,
    )


def _validate(graph: Graph, model_type: str | None) -> None:
    unsupported = sorted({op.opcode for op in graph.operators} - SUPPORTED_OPS)
    if unsupported:
        raise CompileError(
            f"unsupported operator(s): {', '.join(unsupported)} "
            f"(supported: {', '.join(sorted(SUPPORTED_OPS))})"
        )
    if model_type not in (None, "int8", "float32"):
        raise CompileError(f"model_type must be 'int8' or 'float32', got {model_type!r}")
    if model_type == "int8" and not graph.is_quantized:
        raise CompileError(
            "float-only model: an int8 build needs a fully int8-quantized .tflite "
            "(no int8 activation tensors found); quantize it or build float32"
        )
    if not graph.operators:
        raise CompileError("the model has no operators")
    for idx in graph.inputs + graph.outputs:
        if graph.tensor(idx).dtype not in ("int8", "float32"):
            raise CompileError(
                f"graph input/output {graph.tensor(idx).name!r} has type "
                f"{graph.tensor(idx).dtype}; only int8 and float32 are supported"
            )


def _array_body(t: Tensor) -> str:
    """The initializer of a constant tensor's array: 16 values a line."""
    flat = np.asarray(t.data).reshape(-1)
    if t.dtype == "float32":
        what = f"a value of constant tensor {sanitize(t.name)}"
        values = [c_float(v, what=what) for v in flat]
    else:
        values = [c_int(v) for v in flat]
    return c_list(values) if values else "    0"


def compile_model(
    tflite_bytes: bytes,
    *,
    prefix: str = "tinyforge_",
    out_dir: Path | None = None,
    model_type: str | None = None,
    model_name: str = "model",
    optimize: bool = True,
    optimize_for: str = "speed",
    ram_prune: bool = True,
) -> CompiledModel:
    """Compile `tflite_bytes` to C sources; write them under `out_dir` when given.

    `model_type` "int8" rejects float-only models; None accepts what the file holds.
    `optimize` selects the optimised int8 kernels (SMLAD/SXTB16 on cores with the DSP
    extension, plain C elsewhere), bit-exact with the reference kernels used otherwise.
    `optimize_for` "speed" (default) or "ram": the RAM plan runs some operators in place or tile
    by tile (`lifetimes.plan_memory`) to shrink the arena; it needs the optimised kernels.
    `ram_prune=False` keeps every RAM rewrite, even those that do not shrink the arena (tests).
    """
    check_prefix(prefix)
    graph = read_model(tflite_bytes)
    _validate(graph, model_type)
    sha = hashlib.sha256(bytes(tflite_bytes)).hexdigest()

    if optimize_for not in OPTIMIZE_FOR:
        raise CompileError(
            f"optimize_for must be one of {', '.join(OPTIMIZE_FOR)}, got {optimize_for!r}"
        )
    if optimize_for == "ram" and not optimize:
        raise CompileError("optimize_for='ram' needs the optimised kernels (optimize=True)")
    plan = plan_memory(graph, optimize_for=optimize_for, prune=ram_prune)
    ctx = EmitContext(
        graph=graph,
        prefix=prefix,
        offsets=plan.offsets,
        const_symbols=_const_symbols(graph, prefix),
        optimize=optimize,
        ram_steps=plan.ram_steps,
        temp_offsets=plan.temp_offsets,
    )
    ops = [
        _lower(ctx, op, plan.not_produced) for op in graph.operators
    ]  # before the weights: marks those used
    weights = _weights(ctx)
    description = (
        f"the Tinyforge compiler {COMPILER_VERSION} from model {sanitize(model_name)} (sha256 "
        f"{sha})"
    )
    files = _render_library(ctx, plan, ops, weights, description=description)

    compiled = CompiledModel(
        files=files,
        arena_bytes=plan.arena_bytes,
        lower_bound_bytes=plan.lower_bound_bytes,
        ops=graph.ops,
        input=_tensor_info(graph.tensor(graph.inputs[0])),
        output=_tensor_info(graph.tensor(graph.outputs[0])),
        inputs=[_tensor_info(graph.tensor(i)) for i in graph.inputs],
        outputs=[_tensor_info(graph.tensor(i)) for i in graph.outputs],
        prefix=prefix,
        model_sha256=sha,
        weights_bytes=sum(w["nbytes"] for w in weights) + ctx.relaid_weight_bytes,
        sources=sorted(p for p in files if p.endswith(".c") and not p.startswith("examples/")),
        scratch_bytes=ctx.scratch_bytes,
        macs=count_macs(graph),
        tensor_offsets=dict(plan.offsets),
        optimize_for=optimize_for,
        ram_steps={k: s.kind for k, s in plan.ram_steps.items()},
        not_produced=plan.not_produced,
    )
    if out_dir is not None:
        write_files(compiled, Path(out_dir))
    return compiled


def _const_symbols(graph: Graph, prefix: str) -> dict[int, str]:
    """The C array name of every constant tensor an operator reads (used or not by its kernel)."""
    constants = {
        i for op in graph.operators for i in op.inputs if i >= 0 and graph.tensor(i).is_constant
    }
    return {
        idx: check_identifier(f"{prefix}w{idx}_{sanitize(graph.tensor(idx).name)}")
        for idx in sorted(constants)
    }


def _lower(ctx: EmitContext, op: Operator, not_produced: tuple[int, ...] = ()) -> dict:
    """One operator's template context: its parameter declarations and its kernel call."""
    graph = ctx.graph
    code = LOWERINGS[op.opcode](ctx, op)
    return dict(
        index=op.index,
        opcode=op.opcode,
        decls=code.decls,
        call=code.call,
        output=op.outputs[0] if op.outputs else -1,
        comment=sanitize(graph.tensor(op.outputs[0]).name, max_len=64) if op.outputs else "",
        outputs=[
            dict(index=i, ptr=ctx.ptr(i), nbytes=graph.tensor(i).nbytes)
            for i in op.outputs
            if i not in not_produced
        ],
    )


def _weights(ctx: EmitContext) -> list[dict]:
    """The const arrays (flash) of the constant tensors the generated kernels read."""
    weights = []
    for idx in sorted(ctx.used_constants):
        t = ctx.graph.tensor(idx)
        weights.append(
            dict(
                symbol=ctx.const_symbols[idx],
                index=idx,
                comment=sanitize(t.name, max_len=64),
                ctype=C_TYPES[t.dtype],
                count=max(t.num_elements, 1),
                dtype=t.dtype,
                shape=list(t.shape),
                body=_array_body(t),
                nbytes=t.nbytes,
            )
        )
    return weights


def _io(ctx: EmitContext, indices: tuple[int, ...]) -> tuple[list[dict], int]:
    """Template context of the graph inputs (or outputs), concatenated in order, and their bytes."""
    result, byte_offset = [], 0
    for i in indices:
        t = ctx.graph.tensor(i)
        result.append(
            dict(
                index=i,
                offset=ctx.offsets[i],
                byte_offset=byte_offset,
                nbytes=t.nbytes,
                ptr=ctx.ptr(i),
                dtype=t.dtype,
                shape=list(t.shape),
                scale=t.scale if t.quant else None,
                zero_point=t.zero_point if t.quant else None,
            )
        )
        byte_offset += t.nbytes
    return result, byte_offset


def _render_library(
    ctx: EmitContext, plan: ArenaPlan, ops: list[dict], weights: list[dict], *, description: str
) -> dict[str, str]:
    """Every file of the library: model sources, the runtime under the prefix, example, Makefile."""
    prefix = ctx.prefix
    inputs, input_bytes = _io(ctx, ctx.graph.inputs)
    outputs, output_bytes = _io(ctx, ctx.graph.outputs)
    common = dict(banner=cgen.banner(description), prefix=prefix)
    files: dict[str, str] = {}
    files[f"{prefix}model.h"] = cgen.render(
        "model/model.h.j2",
        **common,
        input_bytes=input_bytes,
        output_bytes=output_bytes,
        arena_bytes=plan.arena_bytes,
        inputs=inputs,
        outputs=outputs,
    )
    files[f"{prefix}model_data.h"] = cgen.render("model/model_data.h.j2", **common, weights=weights)
    files[f"{prefix}model_data.c"] = cgen.render("model/model_data.c.j2", **common, weights=weights)
    files[f"{prefix}model.c"] = cgen.render(
        "model/model.c.j2",
        **common,
        arena_alloc=max(plan.arena_bytes, 16),
        ops=ops,
        inputs=inputs,
        outputs=outputs,
        scratch_bytes=ctx.scratch_bytes,
    )
    runtime_banner = cgen.banner(description, note=cgen.RUNTIME_COPY)
    for name in RUNTIME_FILES:
        relname, text = cgen.runtime_source(RUNTIME_DIR / name, prefix)
        files[f"runtime/{relname}"] = runtime_banner + "\n" + text
    sources = sorted(p for p in files if p.endswith(".c"))
    files["examples/main.c"] = cgen.render("model/main.c.j2", **common)
    files["Makefile"] = cgen.render(
        "model/Makefile.j2", banner_make=cgen.banner(description, comment="hash"), sources=sources
    )
    return files


def write_files(compiled: CompiledModel, out_dir: Path) -> None:
    """Write every generated file below `out_dir` (paths are checked to stay inside it)."""
    root = out_dir.resolve()
    for rel, text in compiled.files.items():
        path = (root / rel).resolve()
        if root not in path.parents:
            raise CompileError(f"generated path {rel!r} escapes the output directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    compiled.out_dir = root
