"""ORM models. Import from here so every table is registered on `Base.metadata`."""

from app.models.artifact import Artifact
from app.models.base import Base
from app.models.device import Device
from app.models.impulse import Impulse
from app.models.job import FINISHED, JOB_STATUSES, Job, JobLog
from app.models.project import ApiKey, HmacKey, Project
from app.models.remote import DeviceCommand, DeviceConnection
from app.models.sample import CATEGORIES, Sample
from app.models.tune import TuneTrial
from app.models.user import ProjectMember, User

__all__ = [
    "CATEGORIES",
    "FINISHED",
    "JOB_STATUSES",
    "ApiKey",
    "Artifact",
    "Base",
    "Device",
    "DeviceCommand",
    "DeviceConnection",
    "HmacKey",
    "Impulse",
    "Job",
    "JobLog",
    "Project",
    "ProjectMember",
    "Sample",
    "TuneTrial",
    "User",
]
