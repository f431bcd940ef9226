"""exchange: courses, memberships, assignments, submissions, files

Revision ID: e0c400000001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "e0c400000001"
down_revision = None
branch_labels = ("exchange",)
depends_on = "c0de00000001"

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "exchange_courses",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_exchange_courses")),
    )
    op.create_index(op.f("ix_exchange_courses_deleted_at"), "exchange_courses", ["deleted_at"])
    op.create_index(
        "uq_exchange_courses_live_name",
        "exchange_courses",
        ["name"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_table(
        "exchange_memberships",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["exchange_courses.pk"],
            name=op.f("fk_exchange_memberships_course_pk_exchange_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_exchange_memberships_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_exchange_memberships")),
        sa.UniqueConstraint(
            "course_pk", "user_pk", name=op.f("uq_exchange_memberships_course_pk_user_pk")
        ),
    )
    op.create_index(op.f("ix_exchange_memberships_user_pk"), "exchange_memberships", ["user_pk"])
    op.create_table(
        "exchange_assignments",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=False),
        sa.Column("released_by_pk", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["exchange_courses.pk"],
            name=op.f("fk_exchange_assignments_course_pk_exchange_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["released_by_pk"],
            ["users.pk"],
            name=op.f("fk_exchange_assignments_released_by_pk_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_exchange_assignments")),
    )
    op.create_index(
        op.f("ix_exchange_assignments_course_pk"), "exchange_assignments", ["course_pk"]
    )
    op.create_index(
        op.f("ix_exchange_assignments_deleted_at"), "exchange_assignments", ["deleted_at"]
    )
    op.create_index(
        "uq_exchange_assignments_live_name",
        "exchange_assignments",
        ["course_pk", "name"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_table(
        "exchange_submissions",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("assignment_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_pk"],
            ["exchange_assignments.pk"],
            name=op.f("fk_exchange_submissions_assignment_pk_exchange_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_exchange_submissions_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_exchange_submissions")),
        sa.UniqueConstraint(
            "assignment_pk",
            "user_pk",
            "timestamp",
            name=op.f("uq_exchange_submissions_assignment_pk_user_pk_timestamp"),
        ),
    )
    op.create_index(
        op.f("ix_exchange_submissions_assignment_pk"), "exchange_submissions", ["assignment_pk"]
    )
    op.create_index(op.f("ix_exchange_submissions_user_pk"), "exchange_submissions", ["user_pk"])
    op.create_table(
        "exchange_files",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("assignment_pk", sa.Integer(), nullable=True),
        sa.Column("submission_pk", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_pk"],
            ["exchange_assignments.pk"],
            name=op.f("fk_exchange_files_assignment_pk_exchange_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_pk"],
            ["exchange_submissions.pk"],
            name=op.f("fk_exchange_files_submission_pk_exchange_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_exchange_files")),
    )
    op.create_index(
        "ix_exchange_files_assignment", "exchange_files", ["assignment_pk", "kind", "position"]
    )
    op.create_index(
        "ix_exchange_files_submission", "exchange_files", ["submission_pk", "kind", "position"]
    )
    op.create_index(op.f("ix_exchange_files_sha256"), "exchange_files", ["sha256"])


def downgrade() -> None:
    op.drop_table("exchange_files")
    op.drop_table("exchange_submissions")
    op.drop_table("exchange_assignments")
    op.drop_table("exchange_memberships")
    op.drop_table("exchange_courses")
