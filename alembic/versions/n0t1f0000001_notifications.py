"""notifications: the outbox, people's addresses and their channel preferences

Its own branch (``notifications``), like ``accounts``: it can be added to a
database whose core branch is at any revision; it needs only ``users``.

Revision ID: n0t1f0000001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "n0t1f0000001"
down_revision = None
branch_labels = ("notifications",)
depends_on = "c0de00000001"


def upgrade() -> None:
    op.create_table(
        "notifications_messages",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("recipient_key", sa.String(length=64), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=191), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_notifications_messages_user_pk_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_notifications_messages")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_notifications_messages_idempotency_key")
        ),
    )
    op.create_index(
        "ix_notifications_messages_due",
        "notifications_messages",
        ["status", "next_attempt_at"],
        unique=False,
    )
    for column in ("plugin", "channel", "recipient_key", "created_at"):
        op.create_index(
            op.f(f"ix_notifications_messages_{column}"),
            "notifications_messages",
            [column],
            unique=False,
        )
    op.create_table(
        "notifications_addresses",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("address_key", sa.String(length=64), nullable=False),
        sa.Column("plugin", sa.String(length=64), nullable=True),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_notifications_addresses_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_notifications_addresses")),
        sa.UniqueConstraint(
            "user_pk",
            "channel",
            "address_key",
            name=op.f("uq_notifications_addresses_user_pk_channel_address_key"),
        ),
    )
    for column in ("user_pk", "address_key"):
        op.create_index(
            op.f(f"ix_notifications_addresses_{column}"),
            "notifications_addresses",
            [column],
            unique=False,
        )
    op.create_table(
        "notifications_preferences",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_notifications_preferences_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_pk", "channel", name=op.f("pk_notifications_preferences")),
    )


def downgrade() -> None:
    op.drop_table("notifications_preferences")
    for column in ("address_key", "user_pk"):
        op.drop_index(
            op.f(f"ix_notifications_addresses_{column}"), table_name="notifications_addresses"
        )
    op.drop_table("notifications_addresses")
    for column in ("created_at", "recipient_key", "channel", "plugin"):
        op.drop_index(
            op.f(f"ix_notifications_messages_{column}"), table_name="notifications_messages"
        )
    op.drop_index("ix_notifications_messages_due", table_name="notifications_messages")
    op.drop_table("notifications_messages")
