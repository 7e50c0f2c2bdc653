"""Tensor lifetimes and buffer sharing: which tensors of a graph need arena memory, when, and
which of them can live in the same bytes. `plan_memory` turns that into arena offsets with
`planner.MemoryPlanner`.

Steps are operator indices, inclusive. A graph input is alive from step 0 (it is copied in
before the first operator runs); a graph output until step `len(graph.operators)` (it is
copied out after the last one). Constant tensors live in flash and take no arena memory.

Tensors share a buffer in two cases:

- RESHAPE, SQUEEZE and EXPAND_DIMS only reinterpret the shape: their output aliases the input;
- element-wise operators whose kernel reads element i before writing element i (ADD, MUL,
  LOGISTIC, TANH, RELU, RELU6, QUANTIZE) write their output over an input of the same shape
  and type when that input's buffer dies at this operator, holds no graph output, and is not
  also the operator's other input. This puts the residual ADDs of ResNet in place.

RAM plans (`plan_memory(..., optimize_for="ram")`) add three rewrites, each run by a wrapper of
the optimised kernels (`runtime/tinyforge_kernels_ram.c`) and kept only where it lowers the
arena:

- `depthwise_in_place`: a DEPTHWISE_CONV_2D (depth multiplier 1) writes over its dying input,
  a group of 1 or 4 channels at a time through a temporary (TinyEngine);
- `pointwise_in_place`: a 1x1 stride-1 CONV_2D with out_c <= in_c writes over its dying input,
  a block of pixels at a time through a temporary;
- `conv_add_tiles`: a CONV_2D whose output only feeds the next operator, an ADD, runs with that
  ADD on tiles of a few output pixels (patch-based execution, MCUNetV2): the convolution's output
  never exists whole (it is not produced, so it is not compared), the sums go over the ADD's
  other input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.deploy.ir import CompileError, Graph, Operator
from workers.deploy.planner import MemoryPlanner

# Ops that only reinterpret the shape: their output shares the input's bytes.
ALIAS_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})
# Element-wise ops whose kernel reads element i before writing element i: the output may
# take over the input's bytes when the input dies at this operator.
IN_PLACE_OPS = frozenset({"ADD", "MUL", "LOGISTIC", "TANH", "RELU", "RELU6", "QUANTIZE"})
OPTIMIZE_FOR = ("speed", "ram")
POINTWISE_BLOCK_PIXELS = 8  # pixels per block of an in-place pointwise convolution
TILE_PIXELS = 8  # output pixels per tile of a convolution run with its ADD
MAX_DEPTHWISE_TAPS = 64  # the optimised depthwise kernel's limit
# Which rewrite to give up first when it does not lower the arena: the costliest in time.
RAM_KINDS = ("conv_add_tiles", "depthwise_in_place", "pointwise_in_place")


@dataclass(frozen=True)
class RamStep:
    """One operator of a RAM plan run by a RAM-saving kernel wrapper."""

    kind: str  # one of RAM_KINDS
    op: int  # the operator
    temp_bytes: int  # its temporary in the arena, alive during this operator only
    unit: int  # channels per pass, pixels per block, or output pixels per tile
    add_op: int = -1  # conv_add_tiles: the ADD run with the convolution
    other: int = -1  # conv_add_tiles: the ADD's other input, the sums written over it


@dataclass(frozen=True)
class Lifetime:
    """First and last operator step (inclusive) at which a tensor's bytes must be kept."""

    first_use: int
    last_use: int


@dataclass(frozen=True)
class Buffer:
    """Arena bytes shared by `tensors` (the first one is the tensor the others joined)."""

    tensors: tuple[int, ...]
    size_bytes: int
    first_use: int
    last_use: int


@dataclass(frozen=True)
class ArenaPlan:
    offsets: dict[int, int]  # arena offset of every non-constant tensor
    arena_bytes: int
    lower_bound_bytes: int
    buffers: tuple[Buffer, ...] = ()
    ram_steps: dict[int, RamStep] = field(default_factory=dict)  # by operator index
    temp_offsets: dict[int, int] = field(default_factory=dict)  # arena offset of each temporary
    not_produced: tuple[int, ...] = ()  # tensors a RAM plan never holds whole


def tensor_lifetimes(graph: Graph) -> dict[int, Lifetime]:
    """The lifetime of every tensor the operators write or read, except constants.

    Raises CompileError when an operator reads a tensor that nothing has written before it.
    """
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for idx in graph.inputs:
        first[idx] = last[idx] = 0
    for op in graph.operators:
        for idx in op.outputs:
            first.setdefault(idx, op.index)
            last[idx] = max(last.get(idx, op.index), op.index)
        for idx in op.inputs:
            if idx < 0 or graph.tensor(idx).is_constant:
                continue
            if idx not in first:
                raise CompileError(
                    f"tensor {graph.tensor(idx).name!r} is read by operator "
                    f"{op.index} before anything writes it"
                )
            last[idx] = max(last[idx], op.index)
    for idx in graph.outputs:
        last[idx] = len(graph.operators)
    return {idx: Lifetime(first[idx], last[idx]) for idx in first}


class _Sharing:
    """Which tensors share a buffer: each tensor points at the tensor whose bytes it took over."""

    def __init__(self, graph: Graph, lifetimes: dict[int, Lifetime]) -> None:
        self.graph = graph
        self.lifetimes = lifetimes
        self.parent = {idx: idx for idx in lifetimes}

    def root(self, idx: int) -> int:
        while self.parent[idx] != idx:
            idx = self.parent[idx]
        return idx

    def members(self, root: int) -> list[int]:
        return [idx for idx in self.parent if self.root(idx) == root]

    def last_use(self, root: int) -> int:
        return max(self.lifetimes[idx].last_use for idx in self.members(root))

    def can_write_over(self, op: Operator, src: int) -> bool:
        """May `op` write its output over the buffer holding its input `src`?"""
        r = self.root(src)
        if self.last_use(r) != op.index or set(self.members(r)) & set(self.graph.outputs):
            return False  # the input is still needed after this operator, or is a graph output
        others = [self.root(i) for i in op.inputs if i >= 0 and i != src and i in self.parent]
        return r not in others  # writing over the other input's buffer would corrupt it

    def same_layout(self, a: int, b: int) -> bool:
        ta, tb = self.graph.tensor(a), self.graph.tensor(b)
        return (ta.nbytes, ta.dtype, tuple(ta.shape)) == (tb.nbytes, tb.dtype, tuple(tb.shape))

    def share(self, op: Operator) -> None:
        """Let `op`'s output join the buffer of an input when the rules above allow it."""
        if not op.outputs or self.graph.tensor(op.outputs[0]).is_constant:
            return
        out = op.outputs[0]
        variable_inputs = [i for i in op.inputs if i >= 0 and not self.graph.tensor(i).is_constant]
        if op.opcode in ALIAS_OPS:
            if op.inputs[0] in variable_inputs:
                self.parent[out] = self.root(op.inputs[0])
        elif op.opcode in IN_PLACE_OPS:
            for src in variable_inputs:
                if self.same_layout(src, out) and self.can_write_over(op, src):
                    self.parent[out] = self.root(src)
                    return


def _ram_step(sharing: _Sharing, op: Operator) -> RamStep | None:
    """The RAM rewrite `op` allows in the current sharing state, if any."""
    g = sharing.graph
    if op.opcode not in ("CONV_2D", "DEPTHWISE_CONV_2D") or not op.outputs:
        return None
    src, out = op.inputs[0], op.outputs[0]
    ti, to, tf = g.tensor(src), g.tensor(out), g.tensor(op.inputs[1])
    if ti.is_constant or (ti.dtype, to.dtype) != ("int8", "int8") or len(ti.shape) != 4:
        return None
    in_pixels, out_pixels = ti.num_elements // ti.shape[3], to.num_elements // to.shape[3]
    in_c, out_c = ti.shape[3], to.shape[3]
    strides = (op.options.get("stride_h", 1), op.options.get("stride_w", 1))
    if op.opcode == "DEPTHWISE_CONV_2D":
        taps = tf.shape[1] * tf.shape[2]
        if in_c != out_c or taps > MAX_DEPTHWISE_TAPS or not sharing.can_write_over(op, src):
            return None
        group = 4 if in_c % 4 == 0 else 1
        return RamStep("depthwise_in_place", op.index, group * (in_pixels + out_pixels), group)
    pointwise = tuple(tf.shape[1:3]) == (1, 1) and strides == (1, 1) and out_c <= in_c
    if pointwise and sharing.can_write_over(op, src):
        block = min(out_pixels, POINTWISE_BLOCK_PIXELS)
        return RamStep("pointwise_in_place", op.index, block * in_c, block)
    nxt = op.index + 1
    if (
        ti.shape[0] != 1
        or nxt >= len(g.operators)
        or out in g.outputs
        or sharing.lifetimes[out] != Lifetime(op.index, nxt)
    ):
        return None
    add = g.operators[nxt]
    if add.opcode != "ADD" or len(add.inputs) != 2 or out not in add.inputs:
        return None
    other = add.inputs[1] if add.inputs[0] == out else add.inputs[0]
    tx, ta = g.tensor(other), g.tensor(add.outputs[0])
    if (
        other == out
        or tx.is_constant
        or not (tuple(tx.shape) == tuple(to.shape) == tuple(ta.shape))
        or (tx.dtype, ta.dtype) != ("int8", "int8")
        or sharing.root(other) == sharing.root(src)  # the sums would overwrite the conv's input
        or not sharing.can_write_over(add, other)
    ):
        return None
    tile = min(to.shape[2], TILE_PIXELS)
    return RamStep("conv_add_tiles", op.index, tile * out_c, tile, add_op=nxt, other=other)


def output_tiles(out_h: int, out_w: int, tile: int) -> list[tuple[int, int, int]]:
    """The tiles `conv2d_add_s8_tiled` runs, in its order: (row, first column, columns)."""
    return [(oy, ox, min(tile, out_w - ox)) for oy in range(out_h) for ox in range(0, out_w, tile)]


def _share_all(
    graph: Graph, lifetimes: dict[int, Lifetime], ram_ops: set[int] | None
) -> tuple[_Sharing, dict[int, RamStep]]:
    """Run the sharing rules over the operators in order; with `ram_ops` (None: every operator)
    try the RAM rewrites on those first."""
    sharing = _Sharing(graph, lifetimes)
    steps: dict[int, RamStep] = {}
    forced: dict[int, int] = {}  # ADD output -> the input whose bytes it takes (tiled convs)
    for op in graph.operators:
        if op.outputs and op.outputs[0] in forced:
            sharing.parent[op.outputs[0]] = sharing.root(forced[op.outputs[0]])
            continue
        step = _ram_step(sharing, op) if ram_ops is None or op.index in ram_ops else None
        if step is None:
            sharing.share(op)
            continue
        steps[op.index] = step
        if step.kind == "conv_add_tiles":
            forced[graph.operators[step.add_op].outputs[0]] = step.other
        else:
            sharing.parent[op.outputs[0]] = sharing.root(op.inputs[0])
    return sharing, steps


def _buffers(
    graph: Graph, lifetimes: dict[int, Lifetime], sharing: _Sharing, skip: set[int]
) -> list[Buffer]:
    buffers = []
    for root in sorted({sharing.root(idx) for idx in lifetimes if idx not in skip}):
        members = [m for m in sharing.members(root) if m not in skip]
        buffers.append(
            Buffer(
                tensors=(root, *sorted(m for m in members if m != root)),
                size_bytes=max(graph.tensor(m).nbytes for m in members),
                first_use=min(lifetimes[m].first_use for m in members),
                last_use=max(lifetimes[m].last_use for m in members),
            )
        )
    return buffers


def shared_buffers(graph: Graph, lifetimes: dict[int, Lifetime] | None = None) -> list[Buffer]:
    """The arena buffers of `graph`: tensors that share bytes grouped, in order of their first
    tensor; each buffer as large as its largest tensor and alive as long as any of them."""
    lifetimes = tensor_lifetimes(graph) if lifetimes is None else lifetimes
    sharing, _ = _share_all(graph, lifetimes, set())
    return _buffers(graph, lifetimes, sharing, set())


def _plan(
    graph: Graph, lifetimes: dict[int, Lifetime], ram_ops: set[int] | None, alignment_bytes: int
) -> ArenaPlan:
    sharing, steps = _share_all(graph, lifetimes, ram_ops)
    skip = {graph.operators[s.op].outputs[0] for s in steps.values() if s.kind == "conv_add_tiles"}
    buffers = _buffers(graph, lifetimes, sharing, skip)
    planner = MemoryPlanner(alignment_bytes=alignment_bytes)
    ids = [planner.add_buffer(b.size_bytes, b.first_use, b.last_use) for b in buffers]
    temp_ids = {k: planner.add_buffer(s.temp_bytes, k, k) for k, s in steps.items()}
    plan = planner.plan()
    offsets = {idx: plan.offsets[i] for i, b in zip(ids, buffers, strict=True) for idx in b.tensors}
    return ArenaPlan(
        offsets=dict(sorted(offsets.items())),
        arena_bytes=plan.arena_bytes,
        lower_bound_bytes=plan.lower_bound_bytes,
        buffers=tuple(buffers),
        ram_steps=steps,
        temp_offsets={k: plan.offsets[i] for k, i in temp_ids.items()},
        not_produced=tuple(sorted(skip)),
    )


def plan_memory(
    graph: Graph, *, alignment_bytes: int = 16, optimize_for: str = "speed", prune: bool = True
) -> ArenaPlan:
    """Arena offsets of every non-constant tensor: its buffer's place in one static arena.

    `optimize_for="ram"` applies every RAM rewrite the graph allows, then gives up each one
    (costliest kind first) whose removal leaves the arena no larger (`prune=False` keeps them
    all: tests use it to run every rewrite).
    """
    if optimize_for not in OPTIMIZE_FOR:
        raise CompileError(
            f"optimize_for must be one of {', '.join(OPTIMIZE_FOR)}, got {optimize_for!r}"
        )
    lifetimes = tensor_lifetimes(graph)
    if optimize_for == "speed":
        return _plan(graph, lifetimes, set(), alignment_bytes)
    best = _plan(graph, lifetimes, None, alignment_bytes)
    if not prune:
        return best
    kept = set(best.ram_steps)
    for kind in RAM_KINDS:
        for k in sorted(best.ram_steps):
            if k not in kept or best.ram_steps[k].kind != kind:
                continue
            trial = _plan(graph, lifetimes, kept - {k}, alignment_bytes)
            if trial.arena_bytes <= best.arena_bytes and set(trial.ram_steps) == kept - {k}:
                best, kept = trial, kept - {k}
    return best
