"""exchange: first fetch of a release per student (exchange_fetches)

Revision ID: e0c400000002
Revises: e0c400000001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "e0c400000002"
down_revision = "e0c400000001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_fetches",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("assignment_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_pk"],
            ["exchange_assignments.pk"],
            name=op.f("fk_exchange_fetches_assignment_pk_exchange_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_exchange_fetches_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_exchange_fetches")),
        sa.UniqueConstraint(
            "assignment_pk", "user_pk", name=op.f("uq_exchange_fetches_assignment_pk_user_pk")
        ),
    )
    op.create_index(op.f("ix_exchange_fetches_user_pk"), "exchange_fetches", ["user_pk"])


def downgrade() -> None:
    op.drop_index(op.f("ix_exchange_fetches_user_pk"), table_name="exchange_fetches")
    op.drop_table("exchange_fetches")
