"""reset flows: a random nonce per step for the page tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reset_flows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step_nonce", sa.String(length=32), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("reset_flows", schema=None) as batch_op:
        batch_op.drop_column("step_nonce")
