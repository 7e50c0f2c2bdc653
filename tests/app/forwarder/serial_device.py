"""A simulated serial sensor: a process that holds the master side of a pseudo-terminal pair and
prints lines of numbers at a fixed rate, as a board running Edge Impulse's data forwarder firmware
does.

    python -m tests.app.forwarder.serial_device --baud 9600 --hz 100 --axes 3

prints the terminal's path (the "serial port") on its first line. Each line is `k,sin,cos[,...]`
where k counts the lines, so a test can check that a recording is a contiguous run. Like a real
UART:

- it reads the baud rate the reader set on the terminal (termios of the pair); at any other rate it
  prints random bytes instead of lines;
- when the reader does not keep up, lines are dropped (non-blocking writes), never queued forever.

Signals change its behaviour mid-stream: SIGUSR1 → garbage lines, SIGUSR2 → one more axis per line,
SIGTERM → it disconnects (closes the terminal and exits).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import sys
import termios
import time
import tty

SPEEDS = {
    getattr(termios, f"B{b}"): b
    for b in (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--hz", type=float, default=100.0)
    ap.add_argument("--axes", type=int, default=3)
    ap.add_argument("--sep", default=",")
    args = ap.parse_args()

    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.set_blocking(master, False)
    state = {"garbage": False, "extra": 0, "stop": False}
    signal.signal(signal.SIGUSR1, lambda *_: state.update(garbage=True))
    signal.signal(signal.SIGUSR2, lambda *_: state.update(extra=1))
    signal.signal(signal.SIGTERM, lambda *_: state.update(stop=True))
    print(path, flush=True)
    rng = random.Random(0)
    period = 1.0 / args.hz
    k = 0
    start = time.monotonic()
    while not state["stop"]:
        baud = SPEEDS.get(termios.tcgetattr(master)[5])  # the reader's setting (ospeed of the pair)
        if baud != args.baud:
            line = bytes(rng.randrange(256) for _ in range(12))
        elif state["garbage"]:
            line = b"ERR sensor timeout #@!\r\n"
        else:
            t = k / args.hz
            values = [
                str(k),
                f"{math.sin(2 * math.pi * t):.4f}",
                f"{math.cos(2 * math.pi * t):.4f}",
            ]
            values += [f"{0.5 * i:.1f}" for i in range(args.axes - 3 + state["extra"])]
            line = (args.sep.join(values[: args.axes + state["extra"]]) + "\r\n").encode()
        try:
            os.write(master, line)
        except BlockingIOError:
            pass  # nobody reads: the line is lost, as on a real UART
        except OSError:
            break
        k += 1
        time.sleep(max(0.0, start + k * period - time.monotonic()))
    os.close(master)
    os.close(slave)
    sys.exit(0)


if __name__ == "__main__":
    main()
