"""catalog, cost, attempts and case files (issue 15): the schema the four features share

Revision ID: 0005
Revises: 0004

- ``api_usage.model_id`` (the catalog entry a call used; NULL before this revision or
  for a one-model setup without a catalog id), ``cost_micros`` (the call's cost in
  millionths of ``currency``, from the catalog's prices at call time; NULL when the
  model had no price) and ``currency``.
- ``users.monthly_token_cap`` / ``monthly_cost_micros_cap``: per-teacher caps an admin
  sets; NULL falls back to ``TEACHER_MONTHLY_TOKEN_CAP`` (tokens) or no money cap.
- ``client_profiles.default_model``: a catalog id the session form preselects.
- ``sessions.attempt_of`` (the first attempt's id; NULL for a first attempt),
  ``attempt`` (1, 2, ...) and ``student_may_restart``.
- ``profile_files``: files attached to a profile; the bytes live in the file store
  under ``storage_key``.

Existing rows: usage keeps NULL cost (unknown, not zero); sessions are attempt 1 that
students may not restart. Downgrade drops the new columns and table (and every file row;
the stored objects stay for ``vclient files cleanup``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch, as in 0003): rebuilding sessions or client_profiles on
    # SQLite under foreign_keys=ON would trip (or cascade through) the keys naming them.
    op.add_column("api_usage", sa.Column("model_id", sa.String(length=100), nullable=True))
    op.add_column("api_usage", sa.Column("cost_micros", sa.BigInteger(), nullable=True))
    op.add_column(
        "api_usage",
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
    )
    op.add_column("users", sa.Column("monthly_token_cap", sa.BigInteger(), nullable=True))
    op.add_column("users", sa.Column("monthly_cost_micros_cap", sa.BigInteger(), nullable=True))
    op.add_column(
        "client_profiles", sa.Column("default_model", sa.String(length=100), nullable=True)
    )
    op.add_column("sessions", sa.Column("attempt_of", sa.Uuid(), nullable=True))
    op.add_column(
        "sessions", sa.Column("attempt", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column(
        "sessions",
        sa.Column("student_may_restart", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    if op.get_bind().dialect.name != "sqlite":
        # SQLite cannot add a constraint in place; the application keeps the link there.
        op.create_foreign_key(
            op.f("fk_sessions_attempt_of_sessions"),
            "sessions",
            "sessions",
            ["attempt_of"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index(op.f("ix_sessions_attempt_of"), "sessions", ["attempt_of"], unique=False)
    op.create_table(
        "profile_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("visible_to_students", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["client_profiles.id"],
            name=op.f("fk_profile_files_profile_id_client_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_profile_files_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_profile_files_storage_key")),
    )
    op.create_index(
        op.f("ix_profile_files_profile_id"), "profile_files", ["profile_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_profile_files_profile_id"), table_name="profile_files")
    op.drop_table("profile_files")
    op.drop_index(op.f("ix_sessions_attempt_of"), table_name="sessions")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("fk_sessions_attempt_of_sessions"), "sessions", type_="foreignkey"
        )
    # SQLite 3.35+ drops a plain column in place, like PostgreSQL.
    for table, column in (
        ("sessions", "student_may_restart"),
        ("sessions", "attempt"),
        ("sessions", "attempt_of"),
        ("client_profiles", "default_model"),
        ("users", "monthly_cost_micros_cap"),
        ("users", "monthly_token_cap"),
        ("api_usage", "currency"),
        ("api_usage", "cost_micros"),
        ("api_usage", "model_id"),
    ):
        op.drop_column(table, column)
