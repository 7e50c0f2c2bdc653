"""remote management: live device connections, commands to devices, devices.display_name

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 13:21:14.965581
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('device_commands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('process_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_device_commands_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_commands'))
    )
    with op.batch_alter_table('device_commands', schema=None) as batch_op:
        batch_op.create_index('ix_device_commands_process_key_status', ['process_key', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_commands_project_id'), ['project_id'], unique=False)

    op.create_table('device_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('device_type', sa.String(length=255), nullable=False),
    sa.Column('connection', sa.String(length=32), nullable=False),
    sa.Column('mode', sa.String(length=32), nullable=False),
    sa.Column('sensors', sa.JSON(), nullable=False),
    sa.Column('supports_snapshot', sa.Boolean(), nullable=False),
    sa.Column('process_key', sa.String(length=64), nullable=False),
    sa.Column('connection_key', sa.String(length=64), nullable=False),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('snapshot_streaming', sa.Boolean(), nullable=False),
    sa.Column('snapshot_jpeg', sa.LargeBinary(), nullable=True),
    sa.Column('snapshot_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_device_connections_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_connections')),
    sa.UniqueConstraint('project_id', 'device_id', name='uq_device_connections_project_id_device_id')
    )
    with op.batch_alter_table('device_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_connections_process_key'), ['process_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_connections_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=255), server_default='', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('display_name')

    with op.batch_alter_table('device_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_connections_project_id'))
        batch_op.drop_index(batch_op.f('ix_device_connections_process_key'))

    op.drop_table('device_connections')
    with op.batch_alter_table('device_commands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_commands_project_id'))
        batch_op.drop_index('ix_device_commands_process_key_status')

    op.drop_table('device_commands')
