"""Response shapes of Edge Impulse's Studio API that its SDK (edgeimpulse_api) validates strictly.

Field names and required keys follow the SDK's generated models (`edgeimpulse_api.models`), so the
SDK works against Tinyforge unchanged; values we do not have get neutral defaults.
"""

from __future__ import annotations

from typing import Any

from app.models import Device, Job, Project, Sample


def iso(dt) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt is not None else None


DEFAULT_BOARD = "Arduino Nano 33 BLE Sense"


def project_json(project: Project, owner: str = "") -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description or "",
        "created": iso(project.created_at),
        "owner": owner or "tinyforge",
        "ownerIsDeveloperProfile": False,
        "collaborators": [],
        "labelingMethod": "single_label",
        "metadata": {},
        "isEnterpriseProject": False,
        "whitelabelId": None,
        "tier": "free",
        "hasPublicVersion": False,
        "isPublic": False,
        "allowsLivePublicAccess": False,
        "indPauseProcessingSamples": False,
        "publicProjectListed": False,
        "requireSignedData": project.require_signed_data,
        "targetBoard": project.target_board or DEFAULT_BOARD,
    }


def cold_storage_name(sample: Sample) -> str:
    """Edge Impulse's clients recover the original file name by dropping the last three dotted
    parts."""
    return (
        f"project{sample.project_id}/{sample.filename}"
        f".{sample.id}.{sample.content_hash[:8]}.{sample.format}"
    )


def sample_json(sample: Sample, device: Device | None = None) -> dict[str, Any]:
    chart = "image" if sample.kind == "image" else "chart"
    return {
        "id": sample.id,
        "filename": sample.filename,
        "signatureValidate": bool(sample.signature_verified),
        "signatureMethod": sample.signature_alg or "none",
        "signatureKey": "",
        "created": iso(sample.created_at),
        "lastModified": iso(sample.updated_at),
        "added": iso(sample.created_at),
        "category": sample.category,
        "coldstorageFilename": cold_storage_name(sample),
        "label": sample.label,
        "intervalMs": float(sample.interval_ms),
        "frequency": float(sample.frequency_hz),
        "originalIntervalMs": float(sample.interval_ms),
        "originalFrequency": float(sample.frequency_hz),
        "deviceName": device.name if device else "",
        "deviceType": device.device_type if device else "",
        "sensors": [
            {"name": s.get("name", ""), "units": s.get("units", "")} for s in sample.sensors
        ],
        "valuesCount": int(sample.value_count),
        "totalLengthMs": float(sample.length_ms),
        "boundingBoxes": [],
        "boundingBoxesType": "object_detection",
        "chartType": chart,
        "isDisabled": not sample.enabled,
        "isProcessing": False,
        "processingError": False,
        "isCropped": False,
        "metadata": {str(k): str(v) for k, v in (sample.metadata_ or {}).items()},
        "projectId": sample.project_id,
        "sha256Hash": sample.content_hash,
        "datastreams": [],
        # Tinyforge extras
        "kind": sample.kind,
        "format": sample.format,
        "enabled": sample.enabled,
        "imageWidth": sample.image_width,
        "imageHeight": sample.image_height,
    }


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "category": job.kind,
        "categoryKey": job.kind,
        "key": f"{job.kind}-{job.id}",
        "created": iso(job.created_at),
        "started": iso(job.started_at),
        "finished": iso(job.finished_at),
        "finishedSuccessful": (job.status == "succeeded") if job.finished else None,
        "jobNotificationUids": [],
        "metadata": {},
        # Tinyforge extras
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "error": job.error,
        "attempts": job.attempts,
        "worker": job.worker,
        "queue": job.queue,
        "params": job.params,
        "result": job.result,
        "heartbeat": iso(job.heartbeat_at),
        "cancelRequested": job.cancel_requested,
    }
