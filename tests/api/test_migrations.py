"""Migrations from an empty database, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Base


async def test_upgrade_from_empty_creates_every_table(database_url: str) -> None:
    assert await current_revision(database_url) is None
    await upgrade(database_url)
    await upgrade(database_url)  # idempotent
    assert await current_revision(database_url) == head_revision()
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            columns = await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("sessions")}
            )
    finally:
        await engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert set(Base.metadata.tables["sessions"].columns.keys()) == columns
