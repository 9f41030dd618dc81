"""A script pipe (``ScriptPipe``) whose connection runs through a proxy that can hold
Redis's answers, so a call stays "in flight" (written, run, unanswered) exactly as long
as a test says; the script's runs are counted in Redis itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from realtime.backends.redis_pool import redis_client
from realtime.backends.redis_scripts import ScriptPipe
from realtime.backends.redis_wire import Wire
from tests.realtime.contract.rt_helpers import eventually
from tests.support.tcpproxy import TcpProxy, running_proxy

__all__ = ["COUNTING", "Rig", "in_flight", "make_rig", "proxied", "rig"]

#: Counts its runs in KEYS[1]; fails like the append script when KEYS[2] is missing.
COUNTING = """
if redis.call('EXISTS', KEYS[2]) == 0 then return redis.error_reply('NOLOG gone') end
redis.call('INCR', KEYS[1])
return ARGV[1]
"""


def proxied(redis_url: str) -> tuple[str, int]:
    host, _, port = redis_url.split("//", 1)[1].split("/", 1)[0].partition(":")
    return host, int(port or 6379)


class Rig:
    """A pipe whose connection runs through a proxy that can hold Redis's answers, and a
    direct client to read what ran."""

    def __init__(self, redis_url: str, proxy: TcpProxy, prefix: str, **options: Any) -> None:
        self.proxy = proxy
        self.redis: Redis = Redis.from_url(redis_url, decode_responses=True)
        # Made as a worker makes its client.
        proxied = redis_client(
            f"redis://127.0.0.1:{proxy.port}/0", decode_responses=True, **options
        )
        assert isinstance(proxied, Redis)
        self.proxied = proxied
        self.pipe = ScriptPipe(self.proxied)
        self.counting = self.proxied.register_script(COUNTING)
        self.runs, self.log = f"{prefix}:runs", f"{prefix}:log"

    def run(self, value: str, *, log: str | None = None) -> asyncio.Future[Any]:
        keys = [self.runs, log or self.log]
        return asyncio.ensure_future(self.pipe.run(self.counting, keys, [value]))

    @property
    def wire(self) -> Wire:
        assert self.pipe.wire is not None
        return self.pipe.wire

    async def count(self) -> int:
        return int(await self.redis.get(self.runs) or 0)

    async def counted(self, n: int) -> None:
        await eventually(lambda: _counted(self, n))

    async def aclose(self) -> None:
        await self.pipe.aclose()
        await self.proxied.aclose()
        await self.redis.aclose()


async def _counted(rig: Rig, n: int) -> bool:
    return await rig.count() == n


async def make_rig(redis_url: str, proxy: TcpProxy, prefix: str, **options: Any) -> Rig:
    made = Rig(redis_url, proxy, prefix, **options)
    await made.redis.set(made.log, "1")
    await made.run("warm")  # the connection, and the script loaded, before any hold
    await made.redis.delete(made.runs)
    return made


async def in_flight(rig: Rig) -> asyncio.Future[Any]:
    """A call that ran and whose answer the proxy holds until ``release_replies``."""
    rig.proxy.hold_replies()
    first = rig.run("first")
    await rig.counted(1)
    return first


@pytest.fixture
async def rig(redis_url: str, redis_prefix: str) -> AsyncIterator[Rig]:
    with running_proxy(*proxied(redis_url)) as proxy:
        made = await make_rig(redis_url, proxy, redis_prefix)
        try:
            yield made
        finally:
            await made.aclose()
