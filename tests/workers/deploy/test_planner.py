import itertools

import numpy as np
import pytest

from workers.deploy.planner import MemoryPlanner


def _assert_no_live_overlap(planner: MemoryPlanner, offsets, alignment: int) -> None:
    for (i, a), (j, b) in itertools.combinations(enumerate(planner.buffers), 2):
        if a.size_bytes == 0 or b.size_bytes == 0 or not a.overlaps_in_time(b):
            continue
        a0, a1 = offsets[i], offsets[i] + a.size_bytes
        b0, b1 = offsets[j], offsets[j] + b.size_bytes
        assert a1 <= b0 or b1 <= a0, f"buffers {i} and {j} are alive together and overlap"
    assert all(o % alignment == 0 for o in offsets)


def test_exact_offsets_small_graph():
    p = MemoryPlanner(alignment_bytes=16)
    a = p.add_buffer(100, 0, 1)
    b = p.add_buffer(200, 1, 2)
    c = p.add_buffer(50, 2, 3)
    d = p.add_buffer(300, 0, 0)
    plan = p.plan()
    # largest first: d@0, b@0 (not alive with d), a after d (alive with both), c after b
    assert plan.offsets[d] == 0
    assert plan.offsets[b] == 0
    assert plan.offsets[a] == 304  # 300 rounded up to 16
    assert plan.offsets[c] == 208  # 200 rounded up to 16
    assert plan.arena_bytes == 416
    assert plan.lower_bound_bytes == 400  # d + a at step 0
    _assert_no_live_overlap(p, plan.offsets, 16)


def test_chain_where_first_use_order_reaches_the_lower_bound():
    # The first layers of vww_96_int8: largest-first placement needs 64512 bytes,
    # placing in order of first use reaches the lower bound of 55296.
    p = MemoryPlanner()
    ids = [
        p.add_buffer(27648, 0, 0),
        p.add_buffer(18432, 0, 1),
        p.add_buffer(18432, 1, 2),
        p.add_buffer(36864, 2, 3),
        p.add_buffer(9216, 3, 4),
    ]
    plan = p.plan()
    assert [plan.offsets[i] for i in ids] == [0, 27648, 0, 18432, 0]
    assert plan.arena_bytes == plan.lower_bound_bytes == 55296
    _assert_no_live_overlap(p, plan.offsets, 16)


def test_disjoint_lifetimes_share_offset_zero():
    p = MemoryPlanner(alignment_bytes=4)
    ids = [p.add_buffer(10, k, k) for k in range(5)]
    plan = p.plan()
    assert [plan.offsets[i] for i in ids] == [0] * 5
    assert plan.arena_bytes == 12
    assert plan.lower_bound_bytes == 10


@pytest.mark.parametrize("seed", range(20))
def test_random_graphs_never_overlap_and_respect_the_bound(seed):
    rng = np.random.default_rng(seed)
    p = MemoryPlanner(alignment_bytes=16)
    for _ in range(int(rng.integers(1, 40))):
        first = int(rng.integers(0, 30))
        p.add_buffer(int(rng.integers(0, 5000)), first, first + int(rng.integers(0, 6)))
    plan = p.plan()
    _assert_no_live_overlap(p, plan.offsets, 16)
    assert plan.arena_bytes >= plan.lower_bound_bytes
    assert all(
        o + b.size_bytes <= plan.arena_bytes for o, b in zip(plan.offsets, p.buffers, strict=True)
    )


def test_bad_buffers_are_rejected():
    p = MemoryPlanner()
    with pytest.raises(ValueError, match="last_use"):
        p.add_buffer(10, 3, 2)
    with pytest.raises(ValueError, match="size"):
        p.add_buffer(-1, 0, 0)
    with pytest.raises(ValueError, match="power of two"):
        MemoryPlanner(alignment_bytes=12)


def test_empty_plan():
    plan = MemoryPlanner().plan()
    assert plan.arena_bytes == 0 and plan.lower_bound_bytes == 0 and plan.offsets == ()
