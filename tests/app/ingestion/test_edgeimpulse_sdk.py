"""What Edge Impulse's own Python SDK (`edgeimpulse`) sends, decoded by our decoders.

The SDK's upload functions are pointed at a small local HTTP server (a real socket, real requests
from the SDK) that records every request, decodes each multipart file part with `decode_upload`,
and answers the way the ingestion API does, so the SDK's own success/failure reporting is exercised.
"""

from __future__ import annotations

import io
import json
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import numpy as np
import pytest

from app.ingestion import IngestionError, decode_upload, encode_csv, infer_label, sanitize_filename
from tests.app.ingestion.factories import image_bytes
from tests.paths import FSDD_DIR, require_shared

# importing the SDK pulls in TensorFlow and the generated Studio API client (~15 s)
pytestmark = pytest.mark.slow


API_KEY = "ei_0123456789abcdef"


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.decoded: list[tuple[str, object]] = []
        self.lock = threading.Lock()


def _parts(content_type: str, body: bytes) -> list[dict]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    out = []
    for part in message.iter_parts():
        out.append(
            {
                "field": part.get_param("name", header="content-disposition"),
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "data": part.get_payload(decode=True),
            }
        )
    return out


def _handler(recorder: Recorder):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            parts = _parts(self.headers["content-type"], body)
            record = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "parts": parts,
            }
            files = []
            for ix, part in enumerate(parts):
                name = part["filename"] or ""
                if name.endswith(".labels"):
                    files.append({"success": True, "sampleId": 0, "fileName": name})
                    continue
                try:
                    sample = decode_upload(
                        part["data"],
                        filename=sanitize_filename(name),
                        content_type=part["content_type"],
                        hmac_keys=[],
                    )
                    with recorder.lock:
                        recorder.decoded.append((name, sample))
                    files.append({"success": True, "sampleId": ix + 1, "fileName": name})
                except IngestionError as error:
                    files.append({"success": False, "error": error.message, "fileName": name})
            with recorder.lock:
                recorder.requests.append(record)
            reply = json.dumps(
                {"success": all(f["success"] for f in files), "files": files}
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    return Handler


@pytest.fixture(scope="module")
def sdk():
    """The SDK, imported lazily so that deselecting this module does not pay for the import."""
    edgeimpulse = pytest.importorskip("edgeimpulse")
    from edgeimpulse import data
    from edgeimpulse.data import sample_type

    return SimpleNamespace(
        module=edgeimpulse, data=data, Sample=sample_type.Sample, types=sample_type
    )


@pytest.fixture
def ingestion_server(monkeypatch, sdk):
    edgeimpulse = sdk.module
    recorder = Recorder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(edgeimpulse, "INGESTION_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setattr(edgeimpulse, "API_KEY", API_KEY)
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


def test_upload_samples_sends_multipart_files_with_ingestion_headers(sdk, ingestion_server):
    wav = require_shared(FSDD_DIR) / "0_george_0.wav"
    samples = [
        sdk.Sample(
            filename="zero.01.wav",
            data=open(wav, "rb"),
            category="training",
            label="zero",
            metadata={"speaker": "george"},
        ),
        sdk.Sample(
            filename="idle.02.csv",
            data=io.BytesIO(encode_csv(np.ones((3, 2)), sensor_names=["a", "b"], interval_ms=10)),
        ),
        sdk.Sample(filename="cat.03.png", data=io.BytesIO(image_bytes("PNG")), category="testing"),
    ]
    try:
        response = sdk.data.upload_samples(samples, allow_duplicates=False)
    finally:
        samples[0].data.close()
    assert len(response.successes) == 3 and not response.fails

    by_path = sorted(ingestion_server.requests, key=lambda r: r["parts"][0]["filename"])
    paths = {r["parts"][0]["filename"]: r["path"] for r in by_path}
    assert paths == {
        "zero.01.wav": "/api/training/files",
        "idle.02.csv": "/api/split/files",
        "cat.03.png": "/api/testing/files",
    }
    for record in ingestion_server.requests:
        headers = record["headers"]
        assert headers["x-api-key"] == API_KEY
        assert headers["x-upload-source"] == "EDGE_IMPULSE_PYTHON_SDK"
        assert headers["x-disallow-duplicates"] == "1"
        assert headers["content-type"].startswith("multipart/form-data; boundary=")
        assert "x-file-name" not in headers  # the name travels in the multipart part
        part = record["parts"][0]
        assert part["field"] == "data" and part["content_type"] == "multipart/form-data"
    wav_headers = next(
        r["headers"]
        for r in ingestion_server.requests
        if r["parts"][0]["filename"] == "zero.01.wav"
    )
    assert wav_headers["x-label"] == "zero"
    assert json.loads(wav_headers["x-metadata"]) == {"speaker": "george"}
    assert "x-label" not in next(
        r["headers"]
        for r in ingestion_server.requests
        if r["parts"][0]["filename"] == "idle.02.csv"
    )
    decoded = dict(ingestion_server.decoded)
    assert decoded["zero.01.wav"].format == "wav" and decoded["zero.01.wav"].interval_ms == 0.125
    assert decoded["idle.02.csv"].rows == 3 and infer_label("idle.02.csv") == "idle"
    assert decoded["cat.03.png"].kind == "image"


def test_upload_numpy_sends_json_labelled_as_cbor(sdk, ingestion_server):
    values = np.array(
        [
            [[8.81, 0.03, 1.21], [9.83, 1.04, 1.27], [9.12, 0.03, 1.23], [9.14, 2.01, 1.25]],
            [[8.81, 0.03, 1.21], [9.12, 0.03, 1.23], [9.14, 2.01, 1.25], [9.14, 2.01, 1.25]],
        ]
    )
    sensors = [
        {"name": "accelX", "units": "m/s2"},
        {"name": "accelY", "units": "m/s2"},
        {"name": "accelZ", "units": "m/s2"},
    ]
    response = sdk.data.upload_numpy(
        data=values, labels=["up", "down"], sensors=sensors, sample_rate_ms=100, category="training"
    )
    assert len(response.successes) == 2 and not response.fails
    for record in ingestion_server.requests:
        part = record["parts"][0]
        assert record["path"] == "/api/training/files"
        assert part["filename"].endswith(".json") and part["content_type"] == "multipart/form-data"
        body = json.loads(part["data"])
        # dataclasses.asdict of the SDK's DataAcquisition: nulls for signature, iat and device_name
        assert body["protected"] == {"ver": "v1", "alg": "none", "iat": None}
        assert body["signature"] is None and body["payload"]["device_name"] is None
        assert body["payload"]["device_type"] == "EDGE_IMPULSE_PYTHON_SDK"
    assert sorted(r["headers"]["x-label"] for r in ingestion_server.requests) == ["down", "up"]
    for _, sample in ingestion_server.decoded:
        assert (
            sample.format == "json" and sample.signature_alg == "none" and sample.interval_ms == 100
        )
        assert sample.values.shape == (4, 3) and sample.device_name is None


def test_data_acquisition_sample_is_sent_with_application_cbor_content_type(sdk, ingestion_server):

    DataAcquisition, Payload, Protected, Sensor = (
        sdk.types.DataAcquisition,
        sdk.types.Payload,
        sdk.types.Protected,
        sdk.types.Sensor,
    )

    acquisition = DataAcquisition(
        protected=Protected(),
        payload=Payload(
            device_type="TEST",
            sensors=[Sensor(name="temp", units="Cel")],
            values=[[20.5], [21.0]],
            interval_ms=1000,
        ),
    )
    response = sdk.data.upload_samples(
        sdk.Sample(filename="warm.1.json", data=acquisition, label="warm")
    )
    assert len(response.successes) == 1, response.fails
    part = ingestion_server.requests[0]["parts"][0]
    assert part["content_type"] == "application/cbor"
    assert part["data"].lstrip().startswith(b"{")  # JSON text despite the CBOR label
    sample = ingestion_server.decoded[0][1]
    assert sample.format == "json" and sample.values[:, 0].tolist() == [20.5, 21.0]


def test_structured_labels_travel_as_a_second_labels_file_in_the_same_request(
    sdk, ingestion_server
):
    structured = [
        {"label": "noise", "startIndex": 0, "endIndex": 2},
        {"label": "water", "startIndex": 2, "endIndex": 4},
    ]
    csv = encode_csv(np.arange(8.0).reshape(4, 2), sensor_names=["a", "b"], interval_ms=5)
    response = sdk.data.upload_samples(
        sdk.Sample(filename="mix.1.csv", data=io.BytesIO(csv), structured_labels=structured)
    )
    assert not response.fails
    parts = ingestion_server.requests[0]["parts"]
    assert [p["filename"] for p in parts] == ["mix.1.csv", "structured_labels.labels"]
    assert all(p["field"] == "data" for p in parts)
    labels = json.loads(parts[1]["data"])
    assert labels == {
        "version": 1,
        "type": "structured-labels",
        "structuredLabels": {"mix.1.csv": structured},
    }


def test_upload_directory_infers_labels_from_file_names(sdk, ingestion_server, tmp_path):
    fsdd = sorted(require_shared(FSDD_DIR).glob("*.wav"))[:2]
    for path in fsdd:
        (tmp_path / path.name.replace("_", ".", 1)).write_bytes(
            path.read_bytes()
        )  # 0.george_0.wav -> label "0"
    (tmp_path / "notes.txt").write_text("ignored by the SDK")
    response = sdk.data.upload_directory(directory=str(tmp_path), category="split")
    assert len(response.successes) == 2 and not response.fails
    for record in ingestion_server.requests:
        assert "x-label" not in record["headers"]  # the server must infer it from the file name
        assert infer_label(record["parts"][0]["filename"]) == "0"


def test_a_rejected_file_is_reported_by_the_sdk_as_a_failure(sdk, ingestion_server):
    response = sdk.data.upload_samples(
        sdk.Sample(filename="broken.png", data=io.BytesIO(b"not an image"))
    )
    assert not response.successes and len(response.fails) == 1
    assert "not a valid JPEG or PNG" in str(response.fails[0])
