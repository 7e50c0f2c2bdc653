"""Project setting: the board the profile measures and the Deployment page preselects (issue 11).

Revision ID: i11_profile
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "i11_profile"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("target_board", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("target_board")
