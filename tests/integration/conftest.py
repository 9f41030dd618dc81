from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.databases import sqlite_at_head
from tests.support.world import World, make_world

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test here starts real `vclient` processes: `slow`, so `make test` runs it in its
    # process phase (a conftest's own `pytestmark` marks nothing). The hook sees the whole
    # session's items: mark only ours.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.slow)


# Short heartbeats so presence tests take seconds, not the production 30 s.
FAST_PRESENCE = {"HEARTBEAT_SECONDS": "0.5", "PRESENCE_TTL_SECONDS": "2"}


@contextmanager
def world_of(
    request: pytest.FixtureRequest, tmp_path: Path, flavour: str, **env: str
) -> Iterator[World]:
    """memory: one process on SQLite; redis: two uvicorn workers on one Redis and one
    PostgreSQL (nothing sticky: tests spread their sockets over both)."""
    env = {**FAST_PRESENCE, **env}
    if flavour == "memory":
        with make_world(tmp_path, sqlite_at_head(tmp_path / "it.db"), None, 1, **env) as w:
            yield w
        return
    database_url = request.getfixturevalue("postgres_url")
    redis_url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    with make_world(tmp_path, database_url, redis_url, 2, REDIS_KEY_PREFIX=prefix, **env) as w:
        yield w


@pytest.fixture(params=["memory", "redis"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with world_of(request, tmp_path, request.param) as w:
        yield w


@pytest.fixture(params=["memory", "redis"])
def flavour(request: pytest.FixtureRequest) -> str:
    """For tests that build their own world (custom settings) on both backends."""
    value: str = request.param
    return value
