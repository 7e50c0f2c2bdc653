"""Bodies of the sample edits: one sample (paths and names as Edge Impulse's Studio API), several at
once, crop, split."""

from __future__ import annotations

from typing import Annotated, Literal

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


MAX_BULK = 10_000  # samples per bulk request

Ids = Annotated[list[int], Field(min_length=1, max_length=MAX_BULK)]


class BatchIds(BaseModel):
    """Samples to delete (all or none)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"ids": [12, 13, 14]}]})

    ids: Ids


class BatchLabel(BatchIds):
    """Give several samples one label."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"ids": [12, 13], "label": "wave"}]})

    label: str = Field(max_length=255)


class BatchMove(BatchIds):
    """Move several samples to another category."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ids": [12, 13], "category": "testing"}]}
    )

    category: Category


class Range(BaseModel):
    """A part of a sample, in milliseconds from its start."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"startMs": 250, "endMs": 1250}]})

    startMs: float = Field(ge=0)
    endMs: float = Field(gt=0)


class SplitBody(BaseModel):
    """Parts of a sample that become new samples (the original is deleted)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"segments": [{"startMs": 0, "endMs": 1000}, {"startMs": 1200, "endMs": 2200}]}
            ]
        }
    )

    segments: list[Range] = Field(min_length=1, max_length=1000)
