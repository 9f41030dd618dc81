"""Shared fixtures: real PostgreSQL and Redis servers.

With ``CI=true`` a missing server fails the test instead of skipping it, so a
green CI always means the real-server tests ran.
"""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: ``database_url`` (SQLite, then PostgreSQL) for the suites that run on each database;
#: a module or conftest that defines its own keeps it.
pytest_plugins = ("tests.support.databases",)

IN_CI = os.environ.get("CI", "").lower() == "true"
#: Tests that open real sockets to server processes or browsers.
PROCESS_MARKERS = ("slow", "browser")


@pytest.fixture(autouse=True)
def collect_own_garbage(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that opens real sockets, collect its garbage in its own teardown.

    A socket a test leaves open (as one that fails midway may) warns when the collector
    finds it, and warnings are errors here: found during a later test, that warning failed
    the later test instead (stop 32's CI: two innocent tests after a failed one). Collected
    here, it is reported on the test that left it. ~170 such tests, tens of ms each."""
    yield
    if any(request.node.get_closest_marker(name) for name in PROCESS_MARKERS):
        gc.collect()


def require_service(what: str, error: BaseException) -> None:
    message = f"{what} is not reachable: {error!r}"
    if IN_CI:
        pytest.fail(message + " (CI=true: real-server tests must run)", pytrace=False)
    pytest.skip(message)


def _redis_url() -> str:
    return (
        os.environ.get("TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/0"
    )


def _postgres_admin_dsn() -> str:
    """A plain ``postgresql://`` DSN to a database we may create databases from."""
    url = os.environ.get("TEST_POSTGRES_URL") or os.environ.get("DATABASE_URL") or ""
    if not url.startswith("postgresql"):
        url = "postgresql://postgres@127.0.0.1:5432/postgres"
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis server; tests must isolate themselves by key prefix."""
    import redis

    url = _redis_url()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
    except Exception as error:  # any connection failure means "not there"
        require_service("Redis", error)
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix for one test; its keys are deleted afterwards."""
    import redis

    prefix = f"vctest{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A command client on the real Redis server (decoded answers), closed after the test."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def _create_database(admin_dsn: str, name: str, template: str | None = None) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()


async def _drop_database(admin_dsn: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextmanager
def _new_database(admin_dsn: str, template: str | None = None) -> Iterator[str]:
    """A brand-new database (a copy of ``template`` if given), dropped afterwards; its
    SQLAlchemy async URL (``postgresql+asyncpg://``)."""
    name = f"vctest_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_database(admin_dsn, name, template))
    base, _, _ = admin_dsn.rpartition("/")
    try:
        yield base.replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    finally:
        asyncio.run(_drop_database(admin_dsn, name))


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> str:
    dsn = _postgres_admin_dsn()
    try:
        asyncio.run(_probe_postgres(dsn))
    except Exception as error:
        require_service("PostgreSQL", error)
    return dsn


async def _probe_postgres(dsn: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=3)
    await conn.close()


@pytest.fixture
def empty_postgres_url(postgres_admin_dsn: str) -> Iterator[str]:
    """A brand-new, empty PostgreSQL database for one test, dropped afterwards."""
    with _new_database(postgres_admin_dsn) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_dsn: str) -> Iterator[str]:
    """A database migrated to head once per test process, for ``postgres_url`` to copy.
    Nothing else connects to it: PostgreSQL copies only a template nobody is using."""
    from storage.migrate import upgrade

    with _new_database(postgres_admin_dsn) as url:
        asyncio.run(upgrade(url))
        yield url.rpartition("/")[2]


@pytest.fixture
def postgres_url(postgres_admin_dsn: str, postgres_template: str) -> Iterator[str]:
    """A brand-new PostgreSQL database at the schema's head for one test (a copy of
    ``postgres_template``), dropped afterwards. An SQLAlchemy async URL."""
    with _new_database(postgres_admin_dsn, postgres_template) as url:
        yield url
