"""Bodies of the routes that start jobs, and their answer."""

from __future__ import annotations

from pydantic import BaseModel

from app.models import Job


class JobStarted(BaseModel):
    """A job was queued: follow it at `/api/{projectId}/jobs/{id}/status` (or `/stream`)."""

    success: bool = True
    id: int
    jobId: int  # noqa: N815 - Edge Impulse's name

    @classmethod
    def of(cls, job: Job) -> JobStarted:
        return cls(id=job.id, jobId=job.id)
