"""admin console: blocks, lockouts, groups, reminders, reveal links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 23:14:21.173290
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "password_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "password_changed_at", "days_before"),
    )
    op.create_table(
        "reveal_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_digest"),
    )
    with op.batch_alter_table("reveal_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reveal_links_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("groups", sa.String(length=500), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("contacts_confirmed_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("contacts_confirmed_at")
        batch_op.drop_column("groups")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("blocked")

    with op.batch_alter_table("reveal_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reveal_links_user_id"))

    op.drop_table("reveal_links")
    op.drop_table("password_reminders")
