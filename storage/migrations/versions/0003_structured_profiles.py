"""structured hidden facts, conversational style and avoided topics

Revision ID: 0003
Revises: 0002

Each stored hidden fact, until now a plain string, becomes
``{"fact", "disclosure", "topics", "trust_needed"}``: the old text is the ``fact``, no
disclosure, no topics, and ``trust_needed`` rises with the teacher's list order, the
order the client used to reveal them in: of ``n`` facts the one at index ``i`` (from 0)
needs ``30 + 50 * i // (n - 1)`` (the first 30, the last 80, evenly in between; a single
fact 30). Profiles get ``style`` ("plain") and ``avoid`` (``[]``).

The formula is written out here rather than imported so this migration keeps doing what
it did when the API's default changes (``server.schemas.default_trust_needed`` is the
same formula today). Rows are rewritten one by one: a teacher's library holds tens of
profiles, a whole site thousands, each a few kilobytes.

Downgrade keeps each fact's text and drops disclosures, topics, trust, style and avoid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FIRST_TRUST = 30
LAST_TRUST = 80

profiles = sa.table(
    "client_profiles",
    sa.column("id", sa.Uuid()),
    sa.column("hidden_facts", sa.JSON()),
)


def trust_for(index: int, count: int) -> int:
    if count <= 1:
        return FIRST_TRUST
    return FIRST_TRUST + (LAST_TRUST - FIRST_TRUST) * index // (count - 1)


def structured(stored: list[Any]) -> list[dict[str, Any]]:
    facts: list[dict[str, Any]] = []
    for index, item in enumerate(stored):
        if isinstance(item, dict):  # already structured: keep it, fill what is missing
            facts.append(
                {
                    "fact": str(item.get("fact", "")),
                    "disclosure": str(item.get("disclosure", "")),
                    "topics": [str(topic) for topic in item.get("topics", [])],
                    "trust_needed": int(item.get("trust_needed", trust_for(index, len(stored)))),
                }
            )
        else:
            facts.append(
                {
                    "fact": str(item),
                    "disclosure": "",
                    "topics": [],
                    "trust_needed": trust_for(index, len(stored)),
                }
            )
    return facts


def plain(stored: list[Any]) -> list[str]:
    return [str(item["fact"]) if isinstance(item, dict) else str(item) for item in stored]


def _rewrite(convert: Callable[[list[Any]], list[Any]]) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(profiles.c.id, profiles.c.hidden_facts)).all()
    for profile_id, stored in rows:
        connection.execute(
            profiles.update()
            .where(profiles.c.id == profile_id)
            .values(hidden_facts=convert(stored or []))
        )


def upgrade() -> None:
    # Plain ADD COLUMN (no batch): SQLite adds a column with a constant default in place,
    # and rebuilding client_profiles under foreign_keys=ON would trip sessions' key.
    op.add_column(
        "client_profiles",
        sa.Column("style", sa.String(length=20), nullable=False, server_default="plain"),
    )
    op.add_column(
        "client_profiles",
        sa.Column("avoid", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    _rewrite(structured)


def downgrade() -> None:
    _rewrite(plain)
    # SQLite 3.35+ drops a plain column in place, like PostgreSQL.
    op.drop_column("client_profiles", "avoid")
    op.drop_column("client_profiles", "style")
