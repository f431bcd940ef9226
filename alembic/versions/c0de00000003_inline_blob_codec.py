"""core: small blobs may be stored packed (LZ4)

Revision ID: c0de00000003
Revises: c0de00000002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "c0de00000003"
down_revision = "c0de00000002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # existing rows keep NULL: stored as is
    op.add_column("blobs", sa.Column("codec", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.drop_column("codec")
