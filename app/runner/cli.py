"""`tinyforge run-impulse`: a deployed impulse classifies a recording or a serial device, live."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import click

from app.forwarder.port import BAUD_RATES


def _format(
    source: str, start_s: float, end_s: float, result: dict[str, Any], labels: list[str]
) -> str:
    scores = result["classification"]
    best = max(labels, key=lambda lab: scores[lab])
    text = "  ".join(f"{lab} {scores[lab]:.3f}" for lab in labels)
    anomaly = f"  anomaly {result['anomaly']:.3f}" if result.get("anomaly") is not None else ""
    span = f"{start_s:7.2f}-{end_s:.2f} s  " if end_s > start_s else ""
    return f"{source}  {span}{text}{anomaly}  -> {best}"


def _record(
    source: str, start_s: float, end_s: float, result: dict[str, Any], labels: list[str]
) -> str:
    scores = result["classification"]
    out = {
        "source": source,
        "start_s": round(start_s, 6),
        "end_s": round(end_s, 6),
        "label": max(labels, key=lambda lab: scores[lab]),
        "classification": scores,
    }
    if result.get("anomaly") is not None:
        out["anomaly"] = result["anomaly"]
    return json.dumps(out)


@click.command("run-impulse")
@click.argument("library", type=click.Path(path_type=Path))
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=(
        "a recording to classify: .wav, .csv, .json or .cbor (.jpg/.png for image impulses); "
        "repeatable"
    ),
)
@click.option(
    "--port", "port_path", default=None, help="classify a serial device live, e.g. /dev/ttyACM0"
)
@click.option(
    "--baud",
    default="auto",
    show_default=True,
    help=f"the device's baud rate, or auto (tries {', '.join(map(str, BAUD_RATES))})",
)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=None,
    help="with --port: stop after this many classifications (default: until Ctrl-C)",
)
@click.option(
    "--detect-seconds",
    type=float,
    default=1.5,
    show_default=True,
    help="with --port: how long to listen per baud rate",
)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per classification")
def run_impulse(
    library: Path,
    files: tuple[Path, ...],
    port_path: str | None,
    baud: str,
    count: int | None,
    detect_seconds: float,
    as_json: bool,
) -> None:
    """Run a deployed impulse (LIBRARY: a linux-x86_64 / linux-aarch64 library folder, its zip, or
    its model.eim) on recordings (--file) or on a serial device (--port), printing each
    classification.

    The library's Linux runner (model.eim) does the work through Edge Impulse's runner protocol: the
    classes are the library's. A library without a runner for this machine gets one compiled from
    its sources in a scratch folder.
    """
    from app.runner.inputs import Impulse, InputError
    from app.runner.library import RunnerNotFound, find_runner
    from workers.deploy.package.eim import EimError, EimRunner

    if bool(files) == bool(port_path):
        raise click.UsageError(
            "give recordings with --file or a device with --port (one of the two)"
        )
    if count is not None and not port_path:
        raise click.UsageError("--count goes with --port")
    echo = lambda m: click.echo(m, err=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="tinyforge-run-") as scratch:
        try:
            runner = find_runner(library, Path(scratch))
        except RunnerNotFound as exc:
            raise click.ClickException(str(exc)) from exc
        if runner.note:
            echo(runner.note)
        try:
            with EimRunner(runner.eim, launcher=runner.launcher) as eim:
                impulse = Impulse.from_runner(eim.hello["model_parameters"], runner.manifest)
                echo(f"impulse: {impulse.describe()}")
                emit = _record if as_json else _format
                if files:
                    _run_files(eim, impulse, files, emit, echo)
                else:
                    assert port_path is not None
                    _run_serial(eim, impulse, port_path, baud, count, detect_seconds, emit, echo)
        except (EimError, InputError) as exc:
            raise click.ClickException(str(exc)) from exc


def _run_files(eim, impulse, files, emit, echo) -> None:
    from app.runner.inputs import file_windows

    for path in files:
        windows = file_windows(path, impulse, note=echo)
        for w in windows:
            click.echo(emit(path.name, w.start_s, w.end_s, eim.classify(w.values), impulse.labels))


def _run_serial(eim, impulse, port_path, baud, count, detect_seconds, emit, echo) -> None:
    from app.forwarder.lines import ForwarderError
    from app.forwarder.port import Serial, find_baud
    from app.runner.inputs import InputError, serial_slices

    if impulse.image:
        raise InputError(
            "the impulse classifies images: a serial device prints numbers, give image "
            "files with --file"
        )
    rates = BAUD_RATES if baud == "auto" else (_baud(baud),)
    port = Serial(port_path, rates[0])
    try:
        port.open()
        echo(f"listening to {port_path} ...")
        found = find_baud(port, rates, seconds=detect_seconds, echo=echo)
        if found.axes != impulse.axes:
            names = f" ({', '.join(impulse.axis_names)})" if impulse.axis_names else ""
            raise InputError(
                f"the device sends {found.axes} values per line but the impulse takes "
                f"{impulse.axes} axes{names}"
            )
        if not math.isclose(found.frequency_hz, impulse.frequency_hz, rel_tol=0.08):
            raise InputError(
                f"the device sends about {found.frequency_hz:g} readings per second but the "
                f"impulse was trained at {impulse.frequency_hz:g} Hz: set the device to that rate"
            )
        echo(
            f"{port_path}: {found.axes} axes at {found.frequency_hz:g} Hz, {port.baud} baud; "
            "classifying every "
            f"{impulse.slice_samples} readings (Ctrl-C to stop)"
        )
        done, seen = 0, 0
        try:
            for chunk in serial_slices(port, impulse, warn=echo):
                result = eim.classify_continuous(chunk)
                seen += 1
                if seen < impulse.slices_per_window:
                    continue  # the first window is not full yet
                end_s = seen * impulse.slice_samples / impulse.frequency_hz
                click.echo(
                    emit(
                        port_path,
                        end_s - impulse.window_samples / impulse.frequency_hz,
                        end_s,
                        result,
                        impulse.labels,
                    )
                )
                done += 1
                if count is not None and done >= count:
                    return
        except KeyboardInterrupt:
            return
    except ForwarderError as exc:
        raise InputError(str(exc)) from exc
    finally:
        port.close()


def _baud(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise click.BadParameter(
            f"must be 'auto' or a positive whole number, not '{text}'", param_hint="--baud"
        )
    return int(text)
