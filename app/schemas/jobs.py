"""Bodies of the routes that start jobs, and their answer.

Field names are Edge Impulse's where its API has the same call (impulseId, learnId, modelType, ...).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models import Job


class JobStarted(BaseModel):
    """A job was queued: follow it at `/api/{projectId}/jobs/{id}/status` (or `/stream`)."""

    success: bool = True
    id: int
    jobId: int  # Edge Impulse's name

    @classmethod
    def of(cls, job: Job) -> JobStarted:
        return cls(id=job.id, jobId=job.id)


class WaitRequest(BaseModel):
    """A diagnostic job that only waits (checks that a worker runs jobs)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"seconds": 2}]})

    seconds: float = Field(default=1.0, ge=0, le=600)


class GenerateFeaturesRequest(BaseModel):
    """Generate the features of an impulse's processing blocks (all of them, or one)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"impulseId": 1}, {"impulseId": 1, "dspId": 2}]}
    )

    impulseId: int
    dspId: int | None = Field(
        default=None, description="one processing block; default: every block"
    )


class LearnJobRequest(BaseModel):
    """Train (float32 + int8) or test a learning block of an impulse."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"impulseId": 1, "learnId": 2}]})

    impulseId: int
    learnId: int | None = Field(
        default=None, description="default: the impulse's first learning block"
    )


class BuildRequest(BaseModel):
    """Build a C library of a trained impulse (impulseId) or of an uploaded .tflite (modelId),
    verified before it can be downloaded. Unknown names are refused with the list of known ones."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "impulseId": 1,
                    "learnId": 2,
                    "engine": "compiled",
                    "modelType": "int8",
                    "target": "cortex-m4f",
                },
                {"modelId": 7, "engine": "tflite-micro", "target": "linux-x86_64"},
            ]
        }
    )

    impulseId: int | None = None
    learnId: int | None = Field(
        default=None, description="default: the impulse's first learning block"
    )
    modelId: int | None = Field(
        default=None, description="an uploaded model (POST /api/{projectId}/models/upload)"
    )
    engine: str | None = Field(
        default=None, description="compiled (default) or tflite-micro ('tflite' is taken as it)"
    )
    modelType: str | None = Field(default=None, description="int8 (default) or float32")
    optimize: str | None = Field(
        default=None,
        description="speed (default) or ram: the smaller arena of in-place and tiled operators "
        "(compiled engine; 'tflite-eon-ram-optimized' implies ram)",
    )
    target: str | None = Field(
        default=None, description="default linux-x86_64; GET /api/deployment/targets lists them"
    )


class TuneRequest(BaseModel):
    """Search input windows, processing blocks and networks under a board's budget (the tuner).

    Only `board` is required; RAM and flash limits default to the board's resources. `space`
    narrows or widens the default search space of the project's kind of data (dimension →
    list of values, e.g. `{"dsp": ["mfcc"], "width": [8, 16]}`; `null` removes a
    `dsp.<parameter>` dimension)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "board": "Arduino Nano 33 BLE Sense",
                    "maxLatencyMs": 20,
                    "maxTrials": 9,
                    "timeBudgetS": 1800,
                    "space": {"network": ["ds_cnn", "micronet"], "width": [8, 16, 32]},
                },
                {"board": "Arduino Nano 33 BLE Sense"},
            ]
        },
    )

    board: str = Field(description="a board preset (an unknown name is refused with the list)")
    maxLatencyMs: float | None = Field(default=None, gt=0, description="model latency limit")
    maxRamBytes: int | None = Field(default=None, gt=0, description="default: the board's RAM")
    maxFlashBytes: int | None = Field(default=None, gt=0, description="default: the board's flash")
    maxTrials: int = Field(
        default=9, ge=1, le=200, description="candidates trained (the first rung's size)"
    )
    timeBudgetS: float | None = Field(
        default=None, gt=0, description="stop (cancelling running trials) after this long"
    )
    space: dict | None = Field(default=None, description="override of the default search space")
    maxEpochs: int = Field(default=30, ge=1, le=1000, description="epochs of the last rung")
    strategy: Literal["halving", "random"] = "halving"
    splitByMetadata: str | None = Field(
        default=None,
        description="metadata key of the validation split (default: speaker/subject/... when "
        "every sample has it, else by sample)",
    )
    seed: int = Field(default=1, ge=0)
