"""apps.retention (days per kind of personal data) and app_keys (per-app wrapped encryption keys)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 22:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention', sa.JSON(), nullable=False, server_default='{}'))
    op.create_table(
        'app_keys',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('app_id', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('wrapped', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('app_id', 'version'),
    )
    op.create_index(op.f('ix_app_keys_app_id'), 'app_keys', ['app_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_app_keys_app_id'), table_name='app_keys')
    op.drop_table('app_keys')
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_column('retention')
