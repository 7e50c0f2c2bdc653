"""ORM models. Import from here so every table is registered on `Base.metadata`."""

from app.models.artifact import Artifact
from app.models.base import Base
from app.models.device import Device
from app.models.impulse import Impulse
from app.models.job import FINISHED, JOB_STATUSES, Job, JobLog, WorkerHeartbeat
from app.models.project import API_KEY_ROLES, ApiKey, HmacKey, Project
from app.models.remote import DeviceCommand, DeviceConnection
from app.models.sample import CATEGORIES, Sample
from app.models.team import AuditEvent, Invitation
from app.models.tune import TuneTrial
from app.models.user import LoginFailure, ProjectMember, User, UserSession
from app.models.version import ProjectVersion

__all__ = [
    "API_KEY_ROLES",
    "CATEGORIES",
    "FINISHED",
    "JOB_STATUSES",
    "ApiKey",
    "Artifact",
    "AuditEvent",
    "Base",
    "Device",
    "DeviceCommand",
    "DeviceConnection",
    "HmacKey",
    "Impulse",
    "Invitation",
    "Job",
    "JobLog",
    "LoginFailure",
    "Project",
    "ProjectMember",
    "ProjectVersion",
    "Sample",
    "TuneTrial",
    "User",
    "UserSession",
    "WorkerHeartbeat",
]
