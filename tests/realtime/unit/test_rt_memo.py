"""The say path's per-worker memos, on a driven clock."""

from __future__ import annotations

import asyncio

import pytest

from realtime.memo import Throttle, TtlMemo
from tests.support.clock import DrivenClock


async def test_a_value_is_loaded_once_per_ttl_and_a_failed_load_is_not_kept() -> None:
    clock, loads = DrivenClock(), []

    async def load() -> int:
        loads.append(clock.now)
        return len(loads)

    memo: TtlMemo[str, int] = TtlMemo(5.0, clock=clock)
    assert [await memo.get("a", load) for _ in range(3)] == [1, 1, 1]
    clock.now += 4.9
    assert await memo.get("a", load) == 1
    clock.now += 0.1
    assert await memo.get("a", load) == 2
    assert await memo.get("b", load) == 3

    async def fail() -> int:
        raise RuntimeError("database down")

    memo.forget("a")
    with pytest.raises(RuntimeError):
        await memo.get("a", fail)
    assert await memo.get("a", load) == 4


async def test_a_zero_ttl_loads_every_time_and_the_memo_is_bounded() -> None:
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        return calls

    every: TtlMemo[str, int] = TtlMemo(0.0)
    assert [await every.get("a", load) for _ in range(3)] == [1, 2, 3]
    clock = DrivenClock()
    small: TtlMemo[int, int] = TtlMemo(60.0, max_keys=2, clock=clock)
    for key in (1, 2, 1, 3):  # 1 was used last, so 2 goes
        await small.get(key, load)
    before = calls
    await small.get(1, load)
    await small.get(3, load)
    assert calls == before
    await small.get(2, load)
    assert calls == before + 1


def test_throttle_is_due_once_per_period_per_key_and_reset_makes_it_due() -> None:
    clock = DrivenClock()
    throttle: Throttle[str] = Throttle(10.0, clock=clock)
    assert [throttle.due("s"), throttle.due("s"), throttle.due("t")] == [True, False, True]
    clock.now += 9.99
    assert not throttle.due("s")
    clock.now += 0.01
    assert throttle.due("s")
    throttle.reset("s")
    assert throttle.due("s")


class GatedLoads:
    """A load that notes when it began (by the driven clock), signals ``begun`` and
    answers how many loads there were once ``gate`` opens."""

    def __init__(self, clock: DrivenClock) -> None:
        self.clock = clock
        self.loads: list[float] = []
        self.gate, self.begun = asyncio.Event(), asyncio.Event()

    async def load(self) -> int:
        self.loads.append(self.clock.now)
        self.begun.set()
        await self.gate.wait()
        return len(self.loads)


async def test_a_stale_value_is_usable_for_a_while_and_refreshed_once_at_a_time() -> None:
    clock = DrivenClock()
    gated = GatedLoads(clock)
    loads, gate, begun, load = gated.loads, gated.gate, gated.begun, gated.load

    memo: TtlMemo[str, int] = TtlMemo(1.0, stale_for=2.0, clock=clock)
    assert memo.usable("a") is None
    await memo.refresh("a", load)  # nothing held: left to the next get
    assert loads == []
    gate.set()
    assert await memo.get("a", load) == 1
    clock.now += 0.9
    await memo.refresh("a", load)  # still fresh
    assert (memo.usable("a"), len(loads)) == (1, 1)
    clock.now += 2.0  # 2.9 s old: stale, still usable
    assert memo.usable("a") == 1
    gate.clear()
    begun.clear()
    burst = [asyncio.create_task(memo.refresh("a", load)) for _ in range(3)]
    await asyncio.wait_for(begun.wait(), 5.0)
    assert len(loads) == 2  # one load for the burst
    gate.set()
    await asyncio.gather(*burst)
    assert (memo.usable("a"), len(loads)) == (2, 2)
    clock.now += 3.0  # 3 s old: past ttl + stale_for
    assert memo.usable("a") is None


async def test_callers_that_miss_together_share_one_load() -> None:
    """16 welcomes at once on a key nobody holds yet: one load, not 16 (each had taken a
    pooled connection, growing the pool by the burst)."""
    clock = DrivenClock()
    gated = GatedLoads(clock)
    loads, gate, begun, load = gated.loads, gated.gate, gated.begun, gated.load

    memo: TtlMemo[str, int] = TtlMemo(5.0, clock=clock)
    callers = [asyncio.create_task(memo.get("profile", load)) for _ in range(16)]
    await asyncio.wait_for(begun.wait(), 5.0)
    gate.set()
    assert await asyncio.wait_for(asyncio.gather(*callers), 5.0) == [1] * 16
    assert len(loads) == 1
