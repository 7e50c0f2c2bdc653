"""Body of live classification on values sent with the request."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.ingestion.sample import MAX_INTERVAL_MS, MIN_INTERVAL_MS


class ClassifyRequest(BaseModel):
    """Raw sensor values (rows × axes) run through the impulse: windows, processing, every trained
    block."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "values": [[0.1, 9.8, 0.2], [0.3, 9.7, 0.1], [0.2, 9.9, 0.0]],
                    "interval_ms": 16,
                    "sensors": ["accX", "accY", "accZ"],
                },
            ]
        }
    )

    values: list[list[float]]
    interval_ms: float = Field(ge=MIN_INTERVAL_MS, le=MAX_INTERVAL_MS)
    sensors: list[str] | None = Field(
        default=None, description="names of the columns (to pick the impulse's axes)"
    )
