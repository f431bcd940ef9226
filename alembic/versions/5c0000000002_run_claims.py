"""scheduler: a claim per scheduled run (one replica runs it), and who ran the last run

Revision ID: 5c0000000002
Revises: 5c0000000001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "5c0000000002"
down_revision = "5c0000000001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_run_claims",
        sa.Column("job_id", sa.String(length=191), nullable=False),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.Column("holder", sa.String(length=191), nullable=False),
        sa.Column("held_until", sa.DateTime(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("func_ref", sa.String(length=255), nullable=True),
        sa.Column("kwargs", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "run_at", name=op.f("pk_scheduler_run_claims")),
    )
    op.create_index(
        op.f("ix_scheduler_run_claims_held_until"),
        "scheduler_run_claims",
        ["held_until"],
        unique=False,
    )
    op.add_column(
        "scheduler_job_runs", sa.Column("last_replica", sa.String(length=191), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("scheduler_job_runs") as batch:
        batch.drop_column("last_replica")
    op.drop_index(op.f("ix_scheduler_run_claims_held_until"), table_name="scheduler_run_claims")
    op.drop_table("scheduler_run_claims")
