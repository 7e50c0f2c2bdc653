"""The schema comes only from Alembic: the revisions build it, tear it down, and match the
models."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app.core.db import alembic_config, make_engine
from app.models import Base
from tests.conftest import PG_ADMIN_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite'}"
        return
    name = f"tinyforge_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_downgrade_upgrade_and_models_match(empty_db_url):
    cfg = alembic_config(empty_db_url)
    command.upgrade(cfg, "head")
    engine = make_engine(empty_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations disagree (write a revision): {diff}"
        command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(cfg, "head")
        assert {t.name for t in Base.metadata.sorted_tables} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


def test_sqlite_ids_are_never_reused_and_the_rebuild_keeps_every_row(tmp_path):
    """Issue 10 item 8: SQLite gave a deleted sample's id to the next one, so a retried DELETE
    removed the newer sample. The revision rebuilds the tables with AUTOINCREMENT without losing
    (or cascading away) a row of any table that references them."""
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0004")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO projects (id, name, description, require_signed_data, "
                    "created_at) VALUES (7, 'p', '', 0, '2026-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO api_keys (project_id, name, prefix, key_hash, "
                    "created_at) VALUES (7, 'k', 'tf', 'h', '2026-01-01')"
                )
            )
            for sid in (1, 2, 3):
                conn.execute(text(
                    "INSERT INTO samples (id, project_id, category, label, filename, kind, "
                    "format, sensors, interval_ms, frequency_hz, value_count, length_ms, "
                    "content_hash, metadata, enabled, signature_verified, blob_key, blob_bytes, "
                    "created_at, updated_at, blob_offset) VALUES (:id, 7, 'training', 'a', 'f', "
                    "'timeseries', 'json', '[]', 10, 100, 1, 10, 'h', '{}', 1, 0, 'k', 1, "
                    "'2026-01-01', '2026-01-01', 0)"
                ), {"id": sid})  # fmt: skip
        command.upgrade(cfg, "head")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM samples")).scalar() == 3
            assert conn.execute(text("SELECT count(*) FROM api_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            conn.execute(text("DELETE FROM samples WHERE id = 3"))
            conn.execute(text(
                "INSERT INTO samples (project_id, category, label, filename, kind, "
                "format, sensors, interval_ms, frequency_hz, value_count, length_ms, "
                "content_hash, metadata, enabled, signature_verified, blob_key, blob_bytes, "
                "created_at, updated_at, blob_offset) VALUES (7, 'training', 'a', 'f', "
                "'timeseries', 'json', '[]', 10, 100, 1, 10, 'h', '{}', 1, 0, 'k', 1, "
                "'2026-01-01', '2026-01-01', 0)"
            ))  # fmt: skip
            ids = conn.execute(text("SELECT id FROM samples ORDER BY id")).scalars().all()
            assert ids == [1, 2, 4]
            conn.execute(text("DELETE FROM projects WHERE id = 7"))  # the cascade still works
            assert conn.execute(text("SELECT count(*) FROM samples")).scalar() == 0
    finally:
        engine.dispose()
