"""Shared reads: one read per key in flight; whoever arrives while it runs shares the next
one, begun after they all arrived; failures reach every caller; a caller cancelled while
it waits takes nothing down with it. Driven by events with timeouts; one loop turn
(``sleep(0)``) lets new callers take their first step, which asyncio runs in order."""

from __future__ import annotations

import asyncio
import contextvars
import gc

import pytest

from realtime.sharedread import SharedReads

TIMEOUT = 5.0


class Store:
    """A value that changes, read through gated loads: each load records the value as it
    was when the load began and returns it when the test opens its gate."""

    def __init__(self) -> None:
        self.value = 0
        self.begun: list[int] = []
        self.gates: list[asyncio.Event] = []
        self.started = asyncio.Event()

    async def load(self) -> int:
        seen = self.value
        gate = asyncio.Event()
        self.begun.append(seen)
        self.gates.append(gate)
        self.started.set()
        await gate.wait()
        if seen < 0:
            raise LookupError("gone")
        return seen

    async def next_load(self, count: int) -> None:
        """Wait until ``count`` loads have begun."""
        async with asyncio.timeout(TIMEOUT):
            while len(self.begun) < count:
                self.started.clear()
                await self.started.wait()


async def test_callers_arriving_during_a_read_share_the_next_one_which_sees_their_change() -> None:
    reads: SharedReads[str, int] = SharedReads()
    store = Store()
    first = asyncio.ensure_future(reads.read("s", store.load))
    await store.next_load(1)
    # A change lands, then three callers arrive: the read under way began before it.
    store.value = 1
    late = [asyncio.ensure_future(reads.read("s", store.load)) for _ in range(3)]
    await asyncio.sleep(0)
    assert reads.in_flight == 1 and len(store.begun) == 1  # nobody joined the running one
    store.gates[0].set()
    assert await asyncio.wait_for(first, TIMEOUT) == 0
    await store.next_load(2)
    store.gates[1].set()
    assert await asyncio.wait_for(asyncio.gather(*late), TIMEOUT) == [1, 1, 1]
    assert store.begun == [0, 1]  # two reads for four callers
    assert reads.in_flight == 0


REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="-")


async def test_each_read_runs_as_the_caller_that_opened_it() -> None:
    """Its statements and logs name a request that asked (a storm's one query per
    reconnect, counted per request, stays one)."""
    reads: SharedReads[str, str] = SharedReads()
    gate, started = asyncio.Event(), asyncio.Event()

    async def load() -> str:
        started.set()
        await gate.wait()
        return REQUEST.get()

    async def ask(request: str) -> str:
        REQUEST.set(request)
        return await reads.read("s", load)

    first = asyncio.ensure_future(ask("a"))
    await asyncio.wait_for(started.wait(), TIMEOUT)
    later = [asyncio.ensure_future(ask(name)) for name in ("b", "c")]
    gate.set()
    assert await asyncio.wait_for(first, TIMEOUT) == "a"
    assert await asyncio.wait_for(asyncio.gather(*later), TIMEOUT) == ["b", "b"]


async def test_keys_are_read_apart() -> None:
    reads: SharedReads[str, int] = SharedReads()
    store = Store()
    a = asyncio.ensure_future(reads.read("a", store.load))
    b = asyncio.ensure_future(reads.read("b", store.load))
    await store.next_load(2)
    assert reads.in_flight == 2
    for gate in store.gates:
        gate.set()
    assert list(await asyncio.wait_for(asyncio.gather(a, b), TIMEOUT)) == [0, 0]


async def test_a_failed_read_fails_everyone_who_shared_it_and_the_next_caller_reads_again() -> None:
    reads: SharedReads[str, int] = SharedReads()
    store = Store()
    store.value = -1
    callers = [asyncio.ensure_future(reads.read("s", store.load)) for _ in range(3)]
    await store.next_load(1)
    store.gates[0].set()
    results = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), TIMEOUT)
    assert [type(r) for r in results] == [LookupError] * 3
    store.value = 2
    again = asyncio.ensure_future(reads.read("s", store.load))
    await store.next_load(2)
    store.gates[1].set()
    assert await asyncio.wait_for(again, TIMEOUT) == 2


async def test_a_cancelled_caller_leaves_the_read_to_the_others() -> None:
    reads: SharedReads[str, int] = SharedReads()
    store = Store()
    leaving = asyncio.ensure_future(reads.read("s", store.load))
    staying = asyncio.ensure_future(reads.read("s", store.load))
    await store.next_load(1)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    store.gates[0].set()
    assert await asyncio.wait_for(staying, TIMEOUT) == 0
    assert store.begun == [0]


async def test_a_failure_nobody_waits_for_is_not_reported_unretrieved() -> None:
    reported: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        reads: SharedReads[str, int] = SharedReads()
        store = Store()
        store.value = -1
        caller = asyncio.ensure_future(reads.read("s", store.load))
        await store.next_load(1)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        store.gates[0].set()
        # A later read begins only once the failed one has ended.
        store.value = 3
        after = asyncio.ensure_future(reads.read("s", store.load))
        await store.next_load(2)
        store.gates[1].set()
        assert await asyncio.wait_for(after, TIMEOUT) == 3
        gc.collect()  # an unretrieved exception is reported when its future is freed
        assert reported == []
    finally:
        loop.set_exception_handler(None)


async def test_the_last_caller_cancelled_cancels_the_read() -> None:
    """A read nobody waits for must not outlive its callers (a shut-down server's read
    went on to start SQL after its database had closed)."""
    reads: SharedReads[str, int] = SharedReads()
    store, cancelled = Store(), asyncio.Event()

    async def load() -> int:
        try:
            return await store.load()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    callers = [asyncio.ensure_future(reads.read("s", load)) for _ in range(2)]
    await store.next_load(1)
    callers[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await callers[0]
    assert not cancelled.is_set()  # one caller still waits
    callers[1].cancel()
    with pytest.raises(asyncio.CancelledError):
        await callers[1]
    await asyncio.wait_for(cancelled.wait(), TIMEOUT)
    assert reads.in_flight == 0
