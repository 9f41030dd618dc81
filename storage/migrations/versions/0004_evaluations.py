"""evaluations: one per session, the grader's result, the teacher's review, the job's claim

Revision ID: 0004
Revises: 0003

A new table only; nothing existing changes. Sessions that ended before this revision
have no evaluation: a teacher asks for one (``POST /api/sessions/{id}/evaluation``).
Downgrade drops the table and every evaluation in it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("grader", sa.String(length=20), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("rubric", sa.JSON(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("session_ended_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_evaluations_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_evaluations_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
        sa.UniqueConstraint("session_id", name=op.f("uq_evaluations_session_id")),
    )
    op.create_index(op.f("ix_evaluations_owner_id"), "evaluations", ["owner_id"], unique=False)
    op.create_index(
        "ix_evaluations_status_claimed_at",
        "evaluations",
        ["status", "claimed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_evaluations_status_claimed_at", table_name="evaluations")
    op.drop_index(op.f("ix_evaluations_owner_id"), table_name="evaluations")
    op.drop_table("evaluations")
