"""challenges: a keyed digest of where each code went, for the per-destination and SMS limits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("destination_key", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_challenges_destination_created", ["destination_key", "created_at"], unique=False)
        batch_op.create_index("ix_challenges_channel_created", ["channel", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_index("ix_challenges_channel_created")
        batch_op.drop_index("ix_challenges_destination_created")
        batch_op.drop_column("destination_key")
