"""The verification verdict and the manifest record: pure functions of the verification report."""

from __future__ import annotations

import copy

import pytest

from workers.deploy.package.verify import record_in_manifest, verdict

HOST_OK = {
    "inferences": 100,
    "bit_exact": True,
    "outputs_equal": True,
    "intermediates_equal": True,
    "tensors_compared": 1200,
    "mismatches": 0,
    "tflm_arena_bytes": 24272,
}
TARGET_OK = {
    "machine": "mps2-an386",
    "inferences": 20,
    "bit_exact": True,
    "instructions": 7_580_000,
    "flash_bytes": 90_000,
    "ram_bytes": 21_000,
    "data_bss_bytes": 20_000,
    "stack_used_bytes": 1000,
}
IMPULSE_OK = {"windows": 40, "same_class": 1.0, "max_score_diff": 0.004, "output_step": 0.0039}
GOOD = {"host": HOST_OK, "target": TARGET_OK, "impulse": IMPULSE_OK, "bit_exact": True}


def _with(**changes) -> dict:
    """GOOD with `part={key: value}` merged into its parts, or top-level keys replaced."""
    report = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if isinstance(value, dict):
            report[key] = {**report[key], **value}
        else:
            report[key] = value
    return report


@pytest.mark.parametrize(
    "report",
    [
        GOOD,
        {"host": HOST_OK, "bit_exact": True},  # a model without an impulse, on a Linux target
        {"host": HOST_OK, "target": {"skipped": "toolchain not installed"}, "bit_exact": True},
        _with(impulse={"anomaly_max_rel_diff": 0.004, "anomaly_agrees": True}),
    ],
)
def test_a_good_report_passes(report):
    assert verdict(report) == []


def test_outputs_that_differ_on_the_host_fail_and_say_how():
    report = _with(
        host={"bit_exact": False, "intermediates_equal": False, "mismatches": 3}, bit_exact=False
    )
    assert verdict(report) == [
        "the library's outputs differ from the TFLite Micro interpreter "
        "(on the host: outputs equal, 3 intermediate tensor mismatches)"
    ]


def test_outputs_that_differ_on_the_target_fail():
    report = _with(target={"bit_exact": False}, bit_exact=False)
    assert verdict(report) == [
        "the library's outputs differ from the TFLite Micro interpreter "
        "(under QEMU (mps2-an386): outputs differ)"
    ]


def test_an_impulse_that_classifies_a_window_differently_fails():
    assert verdict(_with(impulse={"same_class": 0.975})) == [
        "the C impulse classifies 2.5% of the test windows differently from the platform"
    ]


def test_anomaly_scores_that_disagree_fail():
    report = _with(impulse={"anomaly_max_rel_diff": 0.031, "anomaly_agrees": False})
    assert verdict(report) == [
        "the C anomaly scores differ from the platform's (largest relative difference 3.10%)"
    ]


def test_every_failure_is_reported():
    report = _with(
        host={"bit_exact": False, "outputs_equal": False, "mismatches": 1},
        bit_exact=False,
        impulse={"same_class": 0.5, "anomaly_max_rel_diff": 0.2, "anomaly_agrees": False},
    )
    reasons = verdict(report)
    assert len(reasons) == 3
    assert reasons[0].endswith("(on the host: outputs differ, 1 intermediate tensor mismatches)")


def test_record_in_manifest_copies_the_report_and_the_targets_measurements():
    manifest = {"bit_exact": None, "instructions": None, "flash_bytes": None, "ram_bytes": None}
    record_in_manifest(manifest, GOOD)
    assert manifest == {
        "bit_exact": True,
        "verification": GOOD,
        "instructions": 7_580_000,
        "flash_bytes": 90_000,
        "ram_bytes": 21_000,
    }
    host_only = {"bit_exact": None, "instructions": None, "flash_bytes": None, "ram_bytes": None}
    record_in_manifest(
        host_only, {"host": HOST_OK, "target": {"skipped": "no toolchain"}, "bit_exact": True}
    )
    assert host_only["instructions"] is None and host_only["bit_exact"] is True
