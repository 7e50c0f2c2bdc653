"""Bodies of the members, invitations and API key endpoints (docs/teams.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RoleName = Literal["owner", "admin", "member", "viewer"]


class MemberUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "admin"}]})

    role: RoleName


class InvitationCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "member", "expiresInDays": 7}]}
    )

    role: RoleName = "member"
    expiresInDays: float = Field(default=7, gt=0, le=90)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "ci", "role": "full"}, {"role": "ingestion"}]}
    )

    name: str = Field(default="api", min_length=1, max_length=200)
    role: Literal["ingestion", "full", "admin"] = "full"
