"""tuner: a trial's latency in two parts, the processing block's and the network's

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03 20:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tune_trials", sa.Column("dsp_latency_ms", sa.Double(), nullable=True))
    op.add_column("tune_trials", sa.Column("nn_latency_ms", sa.Double(), nullable=True))


def downgrade() -> None:
    op.drop_column("tune_trials", "nn_latency_ms")
    op.drop_column("tune_trials", "dsp_latency_ms")
