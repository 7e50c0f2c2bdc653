"""impulses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 03:02:29.900021
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('impulses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('input', sa.JSON(), nullable=False),
    sa.Column('dsp', sa.JSON(), nullable=False),
    sa.Column('learn', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_impulses_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_impulses'))
    )
    with op.batch_alter_table('impulses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_impulses_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('impulse_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_artifacts_impulse_id'), ['impulse_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_artifacts_impulse_id_impulses'), 'impulses', ['impulse_id'], ['id'], ondelete='CASCADE')




def downgrade() -> None:

    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_artifacts_impulse_id_impulses'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_artifacts_impulse_id'))
        batch_op.drop_column('impulse_id')

    with op.batch_alter_table('impulses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_impulses_project_id'))

    op.drop_table('impulses')

