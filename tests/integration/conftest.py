from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.world import World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture(params=["memory", "redis"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """memory: one process on SQLite; redis: two uvicorn workers on one Redis and one
    PostgreSQL (nothing sticky: every test spreads its sockets over both)."""
    # Short heartbeats so presence tests take seconds, not the production 30 s.
    extra = {"HEARTBEAT_SECONDS": "0.5", "PRESENCE_TTL_SECONDS": "2"}
    if request.param == "memory":
        with make_world(tmp_path, f"sqlite:///{tmp_path / 'it.db'}", None, 1, **extra) as w:
            yield w
        return
    database_url = request.getfixturevalue("postgres_url")
    redis_url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    with make_world(tmp_path, database_url, redis_url, 2, REDIS_KEY_PREFIX=prefix, **extra) as w:
        yield w
