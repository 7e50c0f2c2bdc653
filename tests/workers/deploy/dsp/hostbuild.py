"""Compile a generated DSP configuration with the host C compiler and run it on windows."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from workers.deploy.dsp import DspEmission, emit_dsp

DRIVER = Path(__file__).resolve().parent / "c" / "dsp_stdin_main.c"
CFLAGS = (
    "-std=c99",
    "-pedantic",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wdouble-promotion",
    "-O2",
    "-ffp-contract=off",
)


def host_cc() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no host C compiler (cc) found")
    return cc


_RUNTIME_OBJECTS: dict[tuple, list[Path]] = {}


def _compile(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"host build failed:\n{' '.join(cmd)}\n{proc.stderr}"


def runtime_objects(emission: DspEmission, extra_flags: tuple[str, ...] = ()) -> list[Path]:
    """The runtime compiled once per test session and flag set (keyed by the sources' text)."""
    digest = hashlib.sha256(
        "".join(
            p.read_text() for p in (*emission.sources, *emission.include_dirs[0].glob("*.h"))
        ).encode()
    ).hexdigest()[:16]
    key = (digest, extra_flags)
    if key not in _RUNTIME_OBJECTS:
        out_dir = Path(tempfile.mkdtemp(prefix="tinyforge_dsp_runtime_"))
        objects = []
        for src in emission.sources:
            obj = out_dir / (src.stem + ".o")
            _compile(
                [
                    host_cc(),
                    *CFLAGS,
                    *extra_flags,
                    *(f"-I{d}" for d in emission.include_dirs),
                    "-c",
                    str(src),
                    "-o",
                    str(obj),
                ]
            )
            objects.append(obj)
        _RUNTIME_OBJECTS[key] = objects
    return _RUNTIME_OBJECTS[key]


def build_host(emission: DspEmission, out_dir: Path, extra_flags: tuple[str, ...] = ()) -> Path:
    """Write the generated files into `out_dir` and compile them with the runtime and driver."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for rel, text in emission.files.items():
        (out_dir / rel).write_text(text)
    exe = out_dir / "dsp_host"
    _compile(
        [
            host_cc(),
            *CFLAGS,
            *extra_flags,
            *(f"-I{d}" for d in emission.include_dirs),
            f"-I{out_dir}",
            str(DRIVER),
            *(str(out_dir / rel) for rel in emission.files if rel.endswith(".c")),
            *(str(o) for o in runtime_objects(emission, extra_flags)),
            "-lm",
            "-o",
            str(exe),
        ]
    )
    return exe


def run_host(exe: Path, windows: np.ndarray, n_features: int) -> np.ndarray:
    data = np.ascontiguousarray(windows, dtype="<f4").tobytes()
    proc = subprocess.run([str(exe)], input=data, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    out = np.frombuffer(proc.stdout, dtype="<f4")
    return out.reshape(len(windows), n_features)


def c_features(
    tmp_root: Path,
    block: str,
    params: dict,
    windows: np.ndarray,
    *,
    frequency_hz: float,
    prefix: str = "tinyforge_",
) -> tuple[np.ndarray, DspEmission]:
    """Emit, compile (cached by configuration) and run the C block on `windows` [n, samples,
    axes]."""
    emission = emit_dsp(
        block,
        params,
        window_samples=windows.shape[1],
        n_axes=windows.shape[2],
        frequency_hz=frequency_hz,
        prefix=prefix,
    )
    runtime_text = "".join(
        p.read_text() for p in (*emission.sources, *emission.include_dirs[0].glob("*.h"))
    )
    key = hashlib.sha256(("".join(emission.files.values()) + runtime_text).encode()).hexdigest()[
        :16
    ]
    out_dir = tmp_root / f"{block}_{key}"
    exe = out_dir / "dsp_host"
    if not exe.exists():
        build_host(emission, out_dir)
    return run_host(exe, windows, emission.n_features), emission
