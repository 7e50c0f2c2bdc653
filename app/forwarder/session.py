"""The data forwarder's two jobs: upload a recording (signed, data acquisition format), and act as a
remote management device that records when the dashboard asks."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np

from app.forwarder.lines import DeviceLost, ForwarderError
from app.forwarder.port import Serial, record
from app.ingestion import sign_acquisition

DEVICE_TYPE = "TINYFORGE_DATA_FORWARDER"
MAX_SAMPLE_LENGTH_S = 300


def ws_url(host: str) -> str:
    parts = urlsplit(host if "://" in host else f"http://{host}")
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit(
        (scheme, parts.netloc, parts.path.rstrip("/") + "/api/remote-management", "", "")
    )


@dataclass
class Forwarder:
    port: Serial
    axes: list[str]
    frequency_hz: float
    device_id: str
    api_key: str
    host: str
    hmac_key: str | None = None
    device_type: str = DEVICE_TYPE
    echo: Callable[[str], None] = print

    @property
    def sensor_name(self) -> str:
        return f"Sensor with {len(self.axes)} axes ({', '.join(self.axes)})"

    @property
    def interval_ms(self) -> float:
        return 1000.0 / self.frequency_hz

    def capture(
        self, length_ms: float, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        rows = max(1, round(length_ms * self.frequency_hz / 1000))
        return record(
            self.port,
            axes=len(self.axes),
            rows=rows,
            frequency_hz=self.frequency_hz,
            progress=progress,
        )

    def upload(self, values: np.ndarray, *, label: str, path: str, hmac_key: str | None) -> int:
        """POST the recording to the ingestion path; the new sample's id. ForwarderError when
        refused."""
        payload = {
            "device_name": self.device_id,
            "device_type": self.device_type,
            "interval_ms": self.interval_ms,
            "sensors": [{"name": n, "units": "N/A"} for n in self.axes],
            "values": values.tolist(),
        }
        body = sign_acquisition(payload, hmac_key=hmac_key or None)
        headers = {
            "x-api-key": self.api_key,
            "x-label": label,
            "x-file-name": f"{label}.json",
            "x-add-date-id": "1",
            "content-type": "application/json",
        }
        try:
            r = httpx.post(self.host.rstrip("/") + path, content=body, headers=headers, timeout=60)
        except httpx.HTTPError as exc:
            raise ForwarderError(f"could not upload to {self.host}: {exc}") from exc
        try:
            answer = r.json()
        except ValueError:
            answer = {"error": r.text[:200]}
        if r.status_code != 200 or not answer.get("success"):
            raise ForwarderError(
                f"the server refused the sample ({r.status_code}): {answer.get('error')}"
            )
        return int(answer["files"][0]["sampleId"])

    # --- remote management ------------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        return {
            "hello": {
                "version": 3,
                "apiKey": self.api_key,
                "deviceId": self.device_id,
                "deviceType": self.device_type,
                "connection": "ip",
                "supportsSnapshotStreaming": False,
                "sensors": [
                    {
                        "name": self.sensor_name,
                        "maxSampleLengthS": MAX_SAMPLE_LENGTH_S,
                        "frequencies": [self.frequency_hz],
                    }
                ],
            }
        }

    def check(self, request: dict[str, Any]) -> str | None:
        """Why this device cannot serve a sample request, or None."""
        if request.get("sensor") != self.sensor_name:
            return (
                f"this device has no sensor '{request.get('sensor')}' (it offers "
                f"'{self.sensor_name}')"
            )
        interval = request.get("interval")
        if not isinstance(interval, int | float) or not math.isclose(
            interval, self.interval_ms, rel_tol=1e-3
        ):
            return (
                f"this device samples at {self.frequency_hz:g} Hz (interval {self.interval_ms:g} "
                f"ms), not at interval {interval} ms"
            )
        length = request.get("length")
        if not isinstance(length, int | float) or not 0 < length <= MAX_SAMPLE_LENGTH_S * 1000:
            return f"the length must be between 1 ms and {MAX_SAMPLE_LENGTH_S} s"
        if request.get("path") not in {
            f"/api/{c}/data" for c in ("training", "testing", "anomaly", "split")
        }:
            return f"cannot upload to '{request.get('path')}'"
        if not isinstance(request.get("label"), str) or not request["label"].strip():
            return "a label is required"
        return None

    def serve(self, *, stop: Callable[[], bool] = lambda: False) -> None:
        """Connect to remote management and record when asked, until `stop()` or the device is
        lost."""
        from websockets.exceptions import ConnectionClosed, InvalidURI, WebSocketException
        from websockets.sync.client import connect

        url = ws_url(self.host)
        try:
            ws = connect(url, open_timeout=10, max_size=2**20)
        except (OSError, InvalidURI, WebSocketException, TimeoutError) as exc:
            raise ForwarderError(f"cannot connect to remote management at {url}: {exc}") from exc
        with ws:
            ws.send(json.dumps(self.hello()))
            answer = json.loads(ws.recv(timeout=15))
            if answer.get("hello") is not True:
                raise ForwarderError(
                    f"the server refused this device: {answer.get('err') or answer}"
                )
            self.echo(
                f"connected to {url} as '{self.device_id}' ({self.sensor_name} at "
                f"{self.frequency_hz:g} Hz); waiting for sample requests (Ctrl-C to stop)"
            )
            while not stop():
                try:
                    message = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                except ConnectionClosed as exc:
                    raise ForwarderError(
                        f"the server closed the connection: {exc.rcvd.reason if exc.rcvd else exc}"
                    ) from exc
                if isinstance(message.get("sample"), dict):
                    self._sample(ws, message["sample"])
                elif "startSnapshot" in message or "stopSnapshot" in message:
                    ws.send(
                        json.dumps(
                            {"snapshotFailed": True, "error": "a serial sensor has no camera"}
                        )
                    )
                elif "error" in message:
                    self.echo(f"server: {message['error']}")

    def _sample(self, ws, request: dict[str, Any]) -> None:
        def send(message: dict[str, Any]) -> None:
            ws.send(json.dumps(message))

        problem = self.check(request)
        if problem:
            self.echo(f"refused a sample request: {problem}")
            send({"sample": False, "error": problem})
            return
        self.echo(f"recording '{request['label']}' for {request['length']} ms ...")
        send({"sample": True})
        send({"sampleStarted": True})
        try:
            values = self.capture(
                request["length"],
                lambda pct: send({"sampleReading": True, "progressPercentage": pct}),
            )
            send({"sampleUploading": True})
            sample_id = self.upload(
                values,
                label=request["label"].strip(),
                path=request["path"],
                hmac_key=request.get("hmacKey") or self.hmac_key,
            )
        except ForwarderError as exc:
            self.echo(f"sample failed: {exc}")
            send({"sample": False, "error": str(exc)})
            if isinstance(exc, DeviceLost):
                raise
            return
        send({"sampleFinished": True})
        self.echo(f"uploaded sample {sample_id} ({len(values)} readings)")
