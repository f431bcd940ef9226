"""coursegrab: drop coursegrab_job_leases (each window is now claimed through the core scheduler)

Revision ID: c0a5e9ab0002
Revises: c0a5e9ab0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "c0a5e9ab0002"
down_revision = "c0a5e9ab0001"
branch_labels = None
depends_on = "5c0000000002"


def upgrade() -> None:
    op.drop_table("coursegrab_job_leases")


def downgrade() -> None:
    op.create_table(
        "coursegrab_job_leases",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("run_window", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("held_until", sa.DateTime(), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_coursegrab_job_leases")),
    )
