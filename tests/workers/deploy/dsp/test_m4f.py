"""The generated DSP C cross-compiled for a Cortex-M4F and run under QEMU (mps2-an386):
features equal to the host build's bit for bit (both built with -ffp-contract=off), close to
the Python reference, and the executed instructions per window measured between sev markers.

The DSP configuration is presented to the model harness of workers/deploy/mcu as a "model"
whose input is the window's bytes and whose output is the features' bytes (c/mcu/).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from tests.paths import FSDD_DIR, require_shared
from tests.workers.deploy.dsp.hostbuild import c_features
from workers.deploy.dsp import emit_dsp
from workers.deploy.mcu import HarnessLibrary, run_model_harness, toolchain_available
from workers.dsp import TimeSeriesInput, get_block, make_windows

pytestmark = [
    pytest.mark.toolchain,
    pytest.mark.skipif(
        not toolchain_available(),
        reason="needs arm-none-eabi-gcc and qemu-system-arm (run scripts/install-toolchain.sh)",
    ),
]

SHIM_DIR = Path(__file__).parent / "c" / "mcu"


def fsdd(n: int) -> np.ndarray:
    files = sorted(require_shared(FSDD_DIR).glob("*.wav"))[:: 3000 // n][:n]
    spec = TimeSeriesInput(
        axes=None, window_size_ms=1000, window_increase_ms=1000, frequency_hz=8000
    )
    return np.concatenate(
        [
            make_windows(
                wavfile.read(f)[1].astype(np.float32)[:, None], interval_ms=0.125, spec=spec
            )[:1]
            for f in files
        ]
    )


def run_on_m4f(tmp_path: Path, block: str, params: dict, windows: np.ndarray, fs: float):
    emission = emit_dsp(
        block, params, window_samples=windows.shape[1], n_axes=windows.shape[2], frequency_hz=fs
    )
    gen = tmp_path / "gen"
    gen.mkdir()
    for rel, text in emission.files.items():
        (gen / rel).write_text(text)
    library = HarnessLibrary(
        [
            SHIM_DIR / "dsp_as_model.c",
            *(gen / r for r in emission.files if r.endswith(".c")),
            *emission.sources,
        ],
        [SHIM_DIR, gen, *emission.include_dirs],
    )
    result = run_model_harness(
        "cortex-m4f",
        library,
        inputs=[w.astype("<f4").tobytes() for w in windows],
        output_bytes=emission.n_features * 4,
        out_dir=tmp_path / "m4f",
    )
    feats = np.stack([np.frombuffer(o, dtype="<f4") for o in result.outputs])
    return feats, result, emission


@pytest.mark.parametrize(
    "params", [{}, {"win_size": 0, "num_filters": 40, "fft_length": 512, "frame_stride": 0.01}]
)
def test_mfcc_on_m4f_equals_host(tmp_path, params):
    windows = fsdd(3)
    feats, result, emission = run_on_m4f(tmp_path, "mfcc", params, windows, 8000.0)
    host, _ = c_features(tmp_path / "host", "mfcc", params, windows, frequency_hz=8000.0)
    ref = get_block("mfcc").run(windows, frequency_hz=8000, params=params).features
    # newlib's logf/sqrtf may differ from glibc's by an ulp: near-identical, not bit-exact
    np.testing.assert_allclose(feats, host, rtol=0, atol=2e-5)
    np.testing.assert_allclose(feats, ref, rtol=0, atol=1e-4)
    assert len(result.instructions) == len(windows) and min(result.instructions) > 10_000
    print(
        f"\nMFCC {params or 'defaults'} on M4F: instructions/window {result.instructions}, "
        f"flash {result.flash_bytes} B, ram {result.ram_bytes} B, stack {result.stack_used_bytes} "
        f"B, scratch {emission.scratch_bytes} B, tables {emission.table_bytes} B; "
        f"max |M4F - host| {np.abs(feats - host).max():.3g}, "
        f"bit-identical {np.mean(feats == host):.2%}"
    )


@pytest.mark.parametrize(
    "block,params,fs,shape",
    [
        ("mfe", {}, 8000.0, None),
        ("spectral", {}, 100.0, (2, 250, 3)),
        ("spectral", {"analysis_type": "Wavelet", "wavelet_level": 3}, 100.0, (2, 250, 3)),
        ("flatten", {"skewness": True, "kurtosis": True}, 100.0, (2, 250, 3)),
    ],
)
def test_other_blocks_on_m4f(tmp_path, block, params, fs, shape):
    rng = np.random.default_rng(4)
    windows = fsdd(2) if shape is None else rng.normal(0, 3, shape).astype(np.float32)
    feats, result, _ = run_on_m4f(tmp_path, block, params, windows, fs)
    host, _ = c_features(tmp_path / "host", block, params, windows, frequency_hz=fs)
    np.testing.assert_allclose(feats, host, rtol=1e-5, atol=2e-5)
    print(f"\n{block} on M4F: instructions/window {result.instructions}")
