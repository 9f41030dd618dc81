"""Databases at the schema's head for the tests, made by copying one migrated once per test
process rather than migrating each (0.1-0.17 s of Alembic a SQLite file, 0.2-0.4 s a
PostgreSQL database, paid by some 1,000 tests a run).

``database_url`` runs a suite once on each database: a SQLite file in the test's own
directory, then a brand-new PostgreSQL database (``postgres_url``), both at head.
``empty_database_url`` is the same pair with nothing in it, for the tests of the
migrations themselves. A plugin of tests/conftest.py: every test may ask for them."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.loops import run_in_own_loop

__all__ = ["database_url", "empty_database_url", "sqlite_at_head"]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def sqlite_at_head(path: Path) -> str:
    """A SQLite file at ``path`` with the schema at head; its URL."""
    shutil.copyfile(_sqlite_template(), path)
    return sqlite_url(path)


@functools.cache
def _sqlite_template() -> Path:
    """One migrated file per test process, removed when the process exits."""
    from storage.migrate import upgrade

    directory = Path(tempfile.mkdtemp(prefix="vctest-head-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "head.db"
    # The first caller may be inside a running loop (a rig). The engine is disposed when
    # the upgrade returns, which checkpoints the WAL into the file.
    run_in_own_loop(upgrade(sqlite_url(path)))
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_at_head(tmp_path / "test.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "test.db")
    url: str = request.getfixturevalue("empty_postgres_url")
    return url
