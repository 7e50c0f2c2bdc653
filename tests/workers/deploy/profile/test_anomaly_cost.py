"""The anomaly scorer's cost (workers/deploy/profile/anomaly.py): operation counts read off
`anomaly_score` in package/runtime/tinyforge_classifier.c, cycles from the per-core float
operation table and the cycle model, RAM and flash, and its place in a board's total."""

import pytest

from app.services.profiles import shape_board
from workers.deploy.mcu import toolchain_available
from workers.deploy.profile.anomaly import (
    FLOAT_OP_CYCLES,
    anomaly_cost,
    anomaly_counts,
    measure_float_ops,
)

KMEANS_3x2 = {"kind": "kmeans", "mean": [0.0] * 3, "radii": [1.0, 2.0]}
GMM_2x3 = {"kind": "gmm", "mean": [0.0] * 2, "weights": [0.2, 0.3, 0.5]}


def test_kmeans_counts_and_cost_on_the_m4():
    # z: 3 x (loads index, x, mean, scale + store z; sub; div); per cluster (2): 3 x (loads z, c;
    # sub; mac) + load radius, sqrt, div, compare
    n = anomaly_counts("kmeans", 3, 2)
    assert n == dict(
        add=3 + 2 * 4, mul=0, mac=6, div=3 + 2, sqrt=2, exp=0, log=0, mem=15 + 14, loop=3 + 2 * 4
    )
    cost = anomaly_cost(KMEANS_3x2, "cortex-m4f")
    # M4F: add 1, mac 2, div 15, sqrt 17; load 2; loop alu 1 + b_cond 1 + refill 2 = 4
    assert cost["cycles"] == 11 * 1 + 6 * 2 + 5 * 15 + 2 * 17 + 29 * 2 + 11 * 4 == 234
    assert cost["ram_bytes"] == 3 * 4 + 32  # z[3] + frame
    assert cost["flash_bytes"] == 3 * 2 + 3 * 4 + 3 * 4 + 6 * 4 + 2 * 4 == 62


def test_gmm_diag_and_full_on_the_m0plus_soft_float():
    diag = anomaly_cost({**GMM_2x3, "covariance_type": "diag"}, "cortex-m0plus")
    # add 18 x 98, mac 15 x 236, div 2 x 452, exp 3 x 3362, log 3061, mem 40 x 2, loop 17 x 3
    assert diag["counts"]["exp"] == 3 and diag["counts"]["log"] == 1
    assert diag["cycles"] == 18 * 98 + 15 * 236 + 2 * 452 + 3 * 3362 + 3061 + 40 * 2 + 17 * 3
    assert diag["cycles"] == 19486
    assert diag["ram_bytes"] == 2 * 4 + 3 * 4 + 32  # z[2], lp[3], frame
    assert diag["flash_bytes"] == 2 * 2 + 8 + 8 + 24 + 12 + 24 == 80
    full = anomaly_cost(
        {**GMM_2x3, "covariance_type": "full"}, "cortex-m0plus", flash_wait_states=2
    )
    # the triangle (3 entries per component), 2 wait states per loop iteration (26 of them)
    assert full["counts"] == dict(
        add=21, mul=0, mac=18, div=2, sqrt=0, exp=3, log=1, mem=49, loop=26
    )
    assert full["cycles"] == 21 * 98 + 18 * 236 + 2 * 452 + 3 * 3362 + 3061 + 49 * 2 + 26 * 5
    assert full["flash_bytes"] == 20 + 24 + 12 + 3 * 3 * 4 == 92


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="kmeans, gmm"):
        anomaly_cost({"kind": "isolation-forest", "mean": [0.0]}, "cortex-m4f")


def _entry(target="cortex-m4f"):
    return {
        "board": "B",
        "target": target,
        "mcu": "M",
        "clock_hz": 64_000_000,
        "cycles": 10_000,
        "instructions": 9_000,
        "ram_bytes": 1_040,
        "flash_bytes": 5_000,
        "notes": [],
        "ram": {"arena": 1_000, "scratch": 0, "stack": 40, "other": 0},
        "flash": {"code": 3_000, "weights": 2_000},
        "flash_wait_states": 0,
        "board_ram_bytes": 1_100,
        "board_flash_bytes": 1 << 20,
        "method": "estimated",
    }


def test_the_anomaly_part_is_in_the_board_total():
    plain = shape_board(_entry())
    assert plain["anomaly"]["cycles"] is None and plain["total"]["cycles"] == 10_000
    b = shape_board(_entry(), anomaly=KMEANS_3x2)
    assert b["anomaly"] == {
        "cycles": 234,
        "latency_ms": round(234 / 64e6 * 1000, 4),
        "ram_bytes": 44,
        "flash_bytes": 62,
    }
    assert b["total"]["cycles"] == 10_000 + 234
    assert b["ram"]["stack"] == 44  # the deeper of the model's (40) and the scorer's stacks
    assert b["total"]["ram_bytes"] == 1_000 + 44 == sum(b["ram"].values())
    assert b["flash"]["anomaly_tables"] == 62
    assert b["total"]["flash_bytes"] == 5_000 + 62
    assert any("anomaly: computed" in n for n in b["notes"])


def test_a_board_the_anomaly_tables_overflow_does_not_fit():
    big = {"kind": "kmeans", "mean": [0.0] * 3, "radii": [1.0] * 2}
    e = _entry()
    e["board_flash_bytes"] = 5_000 + 61
    assert shape_board(e)["fits"] is True
    assert shape_board(e, anomaly=big)["fits"] is False


@pytest.mark.skipif(not toolchain_available(), reason="needs arm-none-eabi-gcc and QEMU")
@pytest.mark.parametrize("target", sorted(FLOAT_OP_CYCLES))
def test_the_float_operation_table_is_what_qemu_measures(target):
    assert measure_float_ops(target) == FLOAT_OP_CYCLES[target]
