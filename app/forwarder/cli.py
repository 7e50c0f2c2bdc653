"""`tinyforge data-forwarder`: a device on a serial port becomes a Tinyforge device."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import sys
from pathlib import Path

import click
import httpx

from app.forwarder.lines import ForwarderError, axis_names
from app.forwarder.port import BAUD_RATES, Serial, find_baud

CATEGORIES = ("training", "testing", "anomaly", "split")


def config_path() -> Path:
    default = Path.home() / ".config" / "tinyforge" / "data-forwarder.json"
    return Path(os.environ.get("TINYFORGE_FORWARDER_CONFIG", default))


def _remembered(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise click.ClickException(f"{path} is not valid JSON ({exc}): fix or delete it") from exc
    return data if isinstance(data, dict) else {}


def _remember(path: Path, device_id: str, names: list[str]) -> None:
    data = _remembered(path)
    data.setdefault("devices", {})[device_id] = {"axes": names}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def _default_device_id(port: str) -> str:
    """The USB serial number when the port has one, else this computer and the port's name."""
    try:
        from serial.tools import list_ports

        for info in list_ports.comports():
            if info.device == port and info.serial_number:
                return info.serial_number
    except Exception:  # no udev, no sysfs: fall through
        pass
    return f"{socket.gethostname()}:{Path(port).name}"


def _hmac_key(host: str, api_key: str) -> str | None:
    """The project's HMAC key, read with the API key (the one project the key belongs to)."""
    try:
        projects = httpx.get(
            f"{host}/api/projects", headers={"x-api-key": api_key}, timeout=10
        ).json()
        pid = projects["projects"][0]["id"]
        return (
            httpx.get(f"{host}/api/{pid}/devkeys", headers={"x-api-key": api_key}, timeout=10)
            .json()
            .get("hmacKey")
        )
    except (httpx.HTTPError, ValueError, KeyError, IndexError):
        return None


@click.command("data-forwarder")
@click.option("--port", "port_path", required=True, help="serial device, e.g. /dev/ttyACM0")
@click.option(
    "--baud",
    default="auto",
    show_default=True,
    help=f"baud rate, or auto (tries {', '.join(map(str, BAUD_RATES))})",
)
@click.option(
    "--frequency", default="auto", show_default=True, help="readings per second, or auto (measured)"
)
@click.option(
    "--api-key",
    envvar="TINYFORGE_API_KEY",
    required=True,
    help="project API key (or $TINYFORGE_API_KEY)",
)
@click.option(
    "--host",
    default=lambda: os.environ.get("TINYFORGE_URL", "http://127.0.0.1:8000"),
    show_default="$TINYFORGE_URL or http://127.0.0.1:8000",
    help="the Tinyforge server",
)
@click.option(
    "--axes",
    default=None,
    help="axis names, e.g. accX,accY,accZ (asked once and remembered otherwise)",
)
@click.option(
    "--device-id",
    default=None,
    help="the device's id (default: its USB serial number, else host:port)",
)
@click.option(
    "--hmac-key",
    default=None,
    help="sign uploads with this key (default: the project's, read with the API key)",
)
@click.option(
    "--label",
    default=None,
    help="record from the command line with this label instead of waiting for the dashboard",
)
@click.option(
    "--length-ms", type=float, default=None, help="length of each recording (with --label)"
)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="recordings to make (with --label)",
)
@click.option("--category", type=click.Choice(CATEGORIES), default="training", show_default=True)
@click.option(
    "--detect-seconds",
    type=float,
    default=1.5,
    show_default=True,
    help="how long to listen per baud rate",
)
def data_forwarder(
    port_path: str,
    baud: str,
    frequency: str,
    api_key: str,
    host: str,
    axes: str | None,
    device_id: str | None,
    hmac_key: str | None,
    label: str | None,
    length_ms: float | None,
    count: int,
    category: str,
    detect_seconds: float,
) -> None:
    """Forward a serial device's readings (lines of numbers) to Tinyforge.

    Finds the baud rate, the rate and the number of axes, asks once for the axis names, registers
    the device with remote management and records when the dashboard asks; or, with --label and
    --length-ms, records from here. Uploads are signed with the project's HMAC key.
    """
    # NumPy and the signing code load only for this command
    from app.forwarder.session import Forwarder

    if (label is None) != (length_ms is None):
        raise click.UsageError("--label and --length-ms go together")
    host = host.rstrip("/")
    rates = BAUD_RATES if baud == "auto" else (_positive_int(baud, "--baud"),)
    device_id = device_id or _default_device_id(port_path)
    echo = lambda m: click.echo(m, err=True)  # noqa: E731
    port = Serial(port_path, rates[0])
    try:
        port.open()
        echo(f"listening to {port_path} ...")
        detection = find_baud(port, rates, seconds=detect_seconds, echo=echo)
        rate = (
            detection.frequency_hz
            if frequency == "auto"
            else _positive_float(frequency, "--frequency")
        )
        echo(f"{port_path}: {detection.axes} axes at {rate:g} Hz, {port.baud} baud")
        names = _axis_names(axes, device_id, detection.axes, echo)
        forwarder = Forwarder(
            port=port,
            axes=names,
            frequency_hz=rate,
            device_id=device_id,
            api_key=api_key,
            host=host,
            hmac_key=hmac_key or _hmac_key(host, api_key),
            echo=echo,
        )
        if forwarder.hmac_key is None:
            echo("warning: no HMAC key: uploads are not signed (pass --hmac-key)")
        if label is not None:
            assert length_ms is not None
            for i in range(count):
                echo(f"recording {i + 1} of {count}: '{label}', {length_ms:g} ms ...")
                values = forwarder.capture(length_ms)
                sample_id = forwarder.upload(
                    values, label=label, path=f"/api/{category}/data", hmac_key=forwarder.hmac_key
                )
                click.echo(
                    f"uploaded sample {sample_id}: {len(values)} readings of {', '.join(names)}"
                )
            return
        stopping = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stopping.update(now=True))
        try:
            forwarder.serve(stop=lambda: stopping["now"])
        except KeyboardInterrupt:
            pass
    except ForwarderError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        port.close()


def _axis_names(option: str | None, device_id: str, axes: int, echo) -> list[str]:
    path = config_path()
    try:
        if option:
            names = axis_names(option, axes)
        else:
            known = _remembered(path).get("devices", {}).get(device_id, {}).get("axes")
            if isinstance(known, list) and len(known) == axes:
                echo(f"axis names (remembered for {device_id}): {', '.join(known)}")
                return known
            if known:
                echo(f"the device now has {axes} axes, not {len(known)}: name them again")
            answer = click.prompt(
                f"Name the {axes} axes, separated by commas (e.g. accX,accY,accZ)",
                err=True,
                default=None,
                show_default=False,
            )
            names = axis_names(answer, axes)
    except ForwarderError as exc:
        raise click.ClickException(str(exc)) from exc
    except click.Abort as exc:
        raise click.ClickException(
            "no axis names given: pass --axes a,b,c when there is no terminal"
        ) from exc
    _remember(path, device_id, names)
    return names


def _positive_int(text: str, name: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise click.BadParameter(
            f"must be 'auto' or a positive whole number, not '{text}'", param_hint=name
        )
    return int(text)


def _positive_float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value > 0):
        raise click.BadParameter(
            f"must be 'auto' or a positive number of Hz, not '{text}'", param_hint=name
        )
    return value


if __name__ == "__main__":  # pragma: no cover
    data_forwarder(sys.argv[1:])
