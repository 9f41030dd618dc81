"""The revocation channel's contract on every backend (in-process, real Redis, a local
Redis Cluster), and the per-worker :class:`Revoker` on top of it: a revocation on one
worker closes the matching sockets of another.

Redis: each call of ``Channels.make`` stands for another worker (own connections) on the
same key; in-process there is one channel per process, as in production."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from realtime.backends import BackendUnavailable, MemoryRevocations, Revocations
from realtime.backends.redis_revocations import RedisRevocations
from realtime.revocation import (
    LinkRevoked,
    LiveConnections,
    Revocation,
    RevocationGap,
    TeacherCredential,
    UserRevoked,
)
from realtime.revoker import Revoker
from realtime.vocabulary import CloseCode
from tests.realtime.contract.rt_helpers import WAIT

Item = Revocation | RevocationGap


class Channels:
    def __init__(self, kind: str, url: str | None, prefix: str | None) -> None:
        self.kind = kind
        self.url = url
        self.prefix = prefix
        self._made: list[Revocations] = []
        self._memory: dict[int, MemoryRevocations] = {}

    def make(self, kept: int = 1_000) -> Revocations:
        if self.kind == "memory":
            return self._memory.setdefault(kept, MemoryRevocations(kept=kept))
        assert self.url and self.prefix
        channel = RedisRevocations(self.url, key_prefix=self.prefix, kept=kept)
        self._made.append(channel)
        return channel

    async def aclose(self) -> None:
        for channel in self._made:
            await channel.aclose()


@pytest.fixture(params=["memory", "redis", "cluster"])
async def channels(request: pytest.FixtureRequest) -> AsyncIterator[Channels]:
    made = Channels("memory", None, None)
    if request.param != "memory":
        cluster = request.param == "cluster"
        url: Any = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
        prefix: Any = request.getfixturevalue("redis_cluster_prefix" if cluster else "redis_prefix")
        made = Channels("redis", url, prefix)
    try:
        yield made
    finally:
        await made.aclose()


def user(below: int = 2) -> UserRevoked:
    return UserRevoked(uuid.uuid4(), below=below)


async def take(feed: AsyncIterator[Item], n: int) -> list[Item]:
    async with asyncio.timeout(WAIT):
        return [await anext(feed) for _ in range(n)]


async def test_every_listener_hears_everything_published_after_it_began(
    channels: Channels,
) -> None:
    first, second = channels.make(), channels.make()
    before = user()
    await first.publish(before)
    sent: list[Revocation] = [user(), LinkRevoked(uuid.uuid4(), "f" * 32), user(below=9)]
    async with first.listen() as on_first, second.listen() as on_second:
        for n, revocation in enumerate(sent):
            await (first if n % 2 else second).publish(revocation)
        assert await take(on_first, 3) == sent
        assert await take(on_second, 3) == sent


async def test_a_listener_that_fell_behind_hears_a_gap_then_what_is_kept(
    channels: Channels,
) -> None:
    channel = channels.make(kept=10)
    sent = [user(below=n) for n in range(300)]
    async with channel.listen() as feed:
        for revocation in sent:  # the listener does not read meanwhile
            await channel.publish(revocation)
        gap = await take(feed, 1)
        assert isinstance(gap[0], RevocationGap), gap
        # Redis trims whole stream nodes (MAXLEN ~): it may keep more than asked.
        kept: list[Item] = []
        while not kept or kept[-1] != sent[-1]:
            kept += await take(feed, 1)
        assert 10 <= len(kept) < 300
        assert kept == sent[-len(kept) :]


async def test_leaving_and_listening_again_is_clean(channels: Channels) -> None:
    channel = channels.make()
    for _ in range(2):
        async with channel.listen() as feed:
            revocation = user()
            await channel.publish(revocation)
            assert await take(feed, 1) == [revocation]
    await channel.aclose()
    await channel.aclose()  # twice is safe


# -- Redis only -------------------------------------------------------------------------------


async def test_redis_losing_the_stream_is_a_gap(redis_url: str, redis_prefix: str) -> None:
    from redis.asyncio import Redis

    channel = RedisRevocations(redis_url, key_prefix=redis_prefix)
    admin = Redis.from_url(redis_url)
    try:
        async with channel.listen() as feed:
            await channel.publish(first := user())
            assert await take(feed, 1) == [first]
            await admin.delete(f"{redis_prefix}:revocations")  # Redis restarted empty
            gap = await take(feed, 1)
            assert isinstance(gap[0], RevocationGap), gap
            await channel.publish(after := user())
            assert await take(feed, 1) == [after]
            # An entry this worker cannot read (a newer worker's) is skipped.
            await admin.xadd(f"{redis_prefix}:revocations", {"r": '{"t": "future"}'})
            await channel.publish(last := user())
            assert await take(feed, 1) == [last]
    finally:
        await admin.aclose()
        await channel.aclose()


@pytest.mark.timing
async def test_redis_unreachable_publish_raises_and_listen_does_not_hang() -> None:
    channel = RedisRevocations("redis://127.0.0.1:9/0")  # discard port: nothing listens
    try:
        with pytest.raises(BackendUnavailable):
            await channel.publish(user())
        began = time.monotonic()
        async with channel.listen():
            assert time.monotonic() - began < 3
    finally:
        await channel.aclose()


# -- Revoker: one per worker ------------------------------------------------------------------


class Socket:
    def __init__(self) -> None:
        self.closed = asyncio.Event()
        self.codes: list[int] = []

    def revoke(self, code: int, reason: str) -> None:
        self.codes.append(code)
        self.closed.set()


@pytest.mark.timing
async def test_a_revocation_on_one_worker_closes_the_socket_held_by_another(
    channels: Channels,
) -> None:
    here = Revoker(channels.make(), LiveConnections())
    there = Revoker(channels.make(), LiveConnections())
    teacher = uuid.uuid4()
    old, current = Socket(), Socket()
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(here.running())
        await stack.enter_async_context(there.running())
        stack.enter_context(there.live.hold(TeacherCredential(teacher, 1), old))
        stack.enter_context(there.live.hold(TeacherCredential(teacher, 2), current))
        began = time.monotonic()
        assert await here.revoke(UserRevoked(teacher, below=2)) == 0  # none held here
        async with asyncio.timeout(1.0):
            await old.closed.wait()
        print(f"closed on the other worker after {(time.monotonic() - began) * 1000:.1f} ms")
    assert old.codes == [CloseCode.REVOKED] and current.codes == []


async def test_a_missed_revocation_makes_every_socket_reconnect() -> None:
    """In process, publishing 11 without yielding outruns a listener that keeps 10."""
    channel = MemoryRevocations(kept=10)
    revoker = Revoker(channel, LiveConnections())
    sock = Socket()
    async with revoker.running():
        with revoker.live.hold(TeacherCredential(uuid.uuid4(), 1), sock):
            for _ in range(11):
                await channel.publish(user())
            async with asyncio.timeout(WAIT):
                await sock.closed.wait()
    assert sock.codes == [CloseCode.RESTART]
