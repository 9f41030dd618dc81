"""The ``database_url`` fixture of the suites that run once on each database: a SQLite
file in the test's own directory, then a brand-new PostgreSQL database (``postgres_url``).
A plugin of tests/conftest.py: every test may ask for it."""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["database_url"]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
