"""agent token version and disabled flag; app secret rotation overlap

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 17:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_secret_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('prev_secret_expires_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_column('prev_secret_expires_at')
        batch_op.drop_column('prev_secret_hash')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('disabled')
        batch_op.drop_column('token_version')
