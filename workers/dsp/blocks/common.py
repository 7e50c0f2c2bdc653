"""Parameter declarations and checks shared by the frame-based audio blocks."""

from __future__ import annotations

from ..params import DspError, Param, ParamError
from ..primitives import frame_count, seconds_to_samples

FFT_LENGTHS = tuple(2**k for k in range(4, 13))  # 16 .. 4096


def frame_length(default: float) -> Param:
    return Param(
        "frame_length",
        "float",
        default,
        0.001,
        10.0,
        help="Length of each frame in seconds (rectangular window).",
        label="Frame length (s)",
    )


def frame_stride(default: float) -> Param:
    return Param(
        "frame_stride",
        "float",
        default,
        0.001,
        10.0,
        help="Step between the starts of consecutive frames, in seconds.",
        label="Frame stride (s)",
    )


def fft_length(default: int) -> Param:
    return Param(
        "fft_length",
        "int",
        default,
        16,
        4096,
        help="FFT points, a power of two; frames are zero-padded or truncated to it.",
        label="FFT length",
    )


def num_filters(default: int) -> Param:
    return Param(
        "num_filters",
        "int",
        default,
        2,
        256,
        help="Number of triangular mel filters.",
        label="Filter number",
    )


LOW_FREQUENCY = Param(
    "low_frequency",
    "float",
    0.0,
    0.0,
    1_000_000.0,
    help="Lowest band edge of the mel filterbank (Hz).",
    label="Low frequency (Hz)",
)
HIGH_FREQUENCY = Param(
    "high_frequency",
    "float",
    0.0,
    0.0,
    1_000_000.0,
    help="Highest band edge of the mel filterbank (Hz); 0 means the Nyquist frequency.",
    label="High frequency (Hz)",
)
PRE_COF = Param(
    "pre_cof",
    "float",
    0.98,
    0.0,
    1.0,
    help="Pre-emphasis coefficient c: y[n] = x[n] - c*x[n-1]; 0 disables it.",
    label="Pre-emphasis coefficient",
)
NOISE_FLOOR_DB = Param(
    "noise_floor_db",
    "float",
    -52.0,
    -200.0,
    0.0,
    help="Power below this many dB (re full scale) maps to 0; floor + 12 dB and above maps to 1.",
    label="Noise floor (dB)",
)
INPUT_FULL_SCALE = Param(
    "input_full_scale",
    "float",
    32768.0,
    1e-9,
    1e12,
    help=(
        "Values are divided by this first: 32768 for int16 PCM audio, 1 for data already in "
        "[-1, 1]."
    ),
    label="Input full scale",
)


def check_fft_length(params: dict) -> None:
    if params["fft_length"] not in FFT_LENGTHS:
        raise ParamError(
            "fft_length", f"got {params['fft_length']}; must be a power of two between 16 and 4096"
        )


def frame_geometry(
    params: dict, *, window_samples: int, frequency_hz: float
) -> tuple[int, int, int]:
    """(frame_samples, stride_samples, frames) or ParamError when no whole frame fits."""
    frame = seconds_to_samples(params["frame_length"], frequency_hz=frequency_hz)
    stride = seconds_to_samples(params["frame_stride"], frequency_hz=frequency_hz)
    if frame < 1:
        raise ParamError(
            "frame_length",
            f"{params['frame_length']} s is less than one sample at {frequency_hz:g} Hz",
        )
    if stride < 1:
        raise ParamError(
            "frame_stride",
            f"{params['frame_stride']} s is less than one sample at {frequency_hz:g} Hz",
        )
    frames = frame_count(window_samples, frame_samples=frame, stride_samples=stride)
    if frames < 1:
        raise ParamError(
            "frame_length",
            f"a frame of {frame} samples ({params['frame_length']} s) does not fit in a window of "
            f"{window_samples} samples; must be at most {window_samples / frequency_hz:g} s",
        )
    return frame, stride, frames


def frame_times_s(params: dict, *, n_frames: int, frequency_hz: float) -> list[float]:
    """Start time (s) of each frame within the window: the heatmaps' time axis."""
    stride = seconds_to_samples(params["frame_stride"], frequency_hz=frequency_hz)
    return [round(i * stride / frequency_hz, 6) for i in range(n_frames)]


def band_edges(params: dict, *, frequency_hz: float) -> tuple[float, float]:
    nyquist = frequency_hz / 2.0
    high = params["high_frequency"] or nyquist
    low = params["low_frequency"]
    if high > nyquist:
        raise ParamError(
            "high_frequency",
            f"got {high:g} Hz; must be at most the Nyquist frequency {nyquist:g} Hz (0 = Nyquist)",
        )
    if low >= high:
        raise ParamError(
            "low_frequency", f"got {low:g} Hz; must be below the high frequency {high:g} Hz"
        )
    return float(low), float(high)


def check_window_fits(windows_samples: int, frame_samples: int) -> None:
    if windows_samples < frame_samples:
        raise DspError(
            f"signal too short: {windows_samples} samples, one frame needs {frame_samples}"
        )
