"""tinyforge_dsp_rfft against numpy's float64 FFT for every supported length, with the error of
scipy's own float32 FFT (what the Python reference uses) as the yardstick."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import scipy.fft

from tests.workers.deploy.dsp.hostbuild import CFLAGS, host_cc
from workers.deploy.dsp import RUNTIME_DIR
from workers.deploy.dsp.emit import rfft_tables

PROBE = Path(__file__).resolve().parent / "c" / "fft_probe.c"
LENGTHS = [2**k for k in range(4, 13)]


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    exe = tmp_path_factory.mktemp("fft") / "fft_probe"
    cmd = [
        host_cc(),
        *CFLAGS,
        f"-I{RUNTIME_DIR}",
        str(PROBE),
        str(RUNTIME_DIR / "tinyforge_dsp_fft.c"),
        "-lm",
        "-o",
        str(exe),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


def run_fft(exe, n: int, signals: np.ndarray) -> np.ndarray:
    tw, rev = rfft_tables(n)
    data = (
        np.uint32(n).tobytes()
        + tw.astype("<f4").tobytes()
        + rev.astype("<u2").tobytes()
        + signals.astype("<f4").tobytes()
    )
    proc = subprocess.run([str(exe)], input=data, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = np.frombuffer(proc.stdout, dtype="<f4").reshape(len(signals), n + 2)
    return out[:, 0::2] + 1j * out[:, 1::2]


def test_tables():
    tw, rev = rfft_tables(16)
    assert tw.dtype == np.float32 and tw.shape == (16,)
    assert tw[0] == 1 and tw[1] == 0 and tw[8] == np.float32(np.cos(np.pi / 2))
    assert rev.tolist() == [0, 4, 2, 6, 1, 5, 3, 7]
    for bad in (0, 2, 24, 3000):
        with pytest.raises(ValueError, match="power of two"):
            rfft_tables(bad)


@pytest.mark.parametrize("n", LENGTHS)
def test_rfft_matches_float64_reference(probe, n):
    rng = np.random.default_rng(n)
    signals = rng.normal(0, 1000, (4, n)).astype(np.float32)
    signals[0] = 0
    signals[1] = np.cos(2 * np.pi * 3 * np.arange(n) / n).astype(np.float32)  # one bin, exactly
    got = run_fft(probe, n, signals)
    ref = np.fft.rfft(signals.astype(np.float64), axis=-1)
    scipy32 = scipy.fft.rfft(signals, axis=-1)
    assert np.all(got[0] == 0)
    assert np.all(got[:, 0].imag == 0) and np.all(got[:, -1].imag == 0)
    norm = np.abs(ref).max(axis=-1, keepdims=True) + 1e-30
    err = (np.abs(got - ref) / norm).max()
    err_scipy = (np.abs(scipy32 - ref) / norm).max()
    # radix-2 float32 error grows like log2(n) * eps; scipy's float32 pocketfft is the yardstick
    assert err < 2e-6 * np.log2(n), (n, err, err_scipy)
    assert err < 3 * max(err_scipy, 1e-7), (n, err, err_scipy)  # measured: 1.0-1.6x
    peak = np.abs(got[1]).argmax()
    assert peak == 3 and abs(got[1, 3] - n / 2) < 1e-3 * n
