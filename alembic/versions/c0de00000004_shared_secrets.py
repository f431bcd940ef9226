"""core: secrets shared by every replica (cookie secret, VAPID key)

Revision ID: c0de00000004
Revises: c0de00000003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "c0de00000004"
down_revision = "c0de00000003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_shared_secrets")),
    )


def downgrade() -> None:
    op.drop_table("shared_secrets")
