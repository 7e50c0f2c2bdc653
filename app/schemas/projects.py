"""Body of the project settings change (as Edge Impulse's `POST /api/{projectId}`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProjectSettings(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Gestures",
                    "description": "wrist motion, 62.5 Hz",
                    "requireSignedData": True,
                }
            ]
        }
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    requireSignedData: bool | None = None
    # a board preset name (GET /api/profile/boards lists them); profiled after every training
    targetBoard: str | None = Field(default=None, max_length=100)
