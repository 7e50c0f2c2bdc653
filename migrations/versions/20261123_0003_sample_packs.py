"""sample blobs may share a pack file: samples.blob_offset

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 06:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the samples of one ingestion batch are written to one file; each row names its byte range
    with op.batch_alter_table('samples') as batch_op:
        batch_op.add_column(sa.Column('blob_offset', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('samples') as batch_op:
        batch_op.drop_column('blob_offset')
