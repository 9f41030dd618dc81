"""IdlePing on real PostgreSQL, reached through a TCP proxy that can cut every connection:
a connection used within the idle window is handed out unpinged; one idle longer is
pinged, and a dead one is replaced before the caller sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import Database, make_engine
from storage.idle_ping import IDLE_PING_SECONDS, IdlePing
from tests.support.clock import DrivenClock
from tests.support.tcpproxy import TcpProxy, running_proxy

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied_url(postgres_url: str) -> Iterator[tuple[str, TcpProxy]]:
    real = make_url(postgres_url)
    with running_proxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        through = real.set(host="127.0.0.1", port=proxy.port)
        yield through.render_as_string(hide_password=False), proxy


@dataclass
class Pinged:
    engine: AsyncEngine
    ping: IdlePing
    clock: DrivenClock
    proxy: TcpProxy


@asynccontextmanager
async def pinged(proxied: tuple[str, TcpProxy], pool_size: int) -> AsyncIterator[Pinged]:
    """An engine through the proxy, its pool ``pool_size`` connections, pinged on a
    driven clock."""
    url, proxy = proxied
    clock = DrivenClock()
    engine = make_engine(url, pool_size=pool_size, max_overflow=0)
    try:
        yield Pinged(engine, IdlePing(engine, clock=clock), clock, proxy)
    finally:
        await engine.dispose()


async def _one(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT 1"))).scalar_one())


async def test_a_busy_connection_is_not_pinged_and_an_idle_one_is(
    proxied_url: tuple[str, TcpProxy],
) -> None:
    async with pinged(proxied_url, pool_size=1) as it:
        engine, ping, clock = it.engine, it.ping, it.clock
        for _ in range(5):
            assert await _one(engine) == 1
            clock.now += IDLE_PING_SECONDS / 2
        assert (ping.pings, ping.dead) == (0, 0)  # the one connection, reused in the window
        clock.now += IDLE_PING_SECONDS
        assert await _one(engine) == 1
        assert (ping.pings, ping.dead) == (1, 0)
        assert await _one(engine) == 1  # the ping counted as a use
        assert ping.pings == 1


async def test_a_connection_that_died_while_idle_is_replaced_unseen(
    proxied_url: tuple[str, TcpProxy],
) -> None:
    async with pinged(proxied_url, pool_size=2) as it:
        engine, ping, clock, proxy = it.engine, it.ping, it.clock, it.proxy
        async with engine.connect() as a, engine.connect() as b:  # two pooled connections
            await a.execute(text("SELECT 1"))
            await b.execute(text("SELECT 1"))
        proxy.cut()  # a restart, a proxy's idle timeout: both pooled connections die
        proxy.restore()
        clock.now += IDLE_PING_SECONDS * 2
        assert await _one(engine) == 1  # the dead one was pinged and replaced
        assert (ping.pings, ping.dead) == (1, 1)
        # The failed ping replaced every older connection too: the second is new, unpinged.
        async with engine.connect() as a, engine.connect() as b:
            await a.execute(text("SELECT 1"))
            await b.execute(text("SELECT 1"))
        assert (ping.pings, ping.dead) == (1, 1)


async def test_a_connection_cut_within_the_window_fails_once(
    proxied_url: tuple[str, TcpProxy],
) -> None:
    """The price of skipping the ping: a cut in the last second (the outage itself) costs
    the next statement, and only that one."""
    async with pinged(proxied_url, pool_size=1) as it:
        engine, ping, proxy = it.engine, it.ping, it.proxy
        assert await _one(engine) == 1
        proxy.cut()
        proxy.restore()
        with pytest.raises(DBAPIError) as lost:
            await _one(engine)
        assert lost.value.connection_invalidated
        assert await _one(engine) == 1
        assert ping.pings == 0


async def test_the_database_pings_only_after_idle(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        assert db.idle_ping is not None
        assert not db.engine.sync_engine.pool._pre_ping  # every checkout would ping again
        for _ in range(3):
            async with db.session() as s:
                await s.execute(text("SELECT 1"))
        assert db.idle_ping.pings == 0
    finally:
        await db.aclose()
