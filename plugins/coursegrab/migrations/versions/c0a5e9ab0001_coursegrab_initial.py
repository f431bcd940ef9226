"""coursegrab: terms, courses, sections, tracking, profiles, sessions, status changes, job leases

Revision ID: c0a5e9ab0001
Revises:
Create Date: 2026-12-06 09:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c0a5e9ab0001"
down_revision = None
branch_labels = ("coursegrab",)
depends_on = "c0de00000001"


def upgrade() -> None:
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
    op.create_table(
        "coursegrab_profiles",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("notification", sa.String(length=16), nullable=True),
        sa.Column("statuses", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_coursegrab_profiles_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_pk", name=op.f("pk_coursegrab_profiles")),
    )
    op.create_table(
        "coursegrab_sessions",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("device_type", sa.String(length=16), nullable=False),
        sa.Column("device_token", sa.String(length=4096), nullable=True),
        sa.Column("device_digest", sa.String(length=64), nullable=True),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("session_token_id", sa.Integer(), nullable=False),
        sa.Column("update_token_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("update_expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_coursegrab_sessions_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_coursegrab_sessions")),
        sa.UniqueConstraint("device_digest", name=op.f("uq_coursegrab_sessions_device_digest")),
        sa.UniqueConstraint(
            "session_token_id", name=op.f("uq_coursegrab_sessions_session_token_id")
        ),
        sa.UniqueConstraint("update_token_id", name=op.f("uq_coursegrab_sessions_update_token_id")),
    )
    with op.batch_alter_table("coursegrab_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coursegrab_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_coursegrab_sessions_update_expires_at"),
            ["update_expires_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_coursegrab_sessions_user_pk"), ["user_pk"], unique=False
        )

    op.create_table(
        "coursegrab_terms",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_coursegrab_terms")),
        sa.UniqueConstraint("slug", name=op.f("uq_coursegrab_terms_slug")),
    )
    with op.batch_alter_table("coursegrab_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coursegrab_terms_is_current"), ["is_current"], unique=False
        )

    op.create_table(
        "coursegrab_courses",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("term_pk", sa.Integer(), nullable=False),
        sa.Column("subject_code", sa.String(length=16), nullable=False),
        sa.Column("course_num", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("search_key", sa.String(length=287), nullable=False),
        sa.ForeignKeyConstraint(
            ["term_pk"],
            ["coursegrab_terms.pk"],
            name=op.f("fk_coursegrab_courses_term_pk_coursegrab_terms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_coursegrab_courses")),
        sa.UniqueConstraint(
            "term_pk",
            "subject_code",
            "course_num",
            name=op.f("uq_coursegrab_courses_term_pk_subject_code_course_num"),
        ),
    )
    with op.batch_alter_table("coursegrab_courses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coursegrab_courses_term_pk"), ["term_pk"], unique=False
        )

    op.create_table(
        "coursegrab_sections",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("term_pk", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("catalog_num", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=64), nullable=True),
        sa.Column("instructors", sa.Text(), nullable=False),
        sa.Column("num_tracking", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["coursegrab_courses.pk"],
            name=op.f("fk_coursegrab_sections_course_pk_coursegrab_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["term_pk"],
            ["coursegrab_terms.pk"],
            name=op.f("fk_coursegrab_sections_term_pk_coursegrab_terms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_coursegrab_sections")),
        sa.UniqueConstraint(
            "term_pk", "catalog_num", name=op.f("uq_coursegrab_sections_term_pk_catalog_num")
        ),
    )
    with op.batch_alter_table("coursegrab_sections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coursegrab_sections_course_pk"), ["course_pk"], unique=False
        )

    op.create_table(
        "coursegrab_status_changes",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("section_pk", sa.Integer(), nullable=False),
        sa.Column("old_status", sa.String(length=16), nullable=False),
        sa.Column("new_status", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_pk"],
            ["coursegrab_sections.pk"],
            name=op.f("fk_coursegrab_status_changes_section_pk_coursegrab_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_coursegrab_status_changes")),
    )
    with op.batch_alter_table("coursegrab_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coursegrab_status_changes_section_pk"), ["section_pk"], unique=False
        )

    op.create_table(
        "coursegrab_tracking",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("section_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["section_pk"],
            ["coursegrab_sections.pk"],
            name=op.f("fk_coursegrab_tracking_section_pk_coursegrab_sections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_coursegrab_tracking_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_coursegrab_tracking")),
        sa.UniqueConstraint(
            "user_pk", "section_pk", name=op.f("uq_coursegrab_tracking_user_pk_section_pk")
        ),
    )
    with op.batch_alter_table("coursegrab_tracking", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coursegrab_tracking_section_active", ["section_pk", "archived_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_coursegrab_tracking_user_pk"), ["user_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("coursegrab_tracking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coursegrab_tracking_user_pk"))
        batch_op.drop_index("ix_coursegrab_tracking_section_active")

    op.drop_table("coursegrab_tracking")
    with op.batch_alter_table("coursegrab_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coursegrab_status_changes_section_pk"))

    op.drop_table("coursegrab_status_changes")
    with op.batch_alter_table("coursegrab_sections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coursegrab_sections_course_pk"))

    op.drop_table("coursegrab_sections")
    with op.batch_alter_table("coursegrab_courses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coursegrab_courses_term_pk"))

    op.drop_table("coursegrab_courses")
    with op.batch_alter_table("coursegrab_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coursegrab_terms_is_current"))

    op.drop_table("coursegrab_terms")
    with op.batch_alter_table("coursegrab_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coursegrab_sessions_user_pk"))
        batch_op.drop_index(batch_op.f("ix_coursegrab_sessions_update_expires_at"))
        batch_op.drop_index(batch_op.f("ix_coursegrab_sessions_expires_at"))

    op.drop_table("coursegrab_sessions")
    op.drop_table("coursegrab_profiles")
    op.drop_table("coursegrab_job_leases")
