"""The serial port: open it, find the baud rate, rate and axes, and record a fixed number of
readings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.forwarder.lines import Detection, DeviceLost, ForwarderError, detect, parse_line

# tried in this order by --baud auto (the first is what Edge Impulse's examples use)
BAUD_RATES = (115200, 9600, 57600, 38400, 19200, 230400, 460800, 921600)


@dataclass
class Serial:
    """A pyserial port read line by line, with arrival times."""

    path: str
    baud: int
    handle: Any = None  # a serial.Serial once open (pyserial has no type information)

    def open(self) -> None:
        import serial

        try:
            self.handle = serial.Serial(self.path, baudrate=self.baud, timeout=0.1)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ForwarderError(f"cannot open {self.path}: {exc}") from exc

    def set_baud(self, baud: int) -> None:
        self.baud = baud
        self.handle.baudrate = baud

    def flush(self) -> None:
        """Forget what the device sent while nobody listened, and the partial line after it."""
        try:
            self.handle.reset_input_buffer()
            self.read_line(timeout_s=1.0)
        except ForwarderError:
            raise
        except Exception as exc:
            raise DeviceLost(f"the device on {self.path} disconnected: {exc}") from exc

    def read_line(self, *, timeout_s: float) -> bytes | None:
        """One complete line (without its end), None when none arrived in time; ForwarderError when
        the device disconnected."""
        import serial

        deadline = time.monotonic() + timeout_s
        buf = b""
        while True:
            try:
                chunk = self.handle.readline()
            except (serial.SerialException, OSError) as exc:
                raise DeviceLost(f"the device on {self.path} disconnected ({exc})") from exc
            buf += chunk
            if buf.endswith(b"\n"):
                return buf.rstrip(b"\r\n")
            if len(buf) > 4096:
                return buf  # a "line" this long is garbage; let the caller say so
            if time.monotonic() > deadline:
                return None

    def close(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            except Exception:  # closing a vanished device
                pass


def sample_lines(port: Serial, seconds: float) -> list[tuple[float, bytes]]:
    """(arrival time, line) pairs for `seconds` after the first partial line."""
    port.flush()
    out: list[tuple[float, bytes]] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        line = port.read_line(timeout_s=max(0.05, end - time.monotonic()))
        if line is not None:
            out.append((time.monotonic(), line))
    return out


def find_baud(
    port: Serial, rates: Iterable[int], *, seconds: float, echo: Callable[[str], None]
) -> Detection:
    """The first rate at which the device prints lines of numbers, and what it prints there."""
    problems = []
    for baud in rates:
        port.set_baud(baud)
        try:
            detection = detect(sample_lines(port, seconds))
        except ForwarderError as exc:
            problems.append(f"at {baud} baud: {exc}")
            echo(f"  {baud} baud: no lines of numbers")
            continue
        return detection
    raise ForwarderError("could not read the device: " + "; ".join(problems))


def record(
    port: Serial,
    *,
    axes: int,
    rows: int,
    frequency_hz: float,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """`rows` consecutive readings as float32 [rows, axes]. Any bad line, a change in the number of
    values per line, silence or a disconnect raises ForwarderError: a sample is all or nothing."""
    port.flush()
    out = np.empty((rows, axes), dtype=np.float32)
    timeout_s = max(1.0, 20.0 / frequency_hz)
    step = max(1, rows // 10)
    for i in range(rows):
        line = port.read_line(timeout_s=timeout_s)
        if line is None:
            raise DeviceLost(
                f"the device stopped sending after {i} of {rows} readings; nothing was uploaded"
            )
        values = parse_line(line)
        if values is None:
            raise ForwarderError(
                f"reading {i + 1} of {rows} is not a line of numbers ({line[:40]!r}); "
                "nothing was uploaded"
            )
        if len(values) != axes:
            raise DeviceLost(
                f"the device now sends {len(values)} values per line instead of {axes}: its axes "
                "changed, restart the data forwarder to detect them again; nothing was uploaded"
            )
        out[i] = values
        if progress is not None and (i + 1) % step == 0:
            progress(int(100 * (i + 1) / rows))
    return out
