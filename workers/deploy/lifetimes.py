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
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.deploy.ir import CompileError, Graph, Operator
from workers.deploy.planner import MemoryPlanner

# Ops that only reinterpret the shape: their output shares the input's bytes.
ALIAS_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})
# Element-wise ops whose kernel reads element i before writing element i: the output may
# take over the input's bytes when the input dies at this operator.
IN_PLACE_OPS = frozenset({"ADD", "MUL", "LOGISTIC", "TANH", "RELU", "RELU6", "QUANTIZE"})


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


def shared_buffers(graph: Graph, lifetimes: dict[int, Lifetime] | None = None) -> list[Buffer]:
    """The arena buffers of `graph`: tensors that share bytes grouped, in order of their first
    tensor; each buffer as large as its largest tensor and alive as long as any of them."""
    lifetimes = tensor_lifetimes(graph) if lifetimes is None else lifetimes
    sharing = _Sharing(graph, lifetimes)
    for op in graph.operators:
        sharing.share(op)
    buffers = []
    for root in sorted({sharing.root(idx) for idx in lifetimes}):
        members = sharing.members(root)
        buffers.append(
            Buffer(
                tensors=(root, *sorted(m for m in members if m != root)),
                size_bytes=max(graph.tensor(m).nbytes for m in members),
                first_use=min(lifetimes[m].first_use for m in members),
                last_use=max(lifetimes[m].last_use for m in members),
            )
        )
    return buffers


def plan_memory(graph: Graph, *, alignment_bytes: int = 16) -> ArenaPlan:
    """Arena offsets of every non-constant tensor: its buffer's place in one static arena."""
    buffers = shared_buffers(graph)
    planner = MemoryPlanner(alignment_bytes=alignment_bytes)
    ids = [planner.add_buffer(b.size_bytes, b.first_use, b.last_use) for b in buffers]
    plan = planner.plan()
    offsets = {idx: plan.offsets[i] for i, b in zip(ids, buffers, strict=True) for idx in b.tensors}
    return ArenaPlan(
        offsets=dict(sorted(offsets.items())),
        arena_bytes=plan.arena_bytes,
        lower_bound_bytes=plan.lower_bound_bytes,
        buffers=tuple(buffers),
    )
