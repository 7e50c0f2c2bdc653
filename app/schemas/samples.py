"""Bodies of the per-sample edits (paths and names as Edge Impulse's Studio API)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["training", "testing", "anomaly"]


class LabelBody(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"label": "wave"}]})

    label: str = Field(max_length=255)


class MoveBody(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"newCategory": "testing"}]})

    newCategory: Category


class RenameBody(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "wave.042"}]})

    name: str = Field(min_length=1, max_length=255)
