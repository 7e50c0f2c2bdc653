"""Settings: one typed object, every knob an environment variable (prefix ``TINYFORGE_``).

The embedded defaults need nothing but Python packages: a SQLite database, blobs on the local
disk and a Celery broker kept in files, all under ``TINYFORGE_DATA_DIR``. Production sets
``TINYFORGE_DATABASE_URL`` (PostgreSQL), ``TINYFORGE_BROKER_URL`` (Redis or RabbitMQ) and a real
``TINYFORGE_SECRET_KEY``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "tinyforge-development-secret-do-not-use-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TINYFORGE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path("tinyforge-data"), description="all embedded-mode state")
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in data_dir")
    broker_url: str = Field(
        default="", description="Celery broker; default a filesystem broker in data_dir"
    )
    result_backend: str = Field(
        default="", description="Celery result backend; default SQLite in data_dir"
    )
    storage_dir: Path | None = Field(default=None, description="blob store; default data_dir/blobs")
    storage_url: str = Field(
        default="",
        description="s3://bucket/prefix for S3-compatible object storage; empty: storage_dir",
    )
    s3_endpoint_url: str = Field(
        default="", description="S3 endpoint of a non-AWS server (MinIO: http://minio:9000)"
    )
    s3_presign: bool = Field(
        default=False,
        description="artifact downloads redirect (307) to a presigned URL instead of streaming",
    )
    s3_presign_expiry_s: int = Field(default=300, ge=10, le=7 * 24 * 3600)
    s3_multipart_threshold_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        description="objects from this size up are uploaded in parts",
    )
    secret_key: str = DEV_SECRET
    base_url: str = Field(default="", description="public URL of this server, shown in snippets")

    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024, description="per request")
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, description="per uploaded file")
    max_files_per_request: int = Field(default=1000, ge=1)
    device_max_message_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="largest remote management message a device may send",
    )

    job_heartbeat_timeout_s: float = Field(
        default=120.0, gt=0, description="running job with no heartbeat for this long is failed"
    )
    job_max_attempts: int = Field(
        default=2, ge=1, description="deliveries of one job before it is failed"
    )
    max_active_jobs_per_project: int = Field(
        default=20, ge=1, description="queued + running jobs of one project; more are refused (429)"
    )
    max_dispatched_jobs_per_project: int = Field(
        default=2,
        ge=1,
        description="jobs of one project handed to the broker at a time: the rest wait in the "
        "database, so one project's flood cannot queue ahead of every other project's jobs",
    )
    worker_concurrency: int = Field(default=2, ge=1)
    db_pool_size: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _defaults_and_safety(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'tinyforge.sqlite'}"
        if not self.broker_url:
            self.broker_url = "filesystem://"
        if not self.result_backend:
            self.result_backend = f"db+sqlite:///{self.data_dir / 'celery-results.sqlite'}"
        if self.storage_dir is None:
            self.storage_dir = self.data_dir / "blobs"
        self.storage_dir = self.storage_dir.expanduser().resolve()
        if self.storage_url.startswith("file://"):
            self.storage_dir = Path(self.storage_url[len("file://") :]).expanduser().resolve()
        elif self.storage_url.startswith("s3://"):
            from app.core.storage import StorageError, parse_s3_url

            try:
                parse_s3_url(self.storage_url)
            except StorageError as exc:
                raise ValueError(str(exc)) from exc
        elif self.storage_url:
            raise ValueError(
                f"TINYFORGE_STORAGE_URL {self.storage_url!r}: use s3://bucket/prefix "
                "(or file:///path, or leave it empty for TINYFORGE_STORAGE_DIR)"
            )
        if self.environment == "production" and (
            self.secret_key == DEV_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "TINYFORGE_SECRET_KEY must be set to a random string of at least 32 "
                "characters in production"
            )
        return self

    @property
    def blob_dir(self) -> Path:
        """`storage_dir` as validated: the validator always fills it in."""
        assert self.storage_dir is not None
        return self.storage_dir

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def uses_s3(self) -> bool:
        return self.storage_url.startswith("s3://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
