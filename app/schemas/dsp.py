"""Body of the processing-block preview."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.ingestion.sample import MAX_INTERVAL_MS, MIN_INTERVAL_MS


class DspRunRequest(BaseModel):
    """Run one processing block on one window: of `values` sent here, of a stored sample
    (`sample_id`), windowed like an impulse's input (`impulse_id`) or taken whole."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "block": "mfcc",
                    "params": {"num_cepstral": 13},
                    "sample_id": 1,
                    "impulse_id": 1,
                    "window": 0,
                },
                {
                    "block": "flatten",
                    "values": [[0.1, 9.8, 0.2], [0.3, 9.7, 0.1]],
                    "interval_ms": 16,
                },
            ]
        }
    )

    block: str = Field(description="a processing block (GET /api/dsp-blocks)")
    params: dict[str, Any] = Field(default_factory=dict, description="left out: the defaults")
    values: list[list[float]] | list[float] | None = Field(
        default=None, description="rows × axes, or one axis"
    )
    interval_ms: float | None = Field(default=None, ge=MIN_INTERVAL_MS, le=MAX_INTERVAL_MS)
    sensors: list[str] | None = None
    sample_id: int | None = None
    impulse_id: int | None = None
    window: int = Field(default=0, ge=0)
