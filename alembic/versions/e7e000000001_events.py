"""events: live events shared by replicas (PostgreSQL LISTEN/NOTIFY) and replayed after reconnect

Its own branch (``events``), like ``accounts`` and ``notifications``: it needs
nothing from the core's other tables, so it can be added to a database whose
core branch is at any revision.

Revision ID: e7e000000001
Revises:
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "e7e000000001"
down_revision = None
branch_labels = ("events",)
depends_on = "c0de00000001"


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_channel_id", "events", ["channel", "id"], unique=False)
    op.create_index(op.f("ix_events_created"), "events", ["created"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_events_created"), table_name="events")
    op.drop_index("ix_events_channel_id", table_name="events")
    op.drop_table("events")
