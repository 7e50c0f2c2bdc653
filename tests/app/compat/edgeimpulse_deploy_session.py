"""Run Edge Impulse's Python SDK, unchanged, to deploy a .tflite (`edgeimpulse.model.deploy`).

Executed by test_edgeimpulse_profile.py in a child process; prints `RESULT <json>`.
"""

import io
import json
import sys
import zipfile

import edgeimpulse as ei
from edgeimpulse.model.output_type import Classification

model_path, out_dir = sys.argv[1], sys.argv[2]
data = ei.model.deploy(
    model=model_path,
    model_output_type=Classification(),
    deploy_model_type="int8",
    engine="tflite-eon",
    output_directory=out_dir,
    timeout_sec=600,
)
raw = data.getvalue() if isinstance(data, io.BytesIO) else bytes(data)
names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
manifest = next((n for n in names if n.endswith("manifest.json")), None)
info = json.loads(zipfile.ZipFile(io.BytesIO(raw)).read(manifest)) if manifest else {}
print(
    "RESULT "
    + json.dumps(
        {
            "bytes": len(raw),
            "names": names,
            "bit_exact": info.get("bit_exact"),
            "engine": info.get("engine"),
            "targets": ei.model.list_deployment_targets(),
        }
    )
)
