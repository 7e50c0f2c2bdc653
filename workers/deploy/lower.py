"""Lower each IR operator to C: a constant parameter block (computed here, at build time) and a
call.

One `lower_<op>` function per TFLite builtin; each returns an `OpCode` whose declarations
go to file scope and whose call goes into the model's `invoke` function. Every number a
kernel needs (padding, multipliers, shifts, activation clamps) is computed in Python with
TFLite Micro's Prepare() arithmetic, so the C side does no float work for int8 graphs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from workers.deploy import quant
from workers.deploy.cgen import c_float, c_int, c_int_array
from workers.deploy.ir import C_TYPES, CompileError, Graph, Operator, Tensor
from workers.deploy.lifetimes import RamStep


@dataclass
class OpCode:
    decls: list[str] = field(default_factory=list)
    call: str = ""


@dataclass
class EmitContext:
    graph: Graph
    prefix: str
    offsets: dict[int, int]  # arena offset per non-constant tensor
    const_symbols: dict[int, str]  # C symbol per constant tensor
    used_constants: set[int] = field(default_factory=set)  # those the generated code references
    optimize: bool = True  # use the *_opt kernels (DSP extension where present) when they apply
    scratch_bytes: int = 0  # im2col columns / zero-point row of the optimised convolutions (static)
    relaid_weight_bytes: int = 0  # re-laid-out filters and folded biases (flash) of _opt kernels
    ram_steps: dict[int, RamStep] = field(default_factory=dict)  # RAM plan: wrapped operators
    temp_offsets: dict[int, int] = field(default_factory=dict)  # arena offset of their temporaries

    def temp(self, op: Operator) -> str:
        """The arena temporary of a RAM plan's operator."""
        return f"(int8_t *)({self.prefix}arena + {self.temp_offsets[op.index]})"

    def ptr(self, index: int, *, const: bool = False) -> str:
        t = self.graph.tensor(index)
        ctype = C_TYPES[t.dtype]
        if t.is_constant:
            self.used_constants.add(index)
            return self.const_symbols[index]
        qual = "const " if const else ""
        return f"({qual}{ctype} *)({self.prefix}arena + {self.offsets[index]})"

    def sym(self, op: Operator, suffix: str = "") -> str:
        return f"{self.prefix}op{op.index}{suffix}"

    def rt(self, name: str) -> str:
        """A runtime symbol (kernel or parameter type) under this library's prefix."""
        return f"{self.prefix}{name}"


MVE_ACC_CHANNELS = 32  # TINYFORGE_MVE_ACC_CHANNELS of tinyforge_kernels_s8_opt.c


def _aligned(ctx: EmitContext, decl: str) -> str:
    """A constant array declaration 16-byte aligned (the kernels' vector loads of re-laid-out
    weights need 4-byte alignment): `<PREFIX>ALIGNED16` from the runtime's kernels.h."""
    head, sep, tail = decl.partition("] = {")
    return f"{head}] {ctx.prefix.upper()}ALIGNED16{sep[1:]}{tail}"


def _struct(ctype: str, name: str, fields: dict) -> str:
    parts = []
    for key, value in fields.items():
        if isinstance(value, float):
            value = c_float(value)
        elif isinstance(value, (list, tuple)):
            value = "{" + ", ".join(c_int(v) for v in value) + "}"
        parts.append(f"    .{key} = {value}")
    return f"static const {ctype} {name} = {{\n" + ",\n".join(parts) + "\n};"


def _lower_weighted_f32(
    ctx, op, code, fields, *, flt, act, struct: str, fn: str, bias: str | _LazyBias
) -> None:
    """float32 conv / depthwise / fully connected: activation range, parameter struct, kernel
    call."""
    _require_dtype(op, flt, ("float32",), "filter")
    lo, hi = quant.activation_range_f32(act)
    fields.update(act_min=lo, act_max=hi)
    code.decls.append(_struct(ctx.rt(struct), ctx.sym(op), fields))
    code.call = (
        f"{ctx.rt(fn)}(&{ctx.sym(op)}, {ctx.ptr(op.inputs[0], const=True)}, "
        f"{ctx.ptr(op.inputs[1])}, {bias}, {ctx.ptr(op.outputs[0])});"
    )


def _nhwc(t: Tensor, what: str, op: Operator) -> tuple[int, int, int, int]:
    if len(t.shape) != 4:
        raise CompileError(
            f"{op.opcode} (operator {op.index}) needs a 4-D {what}, got shape {t.shape}"
        )
    n, h, w, c = t.shape
    return int(n), int(h), int(w), int(c)


def _opt_input(op: Operator, k: int) -> int:
    return op.inputs[k] if len(op.inputs) > k and op.inputs[k] >= 0 else -1


def _require_dtype(op: Operator, t: Tensor, allowed: tuple[str, ...], role: str) -> None:
    if t.dtype not in allowed:
        raise CompileError(
            f"{op.opcode} (operator {op.index}) {role} tensor {t.name!r} has type "
            f"{t.dtype}; supported: {', '.join(allowed)}"
        )


class _LazyBias:
    """The bias argument of a kernel call: marks the bias tensor used only when formatted."""

    def __init__(self, ctx: EmitContext, index: int) -> None:
        self.ctx, self.index = ctx, index

    def __format__(self, spec: str) -> str:
        return self.ctx.ptr(self.index) if self.index >= 0 else "NULL"


def interleave_filter(data: np.ndarray, out_c: int, col_stride: int) -> np.ndarray:
    """Filter layout of the optimised convolution: rows zero-padded to `col_stride`, channel
    pairs interleaved 4 bytes at a time (row 2i[0:4], row 2i+1[0:4], row 2i[4:8], ...), an odd
    last row left plain."""
    rows = np.zeros((out_c, col_stride), dtype=np.int8)
    rows[:, : data.size // out_c] = np.asarray(data, dtype=np.int8).reshape(out_c, -1)
    pairs = out_c // 2
    paired = rows[: 2 * pairs].reshape(pairs, 2, col_stride // 4, 4).transpose(0, 2, 1, 3)
    return np.concatenate([paired.reshape(-1), rows[2 * pairs :].reshape(-1)])


def quad_filter(data: np.ndarray, out_c: int, col_stride: int) -> np.ndarray:
    """Filter layout of the DSP-extension convolution (`<PREFIX>CONV_QUADS` builds): rows
    zero-padded to `col_stride`, channels in blocks of four; per block and per 4 taps t0..t3 four
    words {c0 t0, c1 t0, c0 t2, c1 t2}, {c2 t0, c3 t0, c2 t2, c3 t2}, then the same for t1, t3, so
    that SXTB16 of a word (and of it rotated by 8) gives one channel's tap pair and one load feeds
    two channels. The last `out_c % 4` rows stay plain."""
    rows = np.zeros((out_c, col_stride), dtype=np.int8)
    rows[:, : data.size // out_c] = np.asarray(data, dtype=np.int8).reshape(out_c, -1)
    blocks = out_c // 4
    # rows[4b + 2p + cc, 4g + 2m + h] -> [b][g][h][p][m][cc]
    r6 = rows[: 4 * blocks].reshape(blocks, 2, 2, col_stride // 4, 2, 2)
    quads = r6.transpose(0, 3, 5, 1, 4, 2)
    return np.concatenate([quads.reshape(-1), rows[4 * blocks :].reshape(-1)])


def group_channels(data: np.ndarray, channels: int) -> np.ndarray:
    """Depthwise filter layout of the optimised kernel: channels zero-padded to a multiple of 4
    and grouped by four, each group's taps together: [groups][taps][4]."""
    taps = np.asarray(data, dtype=np.int8).reshape(-1, channels)
    padded = np.zeros((taps.shape[0], (channels + 3) // 4 * 4), dtype=np.int8)
    padded[:, :channels] = taps
    return padded.reshape(taps.shape[0], -1, 4).transpose(1, 0, 2).reshape(-1)


def interleave_rows(data: np.ndarray, rows: int, *, group: int) -> np.ndarray:
    """Rows (length a multiple of 4) interleaved `group` at a time, 4 bytes from each in turn;
    the last `rows % group` rows stay plain."""
    m = np.asarray(data, dtype=np.int8).reshape(rows, -1)
    full = rows // group * group
    grouped = m[:full].reshape(rows // group, group, m.shape[1] // 4, 4).transpose(0, 2, 1, 3)
    return np.concatenate([grouped.reshape(-1), m[full:].reshape(-1)])


def _folded_bias(
    ctx: EmitContext,
    op: Operator,
    flt: Tensor,
    bias_idx: int,
    input_offset: int,
    channels: int,
    depthwise: bool,
) -> list[int]:
    """bias + input_offset * sum(filter) per output channel: the optimised kernels' exact fold."""
    w = np.asarray(flt.data, dtype=np.int64)
    sums = w.reshape(-1, channels).sum(axis=0) if depthwise else w.reshape(channels, -1).sum(axis=1)
    bias = (
        np.asarray(ctx.graph.tensor(bias_idx).data, dtype=np.int64).reshape(-1)
        if bias_idx >= 0
        else np.zeros(channels, dtype=np.int64)
    )
    folded = bias + input_offset * sums
    if np.abs(folded).max(initial=0) >= 2**31:
        raise CompileError(f"{op.opcode} (operator {op.index}): folded bias overflows int32")
    return [int(v) for v in folded]


@dataclass
class _Conv:
    """A convolution's parameters, computed once whichever kernel runs it (TFLite Micro's
    conv_common: CalculateOpDataConv): the tensors, and in `fields` the C parameter struct's
    shapes, strides, dilations, padding and, for int8, offsets, clamps and multipliers."""

    op: Operator
    inp: Tensor
    flt: Tensor
    out: Tensor
    bias_idx: int
    depthwise: bool
    act: str
    fields: dict

    @property
    def kernel(self) -> str:
        return "depthwise_conv2d" if self.depthwise else "conv2d"


def _conv_params(ctx: EmitContext, op: Operator, depthwise: bool) -> _Conv:
    """Check the shapes and compute the geometry of a CONV_2D or DEPTHWISE_CONV_2D."""
    g = ctx.graph
    inp, flt, out = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    n, in_h, in_w, in_c = _nhwc(inp, "input", op)
    _, out_h, out_w, out_c = _nhwc(out, "output", op)
    _, f_h, f_w, f_c = _nhwc(flt, "filter", op)
    if not flt.is_constant:
        raise CompileError(f"{op.opcode} (operator {op.index}) has a non-constant filter")
    o = op.options
    stride_h, stride_w = o.get("stride_h", 1), o.get("stride_w", 1)
    dil_h, dil_w = (
        o.get("dilation_h_factor", o.get("dilation_hfactor", 1)),
        o.get("dilation_w_factor", o.get("dilation_wfactor", 1)),
    )
    exp_h, pad_h = quant.padding(
        kind=o["padding"], stride=stride_h, dilation=dil_h, in_size=in_h, filter_size=f_h
    )
    exp_w, pad_w = quant.padding(
        kind=o["padding"], stride=stride_w, dilation=dil_w, in_size=in_w, filter_size=f_w
    )
    if (exp_h, exp_w) != (out_h, out_w):
        raise CompileError(
            f"{op.opcode} (operator {op.index}): output {out_h}x{out_w} does not match "
            f"the padding arithmetic ({exp_h}x{exp_w})"
        )
    if depthwise:
        depth_multiplier = out_c // in_c
        if f_c != out_c or depth_multiplier * in_c != out_c:
            raise CompileError(
                f"DEPTHWISE_CONV_2D (operator {op.index}): filter channels {f_c}, "
                f"input {in_c}, output {out_c} are inconsistent"
            )
    else:
        depth_multiplier = 1
        if f_c != in_c:
            raise CompileError(
                f"CONV_2D (operator {op.index}): grouped convolution "
                f"(filter depth {f_c} != input depth {in_c}) is not supported"
            )
    fields: dict = dict(
        batches=n,
        in_h=in_h,
        in_w=in_w,
        in_c=in_c,
        out_h=out_h,
        out_w=out_w,
        out_c=out_c,
        f_h=f_h,
        f_w=f_w,
        stride_h=stride_h,
        stride_w=stride_w,
        dil_h=dil_h,
        dil_w=dil_w,
        pad_h=pad_h,
        pad_w=pad_w,
        depth_multiplier=depth_multiplier,
    )
    act = o.get("fused_activation_function", "NONE")
    return _Conv(op, inp, flt, out, _opt_input(op, 2), depthwise, act, fields)


def _quantize_conv_s8(ctx: EmitContext, conv: _Conv, code: OpCode) -> None:
    """int8: per-channel multipliers and shifts (declared as arrays), offsets and the clamp."""
    op, inp, flt, out = conv.op, conv.inp, conv.flt, conv.out
    _require_dtype(op, flt, ("int8",), "filter")
    _require_dtype(op, out, ("int8",), "output")
    if conv.bias_idx >= 0:
        _require_dtype(op, ctx.graph.tensor(conv.bias_idx), ("int32",), "bias")
    fscales = flt.quant.scale if flt.quant else (1.0,)
    mults, shifts = [], []
    for c in range(conv.fields["out_c"]):
        fs = fscales[c if len(fscales) > 1 else 0]
        m, s = quant.quantize_multiplier(float(inp.scale) * float(fs) / float(out.scale))
        mults.append(m)
        shifts.append(s)
    act_min, act_max = quant.activation_range_s8(
        conv.act, scale=out.scale, zero_point=out.zero_point
    )
    code.decls += [
        c_int_array(ctx.sym(op, "_mult"), mults),
        c_int_array(ctx.sym(op, "_shift"), shifts),
    ]
    conv.fields.update(
        input_offset=-inp.zero_point,
        output_offset=out.zero_point,
        act_min=act_min,
        act_max=act_max,
        multiplier=ctx.sym(op, "_mult"),
        shift=ctx.sym(op, "_shift"),
    )


def _emit_conv_s8_opt(ctx: EmitContext, conv: _Conv, code: OpCode) -> None:
    """The optimised int8 kernels: input offset folded into the bias; convolution filters
    re-laid out for the SMLAD loops, depthwise reading border taps from a zero-point row."""
    op, f = conv.op, conv.fields
    bias_eff = _folded_bias(
        ctx, op, conv.flt, conv.bias_idx, -conv.inp.zero_point, f["out_c"], conv.depthwise
    )
    code.decls.append(c_int_array(ctx.sym(op, "_bias_eff"), bias_eff))
    ctx.relaid_weight_bytes += 4 * len(bias_eff)
    if conv.depthwise:
        ctx.scratch_bytes = max(ctx.scratch_bytes, f["in_c"])
        ctx.used_constants.discard(op.inputs[1])  # replaced by the re-laid-out copy
        filter_ref = ctx.sym(op, "_filter")
        relaid = group_channels(conv.flt.constant_data, f["in_c"])
        ctx.relaid_weight_bytes += relaid.size
        code.decls.append(_aligned(ctx, c_int_array(filter_ref, relaid, "int8_t")))
    else:
        col_stride = (f["f_h"] * f["f_w"] * f["in_c"] + 3) // 4 * 4  # rows padded to whole words
        # two im2col columns and their interleaving (4 * col_stride in all), or on Helium three
        # columns and three rows of MVE_ACC_CHANNELS int32 accumulators
        ctx.scratch_bytes = max(
            ctx.scratch_bytes, 4 * col_stride, 3 * col_stride + 12 * MVE_ACC_CHANNELS
        )
        ctx.used_constants.discard(op.inputs[1])  # replaced by the re-laid-out copy
        filter_ref = ctx.sym(op, "_filter")
        relaid = interleave_filter(conv.flt.constant_data, f["out_c"], col_stride)
        quads = quad_filter(conv.flt.constant_data, f["out_c"], col_stride)
        ctx.relaid_weight_bytes += relaid.size  # a build keeps one of the two layouts
        code.decls.append(
            f"#if {ctx.prefix.upper()}CONV_QUADS\n"
            f"{_aligned(ctx, c_int_array(filter_ref, quads, 'int8_t'))}\n#else\n"
            f"{_aligned(ctx, c_int_array(filter_ref, relaid, 'int8_t'))}\n#endif"
        )
        f["col_stride"] = col_stride
    code.decls.append(_struct(ctx.rt("conv_s8_t"), ctx.sym(op), f))
    step = ctx.ram_steps.get(op.index)
    args = f"&{ctx.sym(op)}"
    weights = f"{filter_ref}, {ctx.sym(op, '_bias_eff')}"
    tail = f"{step.unit if step else 0}, {ctx.temp(op) if step else ''}, {ctx.prefix}scratch);"
    if step is None:
        code.call = (
            f"{ctx.rt(conv.kernel + '_s8_opt')}({args}, {ctx.ptr(op.inputs[0], const=True)}, "
            f"{weights}, {ctx.ptr(op.outputs[0])}, {ctx.prefix}scratch);"
        )
    elif step.kind == "depthwise_in_place":
        code.call = (
            f"{ctx.rt('depthwise_conv2d_s8_inplace')}({args}, {ctx.ptr(op.inputs[0])}, "
            f"{weights}, {tail}"
        )
    elif step.kind == "pointwise_in_place":
        code.call = (
            f"{ctx.rt('conv1x1_s8_inplace')}({args}, {ctx.ptr(op.inputs[0])}, {weights}, {tail}"
        )
    else:
        add = ctx.graph.operators[step.add_op]
        conv_first = int(add.inputs[0] == op.outputs[0])
        code.call = (
            f"{ctx.rt('conv2d_add_s8_tiled')}({args}, {ctx.ptr(op.inputs[0], const=True)}, "
            f"{weights}, &{ctx.sym(add)}, {conv_first}, {ctx.ptr(step.other)}, {tail}"
        )


def _emit_conv_s8(ctx: EmitContext, conv: _Conv, code: OpCode) -> None:
    """The reference int8 kernels."""
    op = conv.op
    code.decls.append(_struct(ctx.rt("conv_s8_t"), ctx.sym(op), conv.fields))
    code.call = (
        f"{ctx.rt(conv.kernel + '_s8')}(&{ctx.sym(op)}, {ctx.ptr(op.inputs[0], const=True)}, "
        f"{ctx.ptr(op.inputs[1])}, {_LazyBias(ctx, conv.bias_idx)}, {ctx.ptr(op.outputs[0])});"
    )


def _conv_common(ctx: EmitContext, op: Operator, depthwise: bool) -> OpCode:
    conv = _conv_params(ctx, op, depthwise)
    code = OpCode()
    if conv.inp.dtype == "int8":
        _quantize_conv_s8(ctx, conv, code)
        f = conv.fields
        fits_opt = not depthwise or (f["depth_multiplier"] == 1 and f["f_h"] * f["f_w"] <= 64)
        if ctx.optimize and fits_opt:
            _emit_conv_s8_opt(ctx, conv, code)
        else:
            _emit_conv_s8(ctx, conv, code)
    elif conv.inp.dtype == "float32":
        bias = _LazyBias(
            ctx, conv.bias_idx
        )  # referenced (and emitted) only by kernels that read it
        _lower_weighted_f32(
            ctx,
            op,
            code,
            conv.fields,
            flt=conv.flt,
            act=conv.act,
            struct="conv_f32_t",
            fn=conv.kernel + "_f32",
            bias=bias,
        )
    else:
        _require_dtype(op, conv.inp, ("int8", "float32"), "input")
    return code


def lower_conv_2d(ctx: EmitContext, op: Operator) -> OpCode:
    return _conv_common(ctx, op, depthwise=False)


def lower_depthwise_conv_2d(ctx: EmitContext, op: Operator) -> OpCode:
    return _conv_common(ctx, op, depthwise=True)


def lower_fully_connected(ctx: EmitContext, op: Operator) -> OpCode:
    g = ctx.graph
    inp, flt, out = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    bias_idx = _opt_input(op, 2)
    if not flt.is_constant or len(flt.shape) != 2:
        raise CompileError(
            f"FULLY_CONNECTED (operator {op.index}) needs a constant 2-D filter, "
            f"got shape {flt.shape}"
        )
    out_depth, accum_depth = flt.shape
    if inp.num_elements % accum_depth:
        raise CompileError(
            f"FULLY_CONNECTED (operator {op.index}): input of {inp.num_elements} "
            f"values is not a multiple of the filter depth {accum_depth}"
        )
    batches = inp.num_elements // accum_depth
    act = op.options.get("fused_activation_function", "NONE")
    bias = _LazyBias(ctx, bias_idx)  # referenced (and emitted) only by kernels that read it
    code = OpCode()
    fields: dict = dict(batches=batches, accum_depth=accum_depth, out_depth=out_depth)
    if inp.dtype == "int8":
        _require_dtype(op, flt, ("int8",), "filter")
        _require_dtype(op, out, ("int8",), "output")
        if bias_idx >= 0:
            _require_dtype(op, g.tensor(bias_idx), ("int32",), "bias")
        fscales = flt.scales
        per_channel = len(fscales) > 1
        mults, shifts = [], []
        for c in range(out_depth if per_channel else 1):
            m, s = quant.quantize_multiplier(
                float(inp.scale) * float(fscales[c]) / float(out.scale)
            )
            mults.append(m)
            shifts.append(s)
        act_min, act_max = quant.activation_range_s8(
            act, scale=out.scale, zero_point=out.zero_point
        )
        code.decls += [
            c_int_array(ctx.sym(op, "_mult"), mults),
            c_int_array(ctx.sym(op, "_shift"), shifts),
        ]
        fields.update(
            per_channel=int(per_channel),
            input_offset=-inp.zero_point,
            filter_offset=-flt.zero_point,
            output_offset=out.zero_point,
            act_min=act_min,
            act_max=act_max,
            multiplier=ctx.sym(op, "_mult"),
            shift=ctx.sym(op, "_shift"),
        )
        code.decls.append(_struct(ctx.rt("fc_s8_t"), ctx.sym(op), fields))
        if ctx.optimize and flt.zero_point == 0 and accum_depth % 4 == 0:
            bias_eff = _folded_bias(ctx, op, flt, bias_idx, -inp.zero_point, out_depth, False)
            code.decls.append(c_int_array(ctx.sym(op, "_bias_eff"), bias_eff))
            ctx.relaid_weight_bytes += 4 * len(bias_eff)
            filter_ref = ctx.sym(op, "_filter")  # rows interleaved in fours for the kernel
            relaid = interleave_rows(flt.constant_data, out_depth, group=4)
            ctx.relaid_weight_bytes += relaid.size
            code.decls.append(_aligned(ctx, c_int_array(filter_ref, relaid, "int8_t")))
            code.call = (
                f"{ctx.rt('fully_connected_s8_opt')}(&{ctx.sym(op)}, "
                f"{ctx.ptr(op.inputs[0], const=True)}, {filter_ref}, {ctx.sym(op, '_bias_eff')}, "
                f"{ctx.ptr(op.outputs[0])});"
            )
        else:
            code.call = (
                f"{ctx.rt('fully_connected_s8')}(&{ctx.sym(op)}, "
                f"{ctx.ptr(op.inputs[0], const=True)}, {ctx.ptr(op.inputs[1])}, {bias}, "
                f"{ctx.ptr(op.outputs[0])});"
            )
    elif inp.dtype == "float32":
        _lower_weighted_f32(
            ctx,
            op,
            code,
            fields,
            flt=flt,
            act=act,
            struct="fc_f32_t",
            fn="fully_connected_f32",
            bias=bias,
        )
    else:
        _require_dtype(op, inp, ("int8", "float32"), "input")
    return code


def _pool(ctx: EmitContext, op: Operator, kind: str) -> OpCode:
    g = ctx.graph
    inp, out = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    n, in_h, in_w, c = _nhwc(inp, "input", op)
    _, out_h, out_w, _ = _nhwc(out, "output", op)
    o = op.options
    f_h, f_w = o["filter_height"], o["filter_width"]
    exp_h, pad_h = quant.padding(
        kind=o["padding"], stride=o["stride_h"], dilation=1, in_size=in_h, filter_size=f_h
    )
    exp_w, pad_w = quant.padding(
        kind=o["padding"], stride=o["stride_w"], dilation=1, in_size=in_w, filter_size=f_w
    )
    if (exp_h, exp_w) != (out_h, out_w):
        raise CompileError(
            f"{op.opcode} (operator {op.index}): output shape does not match padding"
        )
    fields: dict = dict(
        batches=n,
        in_h=in_h,
        in_w=in_w,
        channels=c,
        out_h=out_h,
        out_w=out_w,
        f_h=f_h,
        f_w=f_w,
        stride_h=o["stride_h"],
        stride_w=o["stride_w"],
        pad_h=pad_h,
        pad_w=pad_w,
    )
    act = o.get("fused_activation_function", "NONE")
    code = OpCode()
    if inp.dtype == "int8":
        lo, hi = quant.activation_range_s8(act, scale=out.scale, zero_point=out.zero_point)
        fields.update(act_min=lo, act_max=hi)
        code.decls.append(_struct(ctx.rt("pool_s8_t"), ctx.sym(op), fields))
        kernel = "avg_pool_s8_opt" if ctx.optimize and kind == "avg" else kind + "_pool_s8"
        code.call = (
            f"{ctx.rt(kernel)}(&{ctx.sym(op)}, {ctx.ptr(op.inputs[0], const=True)}, "
            f"{ctx.ptr(op.outputs[0])});"
        )
    else:
        _require_dtype(op, inp, ("float32",), "input")
        act_min, act_max = quant.activation_range_f32(act)
        fields.update(act_min=act_min, act_max=act_max)
        code.decls.append(_struct(ctx.rt("pool_f32_t"), ctx.sym(op), fields))
        code.call = (
            f"{ctx.rt(kind + '_pool_f32')}(&{ctx.sym(op)}, "
            f"{ctx.ptr(op.inputs[0], const=True)}, {ctx.ptr(op.outputs[0])});"
        )
    return code


def lower_average_pool_2d(ctx: EmitContext, op: Operator) -> OpCode:
    return _pool(ctx, op, "avg")


def lower_max_pool_2d(ctx: EmitContext, op: Operator) -> OpCode:
    return _pool(ctx, op, "max")


def broadcast_strides(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    """Element strides of `in_shape` seen through `out_shape` (4-D, 0 on broadcast dims)."""
    ins = (1,) * (4 - len(in_shape)) + tuple(in_shape)
    outs = (1,) * (4 - len(out_shape)) + tuple(out_shape)
    strides, acc = [0] * 4, 1
    for k in range(3, -1, -1):
        if ins[k] == outs[k]:
            strides[k] = acc if ins[k] > 1 else 0
        elif ins[k] == 1:
            strides[k] = 0
        else:
            raise CompileError(f"shapes {in_shape} and {out_shape} do not broadcast")
        acc *= ins[k]
    return strides


def _binary(ctx: EmitContext, op: Operator, kind: str) -> OpCode:
    g = ctx.graph
    a, b, out = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    if len(out.shape) > 4:
        raise CompileError(
            f"{op.opcode} (operator {op.index}) on {len(out.shape)}-D tensors is not supported"
        )
    out4 = (1,) * (4 - len(out.shape)) + tuple(out.shape)
    fields: dict = dict(
        out_dims=list(out4),
        in1_strides=broadcast_strides(a.shape, out.shape),
        in2_strides=broadcast_strides(b.shape, out.shape),
    )
    act = op.options.get("fused_activation_function", "NONE")
    code = OpCode()
    if out.dtype == "int8":
        for t, role in ((a, "first input"), (b, "second input")):
            _require_dtype(op, t, ("int8",), role)
        lo, hi = quant.activation_range_s8(act, scale=out.scale, zero_point=out.zero_point)
        if kind == "add":
            left_shift = 20
            twice_max = 2 * max(float(a.scale), float(b.scale))
            m1, s1 = quant.quantize_multiplier(float(a.scale) / twice_max)
            m2, s2 = quant.quantize_multiplier(float(b.scale) / twice_max)
            mo, so = quant.quantize_multiplier(twice_max / ((1 << left_shift) * float(out.scale)))
        else:
            left_shift, m1, s1, m2, s2 = 0, 0, 0, 0, 0
            mo, so = quant.quantize_multiplier(float(a.scale) * float(b.scale) / float(out.scale))
        fields.update(
            input1_offset=-a.zero_point,
            input2_offset=-b.zero_point,
            output_offset=out.zero_point,
            left_shift=left_shift,
            input1_multiplier=m1,
            input1_shift=s1,
            input2_multiplier=m2,
            input2_shift=s2,
            output_multiplier=mo,
            output_shift=so,
            act_min=lo,
            act_max=hi,
        )
        code.decls.append(_struct(ctx.rt("binary_s8_t"), ctx.sym(op), fields))
        suffix = "_s8"
        if any(step.add_op == op.index for step in ctx.ram_steps.values()):
            code.call = "/* computed tile by tile with the convolution before it */"
            return code
        if ctx.optimize and kind == "add" and tuple(a.shape) == tuple(b.shape) == tuple(out.shape):
            code.call = (
                f"{ctx.rt('add_s8_opt')}(&{ctx.sym(op)}, {out.num_elements}, "
                f"{ctx.ptr(op.inputs[0], const=True)}, {ctx.ptr(op.inputs[1], const=True)}, "
                f"{ctx.ptr(op.outputs[0])});"
            )
            return code
    else:
        _require_dtype(op, out, ("float32",), "output")
        act_min, act_max = quant.activation_range_f32(act)
        fields.update(act_min=act_min, act_max=act_max)
        code.decls.append(_struct(ctx.rt("binary_f32_t"), ctx.sym(op), fields))
        suffix = "_f32"
    code.call = (
        f"{ctx.rt(kind + suffix)}(&{ctx.sym(op)}, {ctx.ptr(op.inputs[0], const=True)}, "
        f"{ctx.ptr(op.inputs[1], const=True)}, {ctx.ptr(op.outputs[0])});"
    )
    return code


def lower_add(ctx: EmitContext, op: Operator) -> OpCode:
    return _binary(ctx, op, "add")


def lower_mul(ctx: EmitContext, op: Operator) -> OpCode:
    return _binary(ctx, op, "mul")


def _alias(ctx: EmitContext, op: Operator) -> OpCode:
    inp, out = ctx.graph.tensor(op.inputs[0]), ctx.graph.tensor(op.outputs[0])
    if inp.nbytes != out.nbytes:
        raise CompileError(
            f"{op.opcode} (operator {op.index}) changes the size {inp.nbytes} -> {out.nbytes}"
        )
    return OpCode(call=f"/* {op.opcode}: output shares the input's bytes */")


lower_reshape = lower_squeeze = lower_expand_dims = _alias


def lower_softmax(ctx: EmitContext, op: Operator) -> OpCode:
    inp, out = ctx.graph.tensor(op.inputs[0]), ctx.graph.tensor(op.outputs[0])
    depth = int(inp.shape[-1])
    outer = inp.num_elements // depth
    beta = float(op.options.get("beta", 1.0))
    code = OpCode()
    if inp.dtype == "int8":
        _require_dtype(op, out, ("int8",), "output")
        if out.zero_point != -128 or abs(out.scale - 1 / 256) > 1e-9:
            raise CompileError(
                f"SOFTMAX (operator {op.index}): int8 output must have scale 1/256 and "
                f"zero point -128, got {out.scale} / {out.zero_point}"
            )
        m, s, diff_min = quant.softmax_params_s8(beta=beta, input_scale=inp.scale)
        code.decls.append(
            _struct(
                ctx.rt("softmax_s8_t"),
                ctx.sym(op),
                dict(
                    outer=outer,
                    depth=depth,
                    input_multiplier=m,
                    input_left_shift=s,
                    diff_min=diff_min,
                ),
            )
        )
        code.call = (
            f"{ctx.rt('softmax_s8')}(&{ctx.sym(op)}, {ctx.ptr(op.inputs[0], const=True)}, "
            f"{ctx.ptr(op.outputs[0])});"
        )
    else:
        _require_dtype(op, inp, ("float32",), "input")
        code.call = (
            f"{ctx.rt('softmax_f32')}({outer}, {depth}, {c_float(beta)}, "
            f"{ctx.ptr(op.inputs[0], const=True)}, {ctx.ptr(op.outputs[0])});"
        )
    return code


def _sigmoid_like(ctx: EmitContext, op: Operator, kind: str) -> OpCode:
    inp, out = ctx.graph.tensor(op.inputs[0]), ctx.graph.tensor(op.outputs[0])
    code = OpCode()
    if inp.dtype == "int8":
        expected_zp = -128 if kind == "logistic" else 0
        expected_scale = 1 / 256 if kind == "logistic" else 1 / 128
        if out.zero_point != expected_zp or abs(out.scale - expected_scale) > 1e-9:
            raise CompileError(
                f"{op.opcode} (operator {op.index}): int8 output must have scale "
                f"{expected_scale} and zero point {expected_zp}"
            )
        m, s, radius = quant.sigmoid_params_s8(input_scale=inp.scale)
        code.decls.append(
            _struct(
                ctx.rt("sigmoid_s8_t"),
                ctx.sym(op),
                dict(
                    size=inp.num_elements,
                    input_zero_point=inp.zero_point,
                    input_range_radius=radius,
                    input_multiplier=m,
                    input_left_shift=s,
                ),
            )
        )
        code.call = (
            f"{ctx.rt(kind + '_s8')}(&{ctx.sym(op)}, {ctx.ptr(op.inputs[0], const=True)}, "
            f"{ctx.ptr(op.outputs[0])});"
        )
    else:
        _require_dtype(op, inp, ("float32",), "input")
        code.call = (
            f"{ctx.rt(kind + '_f32')}({inp.num_elements}, {ctx.ptr(op.inputs[0], const=True)}, "
            f"{ctx.ptr(op.outputs[0])});"
        )
    return code


def lower_logistic(ctx: EmitContext, op: Operator) -> OpCode:
    return _sigmoid_like(ctx, op, "logistic")


def lower_tanh(ctx: EmitContext, op: Operator) -> OpCode:
    return _sigmoid_like(ctx, op, "tanh")


def _relu(ctx: EmitContext, op: Operator, upper: float | None) -> OpCode:
    inp, out = ctx.graph.tensor(op.inputs[0]), ctx.graph.tensor(op.outputs[0])
    code = OpCode()
    if inp.dtype == "int8":
        if upper is None:  # TFLM ReluQuantized: rescale into the output's quantization
            m, s = quant.quantize_multiplier(float(inp.scale) / float(out.scale))
            lo = max(-128, quant.quantize_value(0.0, scale=out.scale, zero_point=out.zero_point))
            code.decls.append(
                _struct(
                    ctx.rt("requant_s8_t"),
                    ctx.sym(op),
                    dict(
                        size=inp.num_elements,
                        input_zero_point=inp.zero_point,
                        output_zero_point=out.zero_point,
                        multiplier=m,
                        shift=s,
                        act_min=lo,
                        act_max=127,
                    ),
                )
            )
            code.call = (
                f"{ctx.rt('requantize_s8')}(&{ctx.sym(op)}, "
                f"{ctx.ptr(op.inputs[0], const=True)}, {ctx.ptr(op.outputs[0])});"
            )
        else:  # TFLM Relu6Quantized: clamp in the input's quantization
            lo = inp.zero_point
            hi = min(
                127,
                max(-128, quant.quantize_value(upper, scale=inp.scale, zero_point=inp.zero_point)),
            )
            code.call = (
                f"{ctx.rt('clamp_s8')}({inp.num_elements}, {lo}, {hi}, "
                f"{ctx.ptr(op.inputs[0], const=True)}, {ctx.ptr(op.outputs[0])});"
            )
    else:
        _require_dtype(op, inp, ("float32",), "input")
        hi_f = quant.FLOAT_MAX if upper is None else upper
        code.call = (
            f"{ctx.rt('clamp_f32')}({inp.num_elements}, 0.0f, {c_float(hi_f)}, "
            f"{ctx.ptr(op.inputs[0], const=True)}, {ctx.ptr(op.outputs[0])});"
        )
    return code


def lower_relu(ctx: EmitContext, op: Operator) -> OpCode:
    return _relu(ctx, op, None)


def lower_relu6(ctx: EmitContext, op: Operator) -> OpCode:
    return _relu(ctx, op, 6.0)


def _const_ints(ctx: EmitContext, op: Operator, k: int, what: str) -> np.ndarray:
    idx = _opt_input(op, k)
    if idx < 0 or not ctx.graph.tensor(idx).is_constant:
        raise CompileError(f"{op.opcode} (operator {op.index}) needs constant {what}")
    return np.asarray(ctx.graph.tensor(idx).data).astype(np.int64)


def lower_pad(ctx: EmitContext, op: Operator) -> OpCode:
    g = ctx.graph
    inp, out = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    pads = _const_ints(ctx, op, 1, "paddings").reshape(-1, 2)
    if len(inp.shape) > 4:
        raise CompileError(
            f"{op.opcode} (operator {op.index}) on {len(inp.shape)}-D tensors is not supported"
        )
    lead = 4 - len(inp.shape)
    dims = [1] * lead + list(inp.shape)
    before = [0] * lead + [int(p) for p in pads[:, 0]]
    after = [0] * lead + [int(p) for p in pads[:, 1]]
    code = OpCode()
    if inp.dtype == "int8":
        pad_value = out.zero_point
        value_idx = _opt_input(op, 2)
        if value_idx >= 0:
            pad_value = int(np.asarray(g.tensor(value_idx).data).reshape(-1)[0])
        code.decls.append(f"static const int8_t {ctx.sym(op, '_value')} = {pad_value};")
        elem = 1
    else:
        _require_dtype(op, inp, ("float32",), "input")
        value_idx = _opt_input(op, 2)
        pad_f = (
            float(np.asarray(g.tensor(value_idx).data).reshape(-1)[0]) if value_idx >= 0 else 0.0
        )
        code.decls.append(f"static const float {ctx.sym(op, '_value')} = {c_float(pad_f)};")
        elem = 4
    code.decls.append(
        _struct(
            ctx.rt("pad_t"),
            ctx.sym(op),
            dict(in_dims=dims, before=before, after=after, elem_bytes=elem),
        )
    )
    code.call = (
        f"{ctx.rt('pad')}(&{ctx.sym(op)}, {ctx.ptr(op.inputs[0], const=True)}, "
        f"&{ctx.sym(op, '_value')}, {ctx.ptr(op.outputs[0])});"
    )
    return code


lower_padv2 = lower_pad


def lower_concatenation(ctx: EmitContext, op: Operator) -> OpCode:
    g = ctx.graph
    out = g.tensor(op.outputs[0])
    axis = int(op.options.get("axis", 0))
    if axis < 0:
        axis += len(out.shape)
    if op.options.get("fused_activation_function", "NONE") != "NONE":
        raise CompileError(
            f"CONCATENATION (operator {op.index}) with a fused activation is not supported"
        )
    outer = int(np.prod(out.shape[:axis], dtype=np.int64))
    inner_bytes, ptrs = [], []
    for idx in op.inputs:
        t = g.tensor(idx)
        if t.dtype != out.dtype or (
            t.quant and out.quant and (t.scale, t.zero_point) != (out.scale, out.zero_point)
        ):
            raise CompileError(
                f"CONCATENATION (operator {op.index}): input {t.name!r} must share the "
                f"output's type and quantization (requantizing concat is not supported)"
            )
        inner_bytes.append(t.nbytes // max(outer, 1))
        ptrs.append(f"(const void *){ctx.ptr(idx, const=True)}")
    code = OpCode()
    code.decls.append(c_int_array(ctx.sym(op, "_inner"), inner_bytes, "int"))
    n = len(ptrs)
    call = (
        f"{{\n        const void *const inputs[{n}] = {{{', '.join(ptrs)}}};\n"
        f"        {ctx.rt('concat')}({outer}, {n}, inputs, {ctx.sym(op, '_inner')}, "
        f"{ctx.ptr(op.outputs[0])});\n    }}"
    )
    code.call = call
    return code


def lower_mean(ctx: EmitContext, op: Operator) -> OpCode:
    g = ctx.graph
    inp, out = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    axes = sorted(
        int(a) % max(len(inp.shape), 1) for a in _const_ints(ctx, op, 1, "axes").reshape(-1)
    )
    if len(inp.shape) != 4 or axes != [1, 2]:
        raise CompileError(
            f"MEAN (operator {op.index}) over axes {axes} of a {len(inp.shape)}-D tensor "
            "is not supported (only the spatial mean over axes 1 and 2 of NHWC)"
        )
    n, h, w, c = inp.shape
    code = OpCode()
    if inp.dtype == "int8":
        m, s = quant.mean_multiplier(input_scale=inp.scale, output_scale=out.scale, count=h * w)
        code.decls.append(
            _struct(
                ctx.rt("mean_s8_t"),
                ctx.sym(op),
                dict(
                    batches=n,
                    in_h=h,
                    in_w=w,
                    channels=c,
                    input_zero_point=inp.zero_point,
                    output_zero_point=out.zero_point,
                    multiplier=m,
                    shift=s,
                ),
            )
        )
        code.call = (
            f"{ctx.rt('mean_hw_s8')}(&{ctx.sym(op)}, {ctx.ptr(op.inputs[0], const=True)}, "
            f"{ctx.ptr(op.outputs[0])});"
        )
    else:
        _require_dtype(op, inp, ("float32",), "input")
        code.call = (
            f"{ctx.rt('mean_hw_f32')}({n}, {h}, {w}, {c}, {ctx.ptr(op.inputs[0], const=True)}, "
            f"{ctx.ptr(op.outputs[0])});"
        )
    return code


def lower_quantize(ctx: EmitContext, op: Operator) -> OpCode:
    inp, out = ctx.graph.tensor(op.inputs[0]), ctx.graph.tensor(op.outputs[0])
    _require_dtype(op, out, ("int8",), "output")
    code = OpCode()
    if inp.dtype == "float32":
        code.call = (
            f"{ctx.rt('quantize_f32_s8')}({inp.num_elements}, {c_float(out.scale)}, "
            f"{out.zero_point}, {ctx.ptr(op.inputs[0], const=True)}, {ctx.ptr(op.outputs[0])});"
        )
    elif inp.dtype == "int8":
        m, s = quant.quantize_multiplier(float(inp.scale) / float(out.scale))
        code.decls.append(
            _struct(
                ctx.rt("requant_s8_t"),
                ctx.sym(op),
                dict(
                    size=inp.num_elements,
                    input_zero_point=inp.zero_point,
                    output_zero_point=out.zero_point,
                    multiplier=m,
                    shift=s,
                    act_min=-128,
                    act_max=127,
                ),
            )
        )
        code.call = (
            f"{ctx.rt('requantize_s8')}(&{ctx.sym(op)}, {ctx.ptr(op.inputs[0], const=True)}, "
            f"{ctx.ptr(op.outputs[0])});"
        )
    else:
        _require_dtype(op, inp, ("float32", "int8"), "input")
    return code


def lower_dequantize(ctx: EmitContext, op: Operator) -> OpCode:
    inp, out = ctx.graph.tensor(op.inputs[0]), ctx.graph.tensor(op.outputs[0])
    _require_dtype(op, inp, ("int8",), "input")
    _require_dtype(op, out, ("float32",), "output")
    return OpCode(
        call=(
            f"{ctx.rt('dequantize_s8_f32')}({inp.num_elements}, {c_float(inp.scale)}, "
            f"{inp.zero_point}, {ctx.ptr(op.inputs[0], const=True)}, {ctx.ptr(op.outputs[0])});"
        )
    )


LOWERINGS: dict[str, Callable[[EmitContext, Operator], OpCode]] = {
    "CONV_2D": lower_conv_2d,
    "DEPTHWISE_CONV_2D": lower_depthwise_conv_2d,
    "FULLY_CONNECTED": lower_fully_connected,
    "AVERAGE_POOL_2D": lower_average_pool_2d,
    "MAX_POOL_2D": lower_max_pool_2d,
    "ADD": lower_add,
    "MUL": lower_mul,
    "RESHAPE": lower_reshape,
    "SQUEEZE": lower_squeeze,
    "EXPAND_DIMS": lower_expand_dims,
    "SOFTMAX": lower_softmax,
    "LOGISTIC": lower_logistic,
    "TANH": lower_tanh,
    "RELU": lower_relu,
    "RELU6": lower_relu6,
    "PAD": lower_pad,
    "PADV2": lower_padv2,
    "CONCATENATION": lower_concatenation,
    "MEAN": lower_mean,
    "QUANTIZE": lower_quantize,
    "DEQUANTIZE": lower_dequantize,
}
