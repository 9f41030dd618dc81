"""Contract: a deployment-wide duty (the flusher's scans, the watchdog's) has one holder
at a time across workers; its holder renews or gives it up, and a lapsed one is taken."""

from __future__ import annotations

import asyncio

import pytest

from tests.realtime.contract.rt_helpers import Workers, eventually

pytestmark = pytest.mark.redis


async def test_a_duty_has_one_holder_at_a_time(workers: Workers) -> None:
    a, b = workers.make(), workers.make()
    # Taken at once by many: exactly one wins.
    won = await asyncio.gather(
        *(w.hold_duty("flusher", f"h{i}", 30) for i, w in enumerate([a, b] * 3))
    )
    assert sorted(won) == [False] * 5 + [True]
    holder = f"h{won.index(True)}"
    assert await b.hold_duty("flusher", holder, 30)  # the holder renews
    assert not await a.hold_duty("flusher", "late", 30)
    await a.release_duty("flusher", "late")  # not the holder: nothing happens
    assert not await b.hold_duty("flusher", "late", 30)
    # Duties are apart: the watchdog's is free.
    assert await a.hold_duty("watchdog", "late", 30)
    await b.release_duty("flusher", holder)
    assert await a.hold_duty("flusher", "late", 30)
    assert not await b.hold_duty("flusher", holder, 30)


async def test_a_lapsed_duty_is_taken_by_the_next(workers: Workers) -> None:
    a, b = workers.make(), workers.make()
    assert await a.hold_duty("flusher", "gone", 30)
    assert not await b.hold_duty("flusher", "next", 30)
    # Its last renewal is short, and then it stops renewing. (Taken short at first, the
    # lease could lapse before the refusal above on a loaded machine: CI's Cluster did.)
    assert await a.hold_duty("flusher", "gone", 0.05)
    await eventually(lambda: b.hold_duty("flusher", "next", 30))
    assert not await a.hold_duty("flusher", "gone", 30)  # it came back too late
