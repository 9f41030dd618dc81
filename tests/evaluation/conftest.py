"""Fixtures for the evaluation job tests (the pure-core tests here need none): a
migrated database, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from storage.migrate import upgrade


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    await upgrade(database_url)
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.aclose()
