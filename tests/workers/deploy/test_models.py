"""Whole shared models: generated C == the tflite-micro interpreter, byte for byte, every tensor."""

import shutil

import numpy as np
import pytest

from tests.paths import FSDD_DIR, MODELS_DIR, require_shared
from workers.deploy import compile_model, verify_on_host
from workers.deploy.reader import read_model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)"),
]

INT8_MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
FLOAT_MODELS = ["ad01_fp32", "pretrainedResnet"]


def _random_inputs(shape, dtype, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "int8":
        return rng.integers(-128, 128, size=(n, *shape), dtype=np.int8)
    return rng.standard_normal((n, *shape)).astype(np.float32)


def _check_memory(name: str, model: bytes, report) -> None:
    has_residual_add = "ADD" in read_model(model).ops
    assert report.arena_bytes <= report.tflm_arena_bytes, name
    if not has_residual_add:
        assert report.arena_bytes <= 0.75 * report.tflm_arena_bytes, name
    assert report.arena_bytes <= 1.05 * report.lower_bound_bytes, name


@pytest.mark.parametrize("name", INT8_MODELS)
def test_int8_model_bit_exact_on_random_inputs(name, tmp_path):
    model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
    compiled = compile_model(model, model_type="int8", out_dir=tmp_path / "lib")
    x = _random_inputs(compiled.input.shape, "int8", 100, seed=1234)
    report = verify_on_host(compiled, model, x, work_dir=tmp_path / "work")
    assert report.outputs_equal
    assert report.intermediates_equal, report.mismatches[:3]
    assert report.tensors_compared == 100 * len(read_model(model).operators)
    _check_memory(name, model, report)


@pytest.mark.parametrize("name", INT8_MODELS)
@pytest.mark.parametrize(
    ("optimize", "cflags"),
    [(False, ()), (True, ("-DTINYFORGE_EMULATE_DSP",))],
    ids=["reference-kernels", "dsp-path-emulated"],
)
def test_kernel_variants_bit_exact(name, optimize, cflags, tmp_path):
    """The plain reference kernels, and the SMLAD/SXTB16 code paths run on the host with C
    stand-ins for the instructions, give the interpreter's bytes too."""
    model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
    compiled = compile_model(model, out_dir=tmp_path / "lib", optimize=optimize)
    x = _random_inputs(compiled.input.shape, "int8", 30, seed=99)
    report = verify_on_host(compiled, model, x, work_dir=tmp_path / "work", extra_cflags=cflags)
    assert report.bit_exact, report.mismatches[:3]


@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_float_model_matches_interpreter(name, tmp_path):
    model = require_shared(MODELS_DIR / f"{name}.tflite").read_bytes()
    compiled = compile_model(model, model_type="float32", out_dir=tmp_path / "lib")
    x = _random_inputs(compiled.input.shape, "float32", 20, seed=7)
    report = verify_on_host(compiled, model, x, work_dir=tmp_path / "work")
    assert report.outputs_equal and report.intermediates_equal, report.mismatches[:3]
    _check_memory(name, model, report)


def fsdd_mfcc_inputs(*, n: int, scale: float, zero_point: int) -> np.ndarray:
    """49 x 10 MFCCs of 1 s of FSDD audio (8 kHz), quantized with the model's input scale."""
    import scipy.io.wavfile
    from python_speech_features import mfcc

    files = sorted(require_shared(FSDD_DIR).glob("*.wav"))[:: max(1, 3000 // n)][:n]
    out = []
    for f in files:
        rate, sig = scipy.io.wavfile.read(f)
        sig = sig.astype(np.float32)
        sig = np.pad(sig, (0, max(0, rate - len(sig))))[:rate]
        feats = mfcc(
            sig,
            samplerate=rate,
            winlen=0.04,
            winstep=0.02,
            numcep=10,
            nfilt=40,
            nfft=512,
            winfunc=np.hanning,
        )[:49]
        q = np.clip(np.round(feats / scale) + zero_point, -128, 127).astype(np.int8)
        out.append(q.reshape(1, 49, 10, 1))
    return np.stack(out)


def test_kws_bit_exact_on_fsdd_mfccs(tmp_path):
    model = require_shared(MODELS_DIR / "kws_ref_model.tflite").read_bytes()
    compiled = compile_model(model, model_type="int8", out_dir=tmp_path / "lib")
    x = fsdd_mfcc_inputs(n=100, scale=compiled.input.scale, zero_point=compiled.input.zero_point)
    assert x.shape == (100, 1, 49, 10, 1)
    assert len(np.unique(x)) > 50  # real features, not saturated
    report = verify_on_host(compiled, model, x, work_dir=tmp_path / "work")
    assert report.bit_exact, report.mismatches[:3]
