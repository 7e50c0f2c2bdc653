"""Tensor lifetimes, buffer sharing (aliases, in place) and arena offsets on small hand-built
graphs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from workers.deploy.ir import CompileError, Graph, Operator, Tensor
from workers.deploy.lifetimes import Buffer, Lifetime, plan_memory, shared_buffers, tensor_lifetimes
from workers.deploy.reader import read_model


def _graph(tensors: list[tuple], ops: list[tuple], inputs: tuple, outputs: tuple) -> Graph:
    """tensors: (name, shape[, "const"]) int8; ops: (opcode, inputs, outputs)."""
    ts = [
        Tensor(i, t[0], t[1], "int8", data=np.zeros(t[1], np.int8) if "const" in t[2:] else None)
        for i, t in enumerate(tensors)
    ]
    return Graph(
        tensors=ts,
        operators=[Operator(k, code, ins, outs) for k, (code, ins, outs) in enumerate(ops)],
        inputs=inputs,
        outputs=outputs,
    )


def _assert_live_tensors_do_not_overlap(graph: Graph, plan) -> None:
    lifetimes = tensor_lifetimes(graph)
    buffer_of = {t: b for b in plan.buffers for t in b.tensors}
    for a, b in itertools.combinations(lifetimes, 2):
        if buffer_of[a] is buffer_of[b]:
            continue  # the same bytes on purpose
        la, lb = lifetimes[a], lifetimes[b]
        if la.first_use <= lb.last_use and lb.first_use <= la.last_use:
            a0, a1 = plan.offsets[a], plan.offsets[a] + graph.tensor(a).nbytes
            b0, b1 = plan.offsets[b], plan.offsets[b] + graph.tensor(b).nbytes
            assert a1 <= b0 or b1 <= a0, (a, b)


def chain() -> Graph:
    """x -> CONV -> c -> RESHAPE -> r -> FULLY_CONNECTED -> f -> SOFTMAX -> out."""
    return _graph(
        [
            ("x", (1, 8, 8, 4)),  # 0: 256 bytes
            ("w", (8, 1, 1, 4), "const"),  # 1
            ("c", (1, 8, 8, 8)),  # 2: 512
            ("shape", (2,), "const"),  # 3
            ("r", (1, 512)),  # 4: 512, the same bytes as c
            ("fw", (10, 512), "const"),  # 5
            ("f", (1, 10)),  # 6
            ("out", (1, 10)),  # 7
        ],
        [
            ("CONV_2D", (0, 1, -1), (2,)),
            ("RESHAPE", (2, 3), (4,)),
            ("FULLY_CONNECTED", (4, 5, -1), (6,)),
            ("SOFTMAX", (6,), (7,)),
        ],
        inputs=(0,),
        outputs=(7,),
    )


def test_lifetimes_are_first_and_last_operator_steps():
    lifetimes = tensor_lifetimes(chain())
    assert lifetimes == {
        0: Lifetime(0, 0),  # the input: copied in before operator 0, read by it
        2: Lifetime(0, 1),
        4: Lifetime(1, 2),
        6: Lifetime(2, 3),
        7: Lifetime(3, 4),  # the output: kept until it is copied out after the last operator
    }  # constants (1, 3, 5) take no arena memory


def test_reshape_output_aliases_its_input_and_offsets_are_exact():
    g = chain()
    assert shared_buffers(g) == [
        Buffer(tensors=(0,), size_bytes=256, first_use=0, last_use=0),
        Buffer(tensors=(2, 4), size_bytes=512, first_use=0, last_use=2),
        Buffer(tensors=(6,), size_bytes=10, first_use=2, last_use=3),
        Buffer(tensors=(7,), size_bytes=10, first_use=3, last_use=4),
    ]
    plan = plan_memory(g)
    # largest first: c/r at 0; x beside it; f after c/r's 512 bytes; out back at 0 once c/r died
    assert plan.offsets == {0: 512, 2: 0, 4: 0, 6: 512, 7: 0}
    assert plan.arena_bytes == plan.lower_bound_bytes == 768  # x + c alive at step 0
    _assert_live_tensors_do_not_overlap(g, plan)


def residual(second_input: int = 0) -> Graph:
    """x -> RELU -> a; ADD(a, x or a) -> y."""
    return _graph(
        [("x", (1, 16)), ("a", (1, 16)), ("y", (1, 16))],
        [("RELU", (0,), (1,)), ("ADD", (1, second_input), (2,))],
        inputs=(0,),
        outputs=(2,),
    )


def test_add_writes_over_an_input_that_dies_there():
    g = residual()
    assert tensor_lifetimes(g) == {0: Lifetime(0, 1), 1: Lifetime(0, 1), 2: Lifetime(1, 2)}
    # RELU cannot write over x (ADD still reads it); ADD writes y over a, which dies at ADD
    assert [b.tensors for b in shared_buffers(g)] == [(0,), (1, 2)]
    plan = plan_memory(g)
    assert plan.offsets == {0: 0, 1: 16, 2: 16}
    assert plan.arena_bytes == plan.lower_bound_bytes == 32
    _assert_live_tensors_do_not_overlap(g, plan)


def test_chains_of_element_wise_ops_reuse_one_buffer():
    g = _graph(
        [("x", (1, 16)), ("a", (1, 16)), ("b", (1, 16)), ("y", (1, 16))],
        [("RELU", (0,), (1,)), ("LOGISTIC", (1,), (2,)), ("TANH", (2,), (3,))],
        inputs=(0,),
        outputs=(3,),
    )
    assert [b.tensors for b in shared_buffers(g)] == [(0, 1, 2, 3)]
    plan = plan_memory(g)
    assert plan.offsets == {0: 0, 1: 0, 2: 0, 3: 0} and plan.arena_bytes == 16


def test_no_write_over_the_operators_other_input():
    # b = RESHAPE(a) shares a's bytes (which already took over x's); ADD(a, b) must not write over
    # a while it still reads the same bytes as b
    g = _graph(
        [("x", (1, 16)), ("a", (1, 16)), ("shape", (2,), "const"), ("b", (1, 16)), ("y", (1, 16))],
        [("RELU", (0,), (1,)), ("RESHAPE", (1, 2), (3,)), ("ADD", (1, 3), (4,))],
        inputs=(0,),
        outputs=(4,),
    )
    assert [b.tensors for b in shared_buffers(g)] == [(0, 1, 3), (4,)]
    plan = plan_memory(g)
    assert plan.offsets == {0: 0, 1: 0, 3: 0, 4: 16}
    _assert_live_tensors_do_not_overlap(g, plan)


def test_no_write_over_an_input_of_another_shape_or_a_tensor_read_later():
    # ADD broadcasting (1, 1) over (1, 16): the small input cannot hold the output
    g = _graph(
        [("x", (1, 16)), ("s", (1, 1)), ("y", (1, 16)), ("z", (1, 16))],
        [("ADD", (0, 1), (2,)), ("MUL", (2, 0), (3,))],
        inputs=(0, 1),
        outputs=(3,),
    )
    # x is read again by MUL, so ADD writes y elsewhere; MUL writes z over y, its first input
    assert [b.tensors for b in shared_buffers(g)] == [(0,), (1,), (2, 3)]


def test_reading_a_tensor_nobody_wrote_is_an_error():
    g = _graph(
        [("x", (1, 4)), ("ghost", (1, 4)), ("y", (1, 4))], [("ADD", (0, 1), (2,))], (0,), (2,)
    )
    with pytest.raises(
        CompileError, match="'ghost' is read by operator 0 before anything writes it"
    ):
        tensor_lifetimes(g)


def test_residual_network_fits_its_lower_bound():
    """pretrainedResnet_quant: the residual ADDs run in place, the arena is the lower bound."""
    graph = read_model((require_shared(MODELS_DIR) / "pretrainedResnet_quant.tflite").read_bytes())
    plan = plan_memory(graph)
    in_place = [b for b in plan.buffers if len(b.tensors) > 1]
    adds = [op for op in graph.operators if op.opcode == "ADD"]
    assert adds and all(any(op.outputs[0] in b.tensors for b in in_place) for op in adds)
    assert plan.arena_bytes == plan.lower_bound_bytes == 49152
    _assert_live_tensors_do_not_overlap(graph, plan)
