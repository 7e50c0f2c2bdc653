"""Project versions (app/services/versions.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class VersionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"description": "the data and model shipped in March"}]},
    )

    description: str = Field(default="", max_length=2000, description="what this version is")
