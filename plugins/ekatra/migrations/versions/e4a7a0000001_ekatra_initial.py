"""ekatra: profiles, courses, days, questions, groups, learners, deliveries, engine, answers

Revision ID: e4a7a0000001
Revises:
Create Date: 2026-12-06 09:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "e4a7a0000001"
down_revision = None
branch_labels = ("ekatra",)
depends_on = "c0de00000001"


def upgrade() -> None:
    op.create_table(
        "ekatra_courses",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("owner_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("activation_message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_pk"],
            ["users.pk"],
            name=op.f("fk_ekatra_courses_owner_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ekatra_courses")),
    )
    op.create_index(
        op.f("ix_ekatra_courses_owner_pk"), "ekatra_courses", ["owner_pk"], unique=False
    )
    op.create_table(
        "ekatra_groups",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("owner_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_pk"],
            ["users.pk"],
            name=op.f("fk_ekatra_groups_owner_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ekatra_groups")),
    )
    op.create_index(op.f("ix_ekatra_groups_owner_pk"), "ekatra_groups", ["owner_pk"], unique=False)
    op.create_table(
        "ekatra_profiles",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("contact", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_ekatra_profiles_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_pk", name=op.f("pk_ekatra_profiles")),
    )
    op.create_table(
        "ekatra_days",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["ekatra_courses.pk"],
            name=op.f("fk_ekatra_days_course_pk_ekatra_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ekatra_days")),
        sa.UniqueConstraint("course_pk", "number", name=op.f("uq_ekatra_days_course_pk_number")),
    )
    op.create_table(
        "ekatra_deliveries",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("owner_pk", sa.Integer(), nullable=False),
        sa.Column("group_pk", sa.Integer(), nullable=True),
        sa.Column("course_pk", sa.Integer(), nullable=True),
        sa.Column("group_name", sa.String(length=255), nullable=False),
        sa.Column("course_name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("schedule_at", sa.DateTime(), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column("total_days", sa.Integer(), nullable=False),
        sa.Column("day_seconds", sa.Integer(), nullable=False),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["ekatra_courses.pk"],
            name=op.f("fk_ekatra_deliveries_course_pk_ekatra_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_pk"],
            ["ekatra_groups.pk"],
            name=op.f("fk_ekatra_deliveries_group_pk_ekatra_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_pk"],
            ["users.pk"],
            name=op.f("fk_ekatra_deliveries_owner_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ekatra_deliveries")),
    )
    op.create_index(
        op.f("ix_ekatra_deliveries_course_pk"), "ekatra_deliveries", ["course_pk"], unique=False
    )
    op.create_index(
        op.f("ix_ekatra_deliveries_group_pk"), "ekatra_deliveries", ["group_pk"], unique=False
    )
    op.create_index(
        op.f("ix_ekatra_deliveries_owner_pk"), "ekatra_deliveries", ["owner_pk"], unique=False
    )
    op.create_index(
        op.f("ix_ekatra_deliveries_status"), "ekatra_deliveries", ["status"], unique=False
    )
    op.create_table(
        "ekatra_learners",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("group_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("country_code", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("is_subscribed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_pk"],
            ["ekatra_groups.pk"],
            name=op.f("fk_ekatra_learners_group_pk_ekatra_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ekatra_learners")),
    )
    op.create_index(
        op.f("ix_ekatra_learners_group_pk"), "ekatra_learners", ["group_pk"], unique=False
    )
    op.create_index(op.f("ix_ekatra_learners_phone"), "ekatra_learners", ["phone"], unique=False)
    op.create_table(
        "ekatra_answers",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("delivery_pk", sa.Integer(), nullable=False),
        sa.Column("learner_pk", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("question", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1600), nullable=False),
        sa.Column("is_correct", sa.Boolean(), nullable=True),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_pk"],
            ["ekatra_deliveries.pk"],
            name=op.f("fk_ekatra_answers_delivery_pk_ekatra_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["learner_pk"],
            ["ekatra_learners.pk"],
            name=op.f("fk_ekatra_answers_learner_pk_ekatra_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ekatra_answers")),
        sa.UniqueConstraint(
            "delivery_pk",
            "learner_pk",
            "day",
            "question",
            name=op.f("uq_ekatra_answers_delivery_pk_learner_pk_day_question"),
        ),
        sa.UniqueConstraint("message_sid", name=op.f("uq_ekatra_answers_message_sid")),
    )
    op.create_index(
        op.f("ix_ekatra_answers_delivery_pk"), "ekatra_answers", ["delivery_pk"], unique=False
    )
    op.create_table(
        "ekatra_questions",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("day_pk", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("correct_answer", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["day_pk"],
            ["ekatra_days.pk"],
            name=op.f("fk_ekatra_questions_day_pk_ekatra_days"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ekatra_questions")),
        sa.UniqueConstraint("day_pk", "number", name=op.f("uq_ekatra_questions_day_pk_number")),
    )
    op.create_table(
        "ekatra_recipients",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("delivery_pk", sa.Integer(), nullable=False),
        sa.Column("learner_pk", sa.Integer(), nullable=False),
        sa.Column("anchor", sa.Date(), nullable=False),
        sa.Column("shift_days", sa.Integer(), nullable=False),
        sa.Column("next_step", sa.Integer(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_pk"],
            ["ekatra_deliveries.pk"],
            name=op.f("fk_ekatra_recipients_delivery_pk_ekatra_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["learner_pk"],
            ["ekatra_learners.pk"],
            name=op.f("fk_ekatra_recipients_learner_pk_ekatra_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ekatra_recipients")),
        sa.UniqueConstraint(
            "delivery_pk", "learner_pk", name=op.f("uq_ekatra_recipients_delivery_pk_learner_pk")
        ),
    )
    op.create_index("ix_ekatra_recipients_due", "ekatra_recipients", ["next_due_at"], unique=False)
    op.create_index(
        op.f("ix_ekatra_recipients_learner_pk"), "ekatra_recipients", ["learner_pk"], unique=False
    )
    op.create_table(
        "ekatra_sends",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("delivery_pk", sa.Integer(), nullable=False),
        sa.Column("learner_pk", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_pk"],
            ["ekatra_deliveries.pk"],
            name=op.f("fk_ekatra_sends_delivery_pk_ekatra_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["learner_pk"],
            ["ekatra_learners.pk"],
            name=op.f("fk_ekatra_sends_learner_pk_ekatra_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ekatra_sends")),
        sa.UniqueConstraint(
            "delivery_pk",
            "learner_pk",
            "step",
            name=op.f("uq_ekatra_sends_delivery_pk_learner_pk_step"),
        ),
    )
    op.create_index(
        op.f("ix_ekatra_sends_learner_pk"), "ekatra_sends", ["learner_pk"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ekatra_sends_learner_pk"), table_name="ekatra_sends")
    op.drop_table("ekatra_sends")
    op.drop_index(op.f("ix_ekatra_recipients_learner_pk"), table_name="ekatra_recipients")
    op.drop_index("ix_ekatra_recipients_due", table_name="ekatra_recipients")
    op.drop_table("ekatra_recipients")
    op.drop_table("ekatra_questions")
    op.drop_index(op.f("ix_ekatra_answers_delivery_pk"), table_name="ekatra_answers")
    op.drop_table("ekatra_answers")
    op.drop_index(op.f("ix_ekatra_learners_phone"), table_name="ekatra_learners")
    op.drop_index(op.f("ix_ekatra_learners_group_pk"), table_name="ekatra_learners")
    op.drop_table("ekatra_learners")
    op.drop_index(op.f("ix_ekatra_deliveries_status"), table_name="ekatra_deliveries")
    op.drop_index(op.f("ix_ekatra_deliveries_owner_pk"), table_name="ekatra_deliveries")
    op.drop_index(op.f("ix_ekatra_deliveries_group_pk"), table_name="ekatra_deliveries")
    op.drop_index(op.f("ix_ekatra_deliveries_course_pk"), table_name="ekatra_deliveries")
    op.drop_table("ekatra_deliveries")
    op.drop_table("ekatra_days")
    op.drop_table("ekatra_profiles")
    op.drop_index(op.f("ix_ekatra_groups_owner_pk"), table_name="ekatra_groups")
    op.drop_table("ekatra_groups")
    op.drop_index(op.f("ix_ekatra_courses_owner_pk"), table_name="ekatra_courses")
    op.drop_table("ekatra_courses")
