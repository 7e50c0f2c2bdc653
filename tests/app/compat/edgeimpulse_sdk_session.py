"""Run Edge Impulse's own Python SDK, unchanged, against the server named by its environment
variables.

Executed by test_edgeimpulse_sdk.py in a child process: EI_API_KEY, EI_API_ENDPOINT and
EI_INGESTION_ENDPOINT point the SDK at Tinyforge. Prints one JSON document of what it saw.
"""

import io
import json
import sys

import edgeimpulse as ei
from edgeimpulse.data import Sample
from edgeimpulse.data.sample_type import DataAcquisition, Payload, Protected, Sensor

wav_path = sys.argv[1]
out = {}

acq = DataAcquisition(
    protected=Protected(ver="v1", alg="none", iat=1700000000),
    signature="0" * 64,
    payload=Payload(
        device_type="SDK_TEST",
        sensors=[Sensor(name="accX", units="m/s2"), Sensor(name="accY", units="m/s2")],
        values=[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        interval_ms=20,
        device_name="sdk-device",
    ),
)
samples = [
    Sample(
        filename="wave.01.json",
        data=acq,
        category="training",
        label="wave",
        metadata={"source": "sdk"},
    ),
    Sample(filename="seven.wav", data=open(wav_path, "rb"), category="testing", label="seven"),
    Sample(
        filename="idle.02.csv",
        data=io.BytesIO(b"timestamp,accX\n0,1\n20,2\n40,3\n"),
        category="split",
        label="idle",
    ),
]
resp = ei.data.upload_samples(samples, allow_duplicates=True)
out["uploaded"] = len(resp.successes)
out["upload_fails"] = [str(f) for f in resp.fails]

infos = ei.data.get_sample_ids()
out["listed"] = sorted((i.filename, i.category, i.label) for i in infos)
ids = {i.filename: i.sample_id for i in infos}
out["filename_of_wave"] = ei.data.get_filename_by_id(ids["wave.01.json"])

downloaded = ei.data.download_samples_by_ids([ids["wave.01.json"], ids["seven.wav"]])
got = {}
for d in downloaded:
    raw = d.data.read() if hasattr(d.data, "read") else d.data
    if isinstance(raw, str):
        raw = raw.encode()
    got[d.filename] = {
        "label": d.label,
        "category": d.category,
        "bytes": len(raw),
        "json": json.loads(raw) if d.filename.endswith(".json") else None,
        "riff": raw[:4].decode("latin1"),
    }
out["downloaded"] = got

ei.data.delete_sample_by_id(ids["wave.01.json"])
out["after_delete"] = sorted(i.filename for i in ei.data.get_sample_ids())
dup = ei.data.upload_samples(
    [Sample(filename="seven.wav", data=open(wav_path, "rb"), category="testing", label="seven")]
)
out["duplicate_fails"] = len(dup.fails)
ei.data.delete_all_samples()
out["after_delete_all"] = len(ei.data.get_sample_ids())
print("RESULT " + json.dumps(out))
