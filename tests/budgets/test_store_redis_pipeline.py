"""``snapshot_many`` on a standalone Redis: one pipeline per page of sessions, counted at
the socket (every write is one round trip), and scripts Redis lost are loaded again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

from realtime.budgets.redis_store import SNAPSHOT_PAGE, RedisBudgetStore
from realtime.budgets.store import BudgetSnapshot

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@contextmanager
def writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The first command of each write to a Redis socket while inside (a pipeline is one
    write, named by its first command; ``SCRIPT`` with its subcommand)."""
    names: list[str] = []
    send = AbstractConnection.send_packed_command

    async def counted(conn: AbstractConnection, command: Any, *args: Any, **kw: Any) -> None:
        first = command if isinstance(command, bytes | bytearray) else command[0]
        parts = bytes(first).decode().upper().split("\r\n")
        names.append(" ".join(parts[2:5:2]) if parts[2] == "SCRIPT" else parts[2])
        await send(conn, command, *args, **kw)

    with monkeypatch.context() as patched:
        patched.setattr(AbstractConnection, "send_packed_command", counted)
        yield names


def as_if_warm(names: list[str]) -> list[str]:
    """The writes as a Redis that kept its scripts would have seen them: a test running
    beside this one may ``SCRIPT FLUSH``, which costs a refused pipeline and a load."""
    kept: list[str] = []
    for name in names:
        if name == "SCRIPT LOAD" and kept:
            kept.pop()
        elif name != "SCRIPT LOAD":
            kept.append(name)
    return kept


async def test_snapshots_of_25_sessions_are_one_write(
    redis: Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisBudgetStore(redis, redis_prefix)
    sids = [str(uuid.uuid4()) for _ in range(25)]
    for n, sid in enumerate(sids[1:]):
        await store.ensure(sid, 1_000, n)
    await store.snapshot_many(sids[:1])  # Redis knows the script from here on
    with writes(monkeypatch) as sent:
        found = await store.snapshot_many(sids)
    assert found == [None] + [BudgetSnapshot(1_000, n, 0) for n in range(24)]
    # 25 before: one EVALSHA each. Not two either: a pipeline given the script through
    # redis-py's Script(client=pipe) first asks SCRIPT EXISTS, each time.
    assert as_if_warm(sent) == ["EVALSHA"], sent
    with writes(monkeypatch) as sent:
        await store.snapshot_many((sids * SNAPSHOT_PAGE)[: SNAPSHOT_PAGE + 1])  # two pages
    assert as_if_warm(sent) == ["EVALSHA", "EVALSHA"], sent


async def test_lost_scripts_are_loaded_and_the_page_sent_again(
    redis: Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisBudgetStore(redis, redis_prefix)
    sids = [str(uuid.uuid4()) for _ in range(3)]
    await store.ensure(sids[0], 1_000, 10)
    await store.snapshot_many(sids)
    await redis.script_flush()  # as after a Redis restart
    with writes(monkeypatch) as sent:
        found = await store.snapshot_many(sids)
    assert found == [BudgetSnapshot(1_000, 10, 0), None, None]
    # The page Redis refused with NOSCRIPT, the script's load, and the page again.
    assert sent == ["EVALSHA", "SCRIPT LOAD", "EVALSHA"]
