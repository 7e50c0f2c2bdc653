"""The hand-written C runtime compiled as it is, against independent Python references."""

import math
import shutil
import subprocess

import numpy as np
import pytest

from workers.deploy.compiler import RUNTIME_DIR, RUNTIME_FILES
from workers.deploy.quant import quantize_multiplier

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")
PROBE = __import__("pathlib").Path(__file__).parent / "c" / "fixedpoint_probe.c"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2"]
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _trunc_div(n: int, d: int) -> int:
    q = abs(n) // abs(d)
    return q if (n >= 0) == (d > 0) else -q


def ref_srdhm(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return _trunc_div(ab + nudge, 1 << 31)


def ref_rdbypot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def ref_mbqm(x: int, m: int, shift: int) -> int:
    left, right = max(shift, 0), max(-shift, 0)
    return ref_rdbypot(ref_srdhm(x * (1 << left), m), right)


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    exe = tmp_path_factory.mktemp("probe") / "probe"
    subprocess.run(["cc", *CFLAGS, "-I", str(RUNTIME_DIR), "-o", str(exe), str(PROBE)], check=True)

    def run(lines: list[tuple]) -> list[int]:
        text = "".join(f"{n} {a} {b} {c}\n" for n, a, b, c in lines)
        out = subprocess.run(
            [str(exe)], input=text, capture_output=True, text=True, check=True
        ).stdout
        return [int(v) for v in out.split()]

    return run


@pytest.mark.parametrize("name", [n for n in RUNTIME_FILES if n.endswith(".c")])
def test_runtime_files_compile_warning_free(tmp_path, name):
    subprocess.run(
        [
            "cc",
            *CFLAGS,
            "-pedantic",
            "-c",
            "-I",
            str(RUNTIME_DIR),
            "-o",
            str(tmp_path / "k.o"),
            str(RUNTIME_DIR / name),
        ],
        check=True,
    )


def test_integer_primitives_match_reference(probe):
    rng = np.random.default_rng(0)
    cases = [
        (INT32_MIN, INT32_MIN),
        (INT32_MAX, INT32_MAX),
        (INT32_MIN, INT32_MAX),
        (0, 5),
        (-1, 1 << 30),
    ]
    cases += [tuple(int(v) for v in rng.integers(INT32_MIN, INT32_MAX, 2)) for _ in range(300)]
    assert probe([("srdhm", a, b, 0) for a, b in cases]) == [ref_srdhm(a, b) for a, b in cases]
    pot = [
        (int(x), int(e))
        for x, e in zip(
            rng.integers(INT32_MIN, INT32_MAX, 300), rng.integers(0, 32, 300), strict=True
        )
    ]
    pot += [(-3, 1), (3, 1), (-5, 1), (5, 1), (-6, 2), (6, 2), (-2, 2), (2, 2)]  # ties round away
    assert probe([("rdbypot", x, e, 0) for x, e in pot]) == [ref_rdbypot(x, e) for x, e in pot]


def test_multiply_by_quantized_multiplier_matches_reference(probe):
    rng = np.random.default_rng(1)
    cases = []
    for _ in range(400):
        real = float(np.exp(rng.uniform(np.log(1e-6), np.log(4.0))))
        m, s = quantize_multiplier(real)
        x = int(rng.integers(-(2**20), 2**20))
        cases.append((x, m, s))
    got = probe([("mbqm", x, m, s) for x, m, s in cases])
    assert got == [ref_mbqm(x, m, s) for x, m, s in cases]
    for (x, m, s), g in zip(cases, got, strict=True):  # and it really is x * real, rounded
        assert abs(g - x * m * 2.0 ** (s - 31)) <= 1.0


def test_fast_multiply_equals_reference_for_nonnegative_multipliers(probe):
    rng = np.random.default_rng(2)
    cases = [
        (int(x), int(m), int(s))
        for x, m, s in zip(
            rng.integers(INT32_MIN // 4, INT32_MAX // 4, 3000),
            rng.integers(0, INT32_MAX, 3000),
            rng.integers(-31, 2, 3000),
            strict=True,
        )
    ]
    cases += [(x, 1 << 30, s) for x in (-3, -2, -1, 0, 1, 2, 3) for s in (-1, -2, 0)]  # ties
    cases += [(-(2**31), INT32_MAX, 0), (INT32_MAX, INT32_MAX, 0), (-(2**31), 0, -5)]
    assert probe([("mbqm_fast", x, m, s) for x, m, s in cases]) == [
        ref_mbqm(x, m, s) for x, m, s in cases
    ]


def test_fixed_point_transcendentals_are_accurate(probe):
    xs = np.linspace(-31.9, 0, 200)
    raw = [int(round(x * 2**26)) for x in xs]  # 5 integer bits
    got = probe([("exp", r, 5, 0) for r in raw])
    assert np.allclose(np.array(got) / 2**31, np.exp(xs), atol=2e-6)
    xs = np.linspace(-7.9, 7.9, 200)
    raw = [int(round(x * 2**27)) for x in xs]  # 4 integer bits
    got = probe([("logistic", r, 4, 0) for r in raw])
    assert np.allclose(np.array(got) / 2**31, 1 / (1 + np.exp(-xs)), atol=2e-6)
    got = probe([("tanh", r, 4, 0) for r in raw])
    assert np.allclose(np.array(got) / 2**31, np.tanh(xs), atol=4e-6)
    assert probe([("logistic", 0, 4, 0), ("tanh", 0, 4, 0), ("exp", 0, 5, 0)]) == [
        1 << 30,
        0,
        INT32_MAX,
    ]
    xs = np.linspace(0.001, 0.999, 100)
    got = probe([("recip", int(round(x * 2**31)), 0, 0) for x in xs])
    assert np.allclose(np.array(got) / 2**31, 1 / (1 + xs), atol=2e-6)


def test_quantize_multiplier_edge_cases():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    m, s = quantize_multiplier(1 - 2**-40)  # rounds up to 2^31: renormalised
    assert (m, s) == (1 << 30, 1)
    assert quantize_multiplier(2.0**-40) == (0, 0)  # flushed like TFLite
    m, s = quantize_multiplier(0.3)
    assert math.isclose(m * 2.0 ** (s - 31), 0.3, rel_tol=1e-9)
