"""Edge Impulse's "pretrained model" profiling API on Tinyforge's profile (issue 11 item 5).

What `edgeimpulse.model.list_profile_devices()` and `edgeimpulse.model.profile(model=...,
device=...)` call (read from the SDK: `edgeimpulse/model/_functions/profile.py`, `util.py`):

- `GET /api/{projectId}` → a ProjectInfoResponse; the SDK takes `latencyDevices[].mcu`
  (Tinyforge's board preset names).
- `POST /api/{projectId}/pretrained-model/upload` (multipart `modelFile`, `modelFileName`,
  `modelFileType`, optional `device`) → a job id; the SDK polls `/jobs/{id}/status`.
- `POST /api/{projectId}/pretrained-model/profile` → a job id.
- `GET /api/{projectId}/pretrained-model` → GetPretrainedModelResponse: the model's tensors and
  `profileInfo` (`int8`/`float32` for the chosen device, and the `table` of device classes).

The uploaded model is the project's newest `uploaded-model` artifact (the same store as
`POST /api/{projectId}/models/upload`); its profile is kept in the artifact's meta.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.models import Artifact, Project
from app.schemas.ei import project_json
from app.services import artifacts
from app.services import jobs as job_service
from app.services.errors import BadRequest, NotFound

# Edge Impulse's device classes in the profile table, and the board each stands for here
TABLE_CLASSES = (
    ("lowEndMcu", "Arduino Nano 33 BLE Sense", "Low-end MCU"),
    ("highEndMcu", "STM32F746G Discovery", "High-end MCU"),
    ("highEndMcuPlusAccelerator", "Alif Ensemble E7", "High-end MCU + accelerator"),
)


def latency_devices(project: Project) -> list[dict[str, Any]]:
    from app.services.profiles import board_names, project_board

    chosen = project_board(project)
    return [
        {
            "mcu": name,
            "name": name,
            "selected": name == chosen,
            "int8Latency": 0.0,
            "int8ConvLatency": 0.0,
            "float32Latency": 0.0,
            "float32ConvLatency": 0.0,
            "helpText": "Tinyforge board preset (QEMU-measured or estimated)",
        }
        for name in board_names()
    ]


def project_info_extras(project: Project, owner: str, counts: dict[str, dict[str, int]]) -> dict:
    """The fields Edge Impulse's ProjectInfoResponse requires, from what Tinyforge knows."""
    now = datetime.now(UTC)
    labels = sorted({label for per in counts.values() for label in per})
    training = counts.get("training", {})
    return {
        "developmentKeys": {},
        "impulse": {"created": False, "configured": False, "complete": False},
        "devices": [],
        "dataSummary": {
            "totalLengthMs": 0.0,
            "labels": labels,
            "totalLabels": len(labels),
            "dataCount": sum(sum(v.values()) for v in counts.values()),
        },
        "dataSummaryPerCategory": {
            "training": {
                "totalLengthMs": 0.0,
                "labels": sorted(training),
                "totalLabels": len(training),
                "dataCount": sum(training.values()),
            },
            "testing": {},
            "validation": {},
            "postProcessing": {},
        },
        "computeTime": {
            "periodStartDate": now.isoformat(),
            "periodEndDate": (now + timedelta(days=30)).isoformat(),
            "timeUsedMs": 0,
            "timeLeftMs": 0,
        },
        "acquisitionSettings": {
            "intervalMs": 16.0,
            "lengthMs": 10000,
            "segmentShift": False,
            "defaultPageSize": 50,
            "viewType": "list",
            "gridColumnCount": 3,
            "gridColumnCountDetailed": 1,
            "showExactSampleLength": False,
            "inlineEditBoundingBoxes": False,
        },
        "collaborators": [],
        "deploySettings": {
            "eonCompiler": True,
            "sensor": "unknown",
            "arduinoLibraryName": "tinyforge",
            "tinkergenLibraryName": "tinyforge",
            "particleLibraryName": "tinyforge",
        },
        "experiments": [],
        "latencyDevices": latency_devices(project),
        "urls": {},
        "showCreateFirstImpulse": False,
        "showGettingStartedWizard": {"showWizard": False, "step": 0},
        "performance": {
            "gpu": False,
            "jobLimitM": 0,
            "dspFileSizeMb": 0,
            "enterprisePerformance": False,
            "trainJobRamMb": 0,
        },
        "trainJobNotificationUids": [],
        "dspJobNotificationUids": [],
        "modelTestingJobNotificationUids": [],
        "exportJobNotificationUids": [],
        "hasNewTrainingData": False,
        "studioUrl": "",
        "inPretrainedModelFlow": False,
        "showSensorDataInAcquisitionGraph": True,
        "notifications": [],
        "project": project_json(project, owner),
    }


def _finished_job(session: Session, project_id: int, kind: str, lines: list[str], params: dict):
    """A job row that is already done (the work ran in the request): the SDK polls it."""
    now = datetime.now(UTC)
    job = job_service.create_job(session, project_id, kind, params)
    for line in lines:
        job_service.append_log(session, job.id, line)
    job_service.append_log(session, job.id, "finished successfully")
    job_service.mark(
        session,
        job.id,
        status="succeeded",
        progress=100,
        started_at=now,
        finished_at=now,
        heartbeat_at=now,
    )
    return job


def current_model(session: Session, project_id: int) -> Artifact:
    arts = artifacts.project_artifacts(
        session, project_id, kind=artifacts.UPLOADED_MODEL, newest_first=True
    )
    if not arts:
        raise NotFound("no pretrained model uploaded yet: POST /pretrained-model/upload first")
    return arts[0]


def upload(
    session: Session, store, project: Project, *, name: str, data: bytes, device: str | None
) -> int:
    from app.services import learning
    from app.services.profiles import check_board

    if device:
        check_board(device)
    art = learning.store_uploaded_model(session, store, project.id, name, data)
    art.meta = {**(art.meta or {}), "device": device or None}
    session.flush()
    job = _finished_job(
        session,
        project.id,
        "pretrained-model",
        [f"stored the uploaded model {art.name} ({len(data)} bytes)"],
        {"pretrained_model": art.id},
    )
    return job.id


def profile(session: Session, store, project: Project) -> int:
    """Profile the current uploaded model on every board (measured on the chosen device when
    the Arm toolchain is present) and keep the result in the artifact's meta."""
    from app.services.profiles import profile_models

    art = current_model(session, project.id)
    data = store.get(art.blob_key)
    kind = "float32" if (art.meta or {}).get("kind") == "float32" else "int8"
    device = (art.meta or {}).get("device")
    lines: list[str] = []
    try:
        result = profile_models({kind: data}, measure_board=device, log=lines.append)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    art.meta = {**(art.meta or {}), "profile": result[kind], "profile_kind": kind}
    session.flush()
    boards = result[kind]["boards"]
    lines.append(f"profiled {art.name} ({kind}) on {len(boards)} boards")
    return _finished_job(session, project.id, "pretrained-model", lines, {"profile": art.id}).id


def _tensor(t: dict) -> dict:
    return {"dataType": t.get("dtype", "int8"), "name": t.get("name", ""), "shape": t["shape"]}


def _info(kind: str, entry: dict, file_bytes: int) -> dict:
    total = entry["total"]
    return {
        "variant": kind,
        "device": entry["board"],
        "tfliteFileSizeBytes": file_bytes,
        "isSupportedOnMcu": bool(entry["fits"]),
        "memory": {
            "tflite": {
                "ram": int(total["ram_bytes"]),
                "rom": int(total["flash_bytes"]),
                "arenaSize": int(entry["ram"]["arena"]),
            },
        },
        "timePerInferenceMs": max(1, round(total["latency_ms"])),
        "mcuSupportError": "; ".join(n for n in entry["notes"] if n.startswith("does not fit"))
        or None,
        "customMetrics": [
            {"name": "Tinyforge latency (ms)", "value": f"{total['latency_ms']:.3f}"},
            {"name": "Tinyforge cycles", "value": str(total["cycles"])},
            {"name": "Tinyforge method", "value": entry["method"]},
        ],
        "hasPerformance": True,
    }


def pretrained_model(session: Session, project: Project) -> dict:
    art = current_model(session, project.id)
    meta = art.meta or {}
    prof = meta.get("profile")
    kind = meta.get("profile_kind", "int8")
    model: dict[str, Any] = {
        "fileName": art.name,
        "inputs": [_tensor(meta["input"])] if meta.get("input") else [],
        "outputs": [_tensor(meta["output"])] if meta.get("output") else [],
        "supportsTFLite": True,
    }
    device = meta.get("device")
    if prof:
        by_board = {b["board"]: b for b in prof["boards"]}
        table: dict[str, Any] = {"variant": kind}
        for key, board, label in TABLE_CLASSES:
            b = by_board.get(board)
            table[key] = {
                "description": f"{label}: {board}",
                "supported": bool(b and b["fits"]),
                **(
                    {
                        "timePerInferenceMs": max(1, round(b["total"]["latency_ms"])),
                        "memory": {
                            "tflite": {
                                "ram": int(b["total"]["ram_bytes"]),
                                "rom": int(b["total"]["flash_bytes"]),
                            }
                        },
                    }
                    if b
                    else {}
                ),
            }
        table["mpu"] = {"description": "Linux (not profiled by Tinyforge)", "supported": True}
        table["gpuOrMpuAccelerator"] = {"description": "not profiled", "supported": False}
        info: dict[str, Any] = {"table": table}
        if device and device in by_board:
            info[kind] = _info(kind, by_board[device], int(meta.get("file_bytes") or 0))
        model["profileInfo"] = info
    return {
        "success": True,
        "specificDeviceSelected": bool(device),
        "availableModelTypes": [kind],
        "model": model,
        # Tinyforge's own figures, every board
        "tinyforge": prof,
    }
