"""core: small blobs kept in the database

Revision ID: c0de00000002
Revises: c0de00000001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "c0de00000002"
down_revision = "c0de00000001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("touched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    op.create_index(op.f("ix_blobs_touched_at"), "blobs", ["touched_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_blobs_touched_at"), table_name="blobs")
    op.drop_table("blobs")
