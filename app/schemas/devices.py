"""Bodies of the device routes (Edge Impulse's Studio API names, so its tools work unchanged)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

DeviceId = Annotated[str, Field(min_length=1, max_length=255)]


class CreateDeviceBody(BaseModel):
    """Register a device (the Linux daemon and the data forwarder call this before they connect)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "deviceId": "00:11:22:33:44:55",
                    "deviceType": "RASPBERRY_PI_4",
                    "ifNotExists": True,
                }
            ]
        }
    )

    deviceId: DeviceId
    deviceType: str = Field(default="", max_length=255)
    ifNotExists: bool = True


class RenameDeviceBody(BaseModel):
    """A device's name in the dashboard."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "kitchen board"}]})

    name: str = Field(min_length=1, max_length=255)


class StartSamplingBody(BaseModel):
    """Ask a connected device to record a sample (it uploads it itself)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "label": "wave",
                    "lengthMs": 2000,
                    "category": "training",
                    "sensor": "Accelerometer",
                    "frequencyHz": 62.5,
                }
            ]
        }
    )

    label: str = Field(min_length=1, max_length=255)
    lengthMs: float = Field(gt=0, le=24 * 3600 * 1000)
    category: Literal["training", "testing", "anomaly", "split"] = "training"
    sensor: str = Field(min_length=1, max_length=255)
    intervalMs: float | None = Field(default=None, ge=0)
    frequencyHz: float | None = Field(default=None, gt=0)
