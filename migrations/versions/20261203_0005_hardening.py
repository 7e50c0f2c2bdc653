"""hardening (issue 10): api key roles, server-side sessions, shared login throttling, worker
heartbeats, and SQLite ids that are never reused (AUTOINCREMENT)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 17:20:00
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# tables whose ids the API hands out (see app.models.base.NEVER_REUSE_IDS)
AUTOINCREMENT_TABLES = (
    "users",
    "projects",
    "api_keys",
    "hmac_keys",
    "devices",
    "samples",
    "impulses",
    "jobs",
    "artifacts",
    "device_commands",
)


def _sqlite_autoincrement(cur, table: str, *, on: bool) -> None:  # noqa: ANN001
    """Rebuild `table` with (on) or without (off) AUTOINCREMENT on its integer `id`, in one
    transaction, with `cur` on a connection whose foreign keys are off (see `_sqlite_rebuild`)."""
    sql = cur.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()[0]
    indexes = [
        row[0]
        for row in cur.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        ).fetchall()
    ]
    columns = [row[1] for row in cur.execute(f'PRAGMA table_info("{table}")').fetchall()]
    pk = f"pk_{table}"
    if on:
        if "AUTOINCREMENT" in sql:
            return
        new_sql, n = re.subn(r"\bCONSTRAINT " + pk + r" PRIMARY KEY \(id\),\s*", "", sql)
        if n == 0:  # the last line: take the comma before it
            new_sql, n = re.subn(r",\s*CONSTRAINT " + pk + r" PRIMARY KEY \(id\)", "", sql)
        new_sql, m = re.subn(
            r"(\n\s*)id INTEGER NOT NULL,",
            r"\1id INTEGER NOT NULL CONSTRAINT " + pk + " PRIMARY KEY AUTOINCREMENT,",
            new_sql,
            count=1,
        )
    else:
        if "AUTOINCREMENT" not in sql:
            return
        new_sql, m = re.subn(
            "id INTEGER NOT NULL CONSTRAINT " + pk + " PRIMARY KEY AUTOINCREMENT,",
            "id INTEGER NOT NULL,",
            sql,
        )
        new_sql, n = re.subn(r"\n\)\s*$", f", \n\tCONSTRAINT {pk} PRIMARY KEY (id)\n)", new_sql)
    if n != 1 or m != 1:
        raise RuntimeError(f"unexpected schema for table {table}: {sql}")
    old = f"_i10_old_{table}"
    cols = ", ".join(f'"{c}"' for c in columns)
    cur.execute("BEGIN")
    try:
        cur.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
        cur.execute(new_sql)
        cur.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM "{old}"')
        cur.execute(f'DROP TABLE "{old}"')
        for index in indexes:
            cur.execute(index)
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise


def _sqlite_rebuild(*, on: bool) -> None:
    """SQLite can only rebuild a table that others reference with foreign keys off (otherwise the
    DROP of the old table deletes its rows first, cascading into the children, and the RENAME
    rewrites the children's references to the old name), and that pragma is ignored inside a
    transaction: so what ran before is committed first, and each table is rebuilt in its own
    transaction on the raw connection, the foreign keys checked after."""
    dbapi = op.get_bind().connection.dbapi_connection
    dbapi.commit()
    cur = dbapi.cursor()
    cur.execute("PRAGMA foreign_keys = OFF")
    cur.execute("PRAGMA legacy_alter_table = ON")
    try:
        tables = AUTOINCREMENT_TABLES if on else tuple(reversed(AUTOINCREMENT_TABLES))
        for table in tables:
            _sqlite_autoincrement(cur, table, on=on)
        broken = cur.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:10]}")
    finally:
        cur.execute("PRAGMA legacy_alter_table = OFF")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=20), server_default="full", nullable=False)
        )

    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_key_failed_at", ["key", "failed_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_login_failures_failed_at"), ["failed_at"], unique=False
        )

    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("queues", sa.String(length=255), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeats")),
    )

    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(on=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(on=False)
    op.drop_table("worker_heartbeats")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_failed_at"))
        batch_op.drop_index("ix_login_failures_key_failed_at")
    op.drop_table("login_failures")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("role")
