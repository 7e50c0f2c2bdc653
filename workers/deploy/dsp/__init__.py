"""The impulse's processing blocks in C, for the deployment builder (docs/dsp-c.md).

    emit_dsp(block_name, params, *, window_samples, n_axes, frequency_hz, prefix="tinyforge_")
        -> DspEmission(files, sources, include_dirs, n_features, input_floats, scratch_bytes, ...)

The hand-written runtime (real FFT, framing, filterbank, DCT, CMVN, statistics, Welch,
Butterworth, image scaling) lives in `runtime/` as .c/.h files; `emit_dsp` generates the
constant tables and the `<prefix>dsp_run(window, features)` entry point for one
configuration; `emit_dsp_chain` does it for several blocks on one window, their features side by
side. Anything the C side cannot do raises DspBuildError naming block and parameter.
"""

from workers.deploy.dsp.emit import (
    DSP_C_VERSION,
    RUNTIME_DIR,
    RUNTIME_HEADER,
    RUNTIME_SOURCES,
    DspBuildError,
    DspEmission,
    emit_dsp,
    emit_dsp_chain,
    runtime_files,
)

__all__ = [
    "DSP_C_VERSION",
    "RUNTIME_DIR",
    "RUNTIME_HEADER",
    "RUNTIME_SOURCES",
    "DspBuildError",
    "DspEmission",
    "emit_dsp",
    "emit_dsp_chain",
    "runtime_files",
]
