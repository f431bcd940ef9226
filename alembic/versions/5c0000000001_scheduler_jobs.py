"""scheduler: dated jobs and job run records

Revision ID: 5c0000000001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "5c0000000001"
down_revision = None
branch_labels = ("scheduler",)
depends_on = "c0de00000001"


def upgrade() -> None:
    op.create_table(
        "scheduler_jobs",
        sa.Column("id", sa.String(length=191), nullable=False),
        sa.Column("func_ref", sa.String(length=255), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.Column("misfire_grace_time", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_jobs")),
    )
    op.create_index(op.f("ix_scheduler_jobs_run_at"), "scheduler_jobs", ["run_at"], unique=False)
    op.create_table(
        "scheduler_job_runs",
        sa.Column("job_id", sa.String(length=191), nullable=False),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_duration_seconds", sa.Float(), nullable=True),
        sa.Column("last_success", sa.Boolean(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_run_at", sa.DateTime(), nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_scheduler_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("scheduler_job_runs")
    op.drop_index(op.f("ix_scheduler_jobs_run_at"), table_name="scheduler_jobs")
    op.drop_table("scheduler_jobs")
