"""vivere: profiles, locations, events, announcements, tickets, event times

Revision ID: ba6fb5f2d726
Revises:
Create Date: 2026-11-26 07:49:45.343635
"""

import sqlalchemy as sa
from alembic import op

revision = "ba6fb5f2d726"
down_revision = None
branch_labels = ("vivere",)
depends_on = "c0de00000001"


def upgrade() -> None:
    op.create_table(
        "vivere_announcements",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("sms_sid", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_vivere_announcements")),
        sa.UniqueConstraint("sms_sid", name=op.f("uq_vivere_announcements_sms_sid")),
    )
    with op.batch_alter_table("vivere_announcements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vivere_announcements_time"), ["time"], unique=False)

    op.create_table(
        "vivere_event_times",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_vivere_event_times")),
    )
    op.create_table(
        "vivere_locations",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("map_sha256", sa.String(length=64), nullable=True),
        sa.Column("map_content_type", sa.String(length=32), nullable=True),
        sa.Column("map_size", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_vivere_locations")),
    )
    with op.batch_alter_table("vivere_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vivere_locations_rank"), ["rank"], unique=False)

    op.create_table(
        "vivere_profiles",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_vivere_profiles_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_pk", name=op.f("pk_vivere_profiles")),
    )
    op.create_table(
        "vivere_tickets",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("contact", sa.String(length=255), nullable=False),
        sa.Column("created_by_pk", sa.Integer(), nullable=False),
        sa.Column("claimed_by_pk", sa.Integer(), nullable=True),
        sa.Column("time_created", sa.DateTime(), nullable=False),
        sa.Column("time_opened", sa.DateTime(), nullable=False),
        sa.Column("time_claimed", sa.DateTime(), nullable=True),
        sa.Column("time_complete", sa.DateTime(), nullable=True),
        sa.Column("expiry_announced_for", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claimed_by_pk"],
            ["users.pk"],
            name=op.f("fk_vivere_tickets_claimed_by_pk_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_pk"],
            ["users.pk"],
            name=op.f("fk_vivere_tickets_created_by_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_vivere_tickets")),
    )
    with op.batch_alter_table("vivere_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vivere_tickets_claimed_by_pk"), ["claimed_by_pk"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vivere_tickets_created_by_pk"), ["created_by_pk"], unique=False
        )
        batch_op.create_index(
            "ix_vivere_tickets_queue",
            ["time_complete", "claimed_by_pk", "time_opened"],
            unique=False,
        )

    op.create_table(
        "vivere_events",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("short_description", sa.String(length=255), nullable=False),
        sa.Column("long_description", sa.Text(), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("end_time", sa.DateTime(), nullable=False),
        sa.Column("location_pk", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_pk"],
            ["vivere_locations.pk"],
            name=op.f("fk_vivere_events_location_pk_vivere_locations"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_vivere_events")),
    )
    with op.batch_alter_table("vivere_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vivere_events_location_pk"), ["location_pk"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vivere_events_start_time"), ["start_time"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vivere_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vivere_events_start_time"))
        batch_op.drop_index(batch_op.f("ix_vivere_events_location_pk"))

    op.drop_table("vivere_events")
    with op.batch_alter_table("vivere_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_vivere_tickets_queue")
        batch_op.drop_index(batch_op.f("ix_vivere_tickets_created_by_pk"))
        batch_op.drop_index(batch_op.f("ix_vivere_tickets_claimed_by_pk"))

    op.drop_table("vivere_tickets")
    op.drop_table("vivere_profiles")
    with op.batch_alter_table("vivere_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vivere_locations_rank"))

    op.drop_table("vivere_locations")
    op.drop_table("vivere_event_times")
    with op.batch_alter_table("vivere_announcements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vivere_announcements_time"))

    op.drop_table("vivere_announcements")
