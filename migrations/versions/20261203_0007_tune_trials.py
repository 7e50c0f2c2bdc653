"""tuner: tune_trials (one row per trial of a tuner job)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tune_trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("candidate", sa.Integer(), nullable=False),
        sa.Column("rung", sa.Integer(), nullable=False),
        sa.Column("epochs", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("point", sa.JSON(), nullable=False),
        sa.Column("impulse", sa.JSON(), nullable=True),
        sa.Column("estimate", sa.JSON(), nullable=True),
        sa.Column("accuracy_float32", sa.Double(), nullable=True),
        sa.Column("accuracy_int8", sa.Double(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=True),
        sa.Column("ram_bytes", sa.Integer(), nullable=True),
        sa.Column("flash_bytes", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("trial_job_id", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("seconds", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_tune_trials_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_tune_trials_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trial_job_id"],
            ["jobs.id"],
            name=op.f("fk_tune_trials_trial_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tune_trials")),
    )
    with op.batch_alter_table("tune_trials", schema=None) as batch_op:
        batch_op.create_index("ix_tune_trials_job_id_rung", ["job_id", "rung"], unique=False)
        batch_op.create_index(batch_op.f("ix_tune_trials_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tune_trials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tune_trials_project_id"))
        batch_op.drop_index("ix_tune_trials_job_id_rung")
    op.drop_table("tune_trials")
