"""Run Edge Impulse's Python SDK, unchanged, to list profile devices and profile a .tflite.

Executed by test_edgeimpulse_profile.py in a child process (EI_API_KEY and EI_API_ENDPOINT point
the SDK at Tinyforge). Prints `RESULT <json>` and the SDK's own `.summary()`.
"""

import contextlib
import io
import json
import sys

import edgeimpulse as ei
from edgeimpulse.exceptions import InvalidDeviceException

model_path, device = sys.argv[1], sys.argv[2]
out = {"devices": ei.model.list_profile_devices()}
try:
    ei.model.profile(model=model_path, device="Arduino Uno")
    out["bad_device"] = None
except InvalidDeviceException as exc:
    out["bad_device"] = str(exc)
result = ei.model.profile(model=model_path, device=device)
summary = io.StringIO()
with contextlib.redirect_stdout(summary):
    result.summary()
out["summary"] = summary.getvalue()
out["int8"] = result.model.profile_info.int8.to_dict() if result.model.profile_info.int8 else None
out["table"] = result.model.profile_info.table.to_dict()
out["inputs"] = [t.to_dict() for t in result.model.inputs]
print("RESULT " + json.dumps(out, default=str))
