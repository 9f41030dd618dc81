"""api_usage.seq: a reply's usage row is written by the flusher (issue 12)

Revision ID: 0006
Revises: 0005

- ``api_usage.seq``: the seq of the session log's ``reply.usage`` event the row was
  stored from; NULL for rows written directly (the grader's calls, and every row before
  this revision).
- ``uq_api_usage_session_id_seq``: unique ``(session_id, seq)``, so the flusher's
  ``INSERT ... ON CONFLICT DO NOTHING`` stores a replayed batch's rows once. NULLs are
  distinct in a unique index on SQLite and PostgreSQL, so rows without a seq never clash.

A unique index rather than a constraint: SQLite cannot add a constraint in place.
Downgrade drops both; rows stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEX = "uq_api_usage_session_id_seq"


def upgrade() -> None:
    op.add_column("api_usage", sa.Column("seq", sa.Integer(), nullable=True))
    op.create_index(INDEX, "api_usage", ["session_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="api_usage")
    op.drop_column("api_usage", "seq")
