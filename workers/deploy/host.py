"""Build a compiled model on the host and check it byte for byte against the TFLite Micro
interpreter.

The generated example program is compiled twice: a release build (what users get) whose
outputs are compared, and a debug build (`-D<PREFIX>DEBUG_TENSORS`) that dumps every
tensor each operator writes, compared with the interpreter's preserved intermediates.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workers.deploy.compiler import CompiledModel, write_files
from workers.deploy.ir import CompileError
from workers.deploy.reader import read_model

HOST_CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-ffp-contract=off")


@dataclass
class TensorMismatch:
    tensor_index: int
    name: str
    opcode: str
    inference: int
    differing_bytes: int
    max_abs_diff: float


@dataclass
class HostReport:
    inferences: int
    outputs_equal: bool
    intermediates_equal: bool
    tensors_compared: int
    mismatches: list[TensorMismatch] = field(default_factory=list)
    max_abs_output_diff: float = 0.0
    arena_bytes: int = 0
    lower_bound_bytes: int = 0
    tflm_arena_bytes: int = 0  # total the TFLM interpreter allocated (head + tail)
    tflm_tensor_arena_bytes: int = 0  # TFLM's head: the planned tensor memory only

    @property
    def bit_exact(self) -> bool:
        return self.outputs_equal and self.intermediates_equal


def build_host(
    compiled: CompiledModel,
    build_dir: Path,
    *,
    debug: bool = False,
    cc: str = "cc",
    extra_cflags: tuple[str, ...] = (),
) -> Path:
    """Compile the generated library plus `examples/main.c` into an executable; return its path."""
    if compiled.out_dir is None or not compiled.out_dir.exists():
        write_files(compiled, build_dir / "src")
    src = compiled.out_dir
    assert src is not None
    exe = build_dir / ("example_debug" if debug else "example")
    cmd = [cc, *HOST_CFLAGS, *extra_cflags, "-I", str(src), "-o", str(exe)]
    if debug:
        cmd.append(f"-D{compiled.prefix.upper()}DEBUG_TENSORS")
    cmd += [str(src / s) for s in compiled.sources] + [str(src / "examples" / "main.c"), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CompileError(f"host C build failed ({' '.join(cmd[:8])} ...):\n{proc.stderr[-4000:]}")
    return exe


def run_host(
    exe: Path,
    input_bytes: bytes,
    *,
    dump_file: Path | None = None,
    prefix: str = "tinyforge_",
    timeout_s: float = 600.0,
) -> bytes:
    env = dict(os.environ)
    if dump_file is not None:
        env[f"{prefix.upper()}DUMP_FILE"] = str(dump_file)
    proc = subprocess.run(
        [str(exe)], input=input_bytes, capture_output=True, env=env, timeout=timeout_s
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{exe.name} exited with {proc.returncode}: "
            f"{proc.stderr.decode(errors='replace')[-2000:]}"
        )
    return proc.stdout


def parse_dump(data: bytes) -> list[tuple[int, bytes]]:
    """Records (tensor index, bytes) in the order the debug build wrote them."""
    records, pos = [], 0
    while pos < len(data):
        index, nbytes = struct.unpack_from("<ii", data, pos)
        pos += 8
        records.append((index, data[pos : pos + nbytes]))
        pos += nbytes
    return records


def _tflm_arena_budget(tflite_bytes: bytes) -> int:
    """Arena to give the interpreter: its default (10x the model) starves tiny models, and an
    undersized arena crashes the process instead of raising."""
    return 10 * len(tflite_bytes) + (1 << 20)


def tflm_arena_bytes(tflite_bytes: bytes, sample_inputs: list[np.ndarray]) -> tuple[int, int]:
    """(total, head) arena bytes the TFLite Micro interpreter allocates for this model.

    The recording allocator prints its numbers on the process's stderr (fd 2), so fd 2 is
    redirected to a temporary file while `print_allocations` runs.
    """
    from tflite_micro.python.tflite_micro import runtime  # heavy import, only when verifying

    interp = runtime.Interpreter.from_bytes(
        bytes(tflite_bytes), arena_size=_tflm_arena_budget(tflite_bytes)
    )
    for j, x in enumerate(sample_inputs):
        interp.set_input(x, j)
    interp.invoke()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            interp.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    total = re.search(r"Arena allocation total (\d+) bytes", text)
    head = re.search(r"Arena allocation head (\d+) bytes", text)
    if not total or not head:
        raise RuntimeError(f"could not read the TFLM arena size from:\n{text[:2000]}")
    return int(total.group(1)), int(head.group(1))


def _tensor_bytes(value) -> bytes:
    """GetTensor returns a dict (dtype, shape, tensor_data) in the pinned tflite-micro build."""
    if isinstance(value, dict):
        value = value["tensor_data"]
    return np.ascontiguousarray(value).tobytes()


def tflm_reference(
    tflite_bytes: bytes, inputs: list[np.ndarray]
) -> tuple[list[bytes], list[dict[int, bytes]]]:
    """Run the TFLM interpreter per inference (`inputs`: one N x shape array per graph input).

    Returns each inference's output bytes and the bytes of every tensor an operator wrote.
    """
    from tflite_micro.python.tflite_micro import runtime

    graph = read_model(tflite_bytes)
    interp = runtime.Interpreter.from_bytes(
        bytes(tflite_bytes),
        arena_size=_tflm_arena_budget(tflite_bytes),
        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors,
    )
    produced = [i for op in graph.operators for i in op.outputs]
    outputs, tensors = [], []
    for k in range(len(inputs[0])):
        for j, arr in enumerate(inputs):
            interp.set_input(arr[k], j)
        interp.invoke()
        outputs.append(
            b"".join(
                np.ascontiguousarray(interp.get_output(j)).tobytes()
                for j in range(len(graph.outputs))
            )
        )
        tensors.append({i: _tensor_bytes(interp.GetTensor(i, 0)) for i in produced})
    return outputs, tensors


def _as_input_list(graph, inputs) -> list[np.ndarray]:
    """Normalise `inputs` (an array, or a list with one array per graph input) to typed N x shape
    arrays."""
    if len(graph.inputs) == 1 and not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    if len(inputs) != len(graph.inputs):
        raise CompileError(f"the model has {len(graph.inputs)} inputs, {len(inputs)} arrays given")
    result = []
    for idx, arr in zip(graph.inputs, inputs, strict=True):
        t = graph.tensor(idx)
        dtype = np.int8 if t.dtype == "int8" else np.float32
        result.append(
            np.ascontiguousarray(np.asarray(arr).astype(dtype, copy=False).reshape((-1, *t.shape)))
        )
    if len({len(a) for a in result}) != 1:
        raise CompileError("every input array must hold the same number of inferences")
    return result


def verify_on_host(
    compiled: CompiledModel,
    tflite_bytes: bytes,
    inputs,
    *,
    work_dir: Path | None = None,
    compare_intermediates: bool = True,
    extra_cflags: tuple[str, ...] = (),
) -> HostReport:
    """Compile on the host, run `inputs`, compare with the TFLM interpreter.

    `inputs`: an N x input-shape array, or for multi-input models a list with one such
    array per graph input (values are cast to the input tensor's dtype). `extra_cflags`
    go to the host compiler (e.g. -DTINYFORGE_EMULATE_DSP runs the DSP code paths).

    Outputs must match byte for byte; with `compare_intermediates` every tensor an operator
    writes is compared too (the debug build dumps them, the interpreter preserves them).
    """
    graph = read_model(tflite_bytes)
    input_list = _as_input_list(graph, inputs)
    n_inferences = len(input_list[0])
    stdin = b"".join(b"".join(a[k].tobytes() for a in input_list) for k in range(n_inferences))
    tmp_ctx = None
    if work_dir is None:
        tmp_ctx = tempfile.TemporaryDirectory(prefix="tinyforge-host-")
        work_dir = Path(tmp_ctx.name)
    wd = Path(work_dir)
    wd.mkdir(parents=True, exist_ok=True)
    try:
        if compiled.out_dir is None:
            write_files(compiled, wd / "src")
        exe = build_host(compiled, wd, extra_cflags=extra_cflags)
        got = run_host(exe, stdin, prefix=compiled.prefix)
        ref_out, ref_tensors = tflm_reference(tflite_bytes, input_list)
        out_bytes = (
            compiled.output.nbytes
            if len(compiled.outputs) == 1
            else sum(o.nbytes for o in compiled.outputs)
        )
        got_out = [got[k * out_bytes : (k + 1) * out_bytes] for k in range(n_inferences)]
        outputs_equal = len(got) == out_bytes * n_inferences and got_out == ref_out
        out_dtype = np.int8 if compiled.output.dtype == "int8" else np.float32
        max_diff = 0.0
        for a, b in zip(got_out, ref_out, strict=False):
            if len(a) == len(b):
                d = np.abs(
                    np.frombuffer(a, out_dtype).astype(np.float64) - np.frombuffer(b, out_dtype)
                )
                max_diff = max(max_diff, float(d.max()) if d.size else 0.0)
        mismatches: list[TensorMismatch] = []
        compared = 0
        if compare_intermediates:
            dbg = build_host(compiled, wd, debug=True, extra_cflags=extra_cflags)
            dump = wd / "dump.bin"
            run_host(dbg, stdin, dump_file=dump, prefix=compiled.prefix)
            records = parse_dump(dump.read_bytes())
            producer = {i: op for op in graph.operators for i in op.outputs}
            n_in = len(graph.inputs)
            per_inference = n_in + len(
                [i for op in graph.operators for i in op.outputs if i not in compiled.not_produced]
            )
            if len(records) != per_inference * n_inferences:
                raise RuntimeError(
                    f"debug dump has {len(records)} records, expected "
                    f"{per_inference * n_inferences}"
                )
            for k in range(n_inferences):
                for index, data in records[k * per_inference + n_in : (k + 1) * per_inference]:
                    ref = ref_tensors[k][index]
                    compared += 1
                    if data != ref:
                        t = graph.tensor(index)
                        dt = (
                            np.int8
                            if t.dtype == "int8"
                            else (np.float32 if t.dtype == "float32" else np.uint8)
                        )
                        ours = np.frombuffer(data, dt).astype(np.float64)
                        theirs = (
                            np.frombuffer(ref, dt).astype(np.float64)
                            if len(ref) == len(data)
                            else ours * np.nan
                        )
                        mismatches.append(
                            TensorMismatch(
                                tensor_index=index,
                                name=t.name,
                                opcode=producer[index].opcode,
                                inference=k,
                                differing_bytes=int(np.count_nonzero(ours != theirs)),
                                max_abs_diff=(
                                    float(np.nanmax(np.abs(ours - theirs))) if ours.size else 0.0
                                ),
                            )
                        )
        total, head = tflm_arena_bytes(tflite_bytes, [a[0] for a in input_list])
        return HostReport(
            inferences=n_inferences,
            outputs_equal=outputs_equal,
            intermediates_equal=not mismatches,
            tensors_compared=compared,
            mismatches=mismatches,
            max_abs_output_diff=max_diff,
            arena_bytes=compiled.arena_bytes,
            lower_bound_bytes=compiled.lower_bound_bytes,
            tflm_arena_bytes=total,
            tflm_tensor_arena_bytes=head,
        )
    finally:
        if tmp_ctx is not None:
            tmp_ctx.cleanup()
