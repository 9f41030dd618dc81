"""Overload on one worker (realtime.replyslots through the hub and the runner), with real
parts on both backends: SQLite + the in-process backend, PostgreSQL + Redis. The upstream
is the scripted provider held at a gate, so "streaming" lasts exactly as long as a test
wants; no sleeps but where the passing of leases is what is tested."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llm.scripted import ScriptedProvider
from realtime.backends import MemoryBackend, RealtimeBackend
from realtime.budgetreport import BudgetReport
from realtime.budgets import BudgetStore, MemoryBudgetStore
from realtime.config import RealtimeConfig
from realtime.control import SessionControl
from realtime.conversation import ReplyRunner
from realtime.hub import Hub
from realtime.lifecycle import SessionAction
from realtime.metrics import NullObserver
from realtime.protocol import ErrorEvent, MessageEvent, ReplyDone, ReplyStart, SequencedEvent
from realtime.sessionlog import SessionLog
from realtime.transitions import TransitionHooks
from realtime.vocabulary import Role
from storage.db import Database
from tests.hub.hooked import HookedProvider
from tests.hub.rig import Rig, new_session
from tests.support.databases import sqlite_at_head

WAIT = 10.0
#: The reply lease of the rig: the product's default. A say that outlasts a quarter of it
#: while it opens renews it, and one whose lease lapsed is refused: at 0.4 s (this file's
#: lease until 2026-12-04) a loaded machine's first say on PostgreSQL lapsed once.
LEASE = RealtimeConfig().reply_lock_seconds
#: Short, for the test of time passing beyond two leases: under 3 s of waiting.
SHORT_LEASE = 1.0


class Gate(HookedProvider):
    """The upstream's pace: every word waits until the gate opens; counts the calls."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.reached = asyncio.Event()
        self.calls = 0
        # Any pace, so that every word passes the gate (the "sleep" is the gate).
        super().__init__(ScriptedProvider(1.0, sleep=self._word), on_call=self._called)

    def _called(self) -> None:
        self.calls += 1

    async def _word(self, _seconds: float) -> None:
        self.reached.set()
        await self.opened.wait()


class Counting(NullObserver):
    def __init__(self) -> None:
        self.waiting: list[int] = []
        self.busy = 0

    def replies_waiting(self, count: int) -> None:
        self.waiting.append(count)

    def say_busy(self) -> None:
        self.busy += 1


@dataclass
class Overload:
    rig: Rig
    gate: Gate
    observer: Counting


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(database URL at head, Redis URL or "", key prefix or "") for one backend."""
    if request.param == "memory":
        yield sqlite_at_head(tmp_path / "overload.db"), "", ""
        return
    yield (
        request.getfixturevalue("postgres_url"),
        request.getfixturevalue("redis_url"),
        request.getfixturevalue("redis_prefix"),
    )


@pytest.fixture
def lease() -> float:
    return LEASE


@pytest.fixture
async def overload(stores: tuple[str, str, str], lease: float) -> AsyncIterator[Overload]:
    url, redis_url, prefix = stores
    db = Database(url)
    backend: RealtimeBackend
    budgets: BudgetStore
    redis = None
    if redis_url:
        from redis.asyncio import Redis

        from realtime.backends.redis import RedisBackend
        from realtime.budgets.redis_store import RedisBudgetStore

        backend = RedisBackend(redis_url, key_prefix=prefix)
        redis = Redis.from_url(redis_url, decode_responses=True)
        budgets = RedisBudgetStore(redis, prefix)
    else:
        backend, budgets = MemoryBackend(), MemoryBudgetStore()
    # One slot, a queue of one: the second reply waits, the third say is busy.
    config = RealtimeConfig(max_streaming_replies=1, reply_queue_size=1, reply_lock_seconds=lease)
    control = SessionControl(db)
    log = SessionLog(backend, db)
    report = BudgetReport(budgets, log, control)
    hooks = TransitionHooks(log, report, config.stop_grace_seconds)
    control.before_terminal.append(hooks.before_terminal)
    control.after_transition.append(hooks.after_transition)
    gate, observer = Gate(), Counting()
    runner = ReplyRunner(
        log=log,
        budgets=budgets,
        provider=gate,
        control=control,
        db=db,
        config=config,
        observer=observer,
    )
    hub = Hub(db=db, log=log, budgets=budgets, runner=runner, control=control, config=config)
    rig = Rig(db, backend, budgets, control, log, report, runner, hub)  # type: ignore[arg-type]
    try:
        yield Overload(rig, gate, observer)
    finally:
        gate.opened.set()
        await runner.aclose(grace=WAIT)  # replies finish (not cut mid-SQL)
        await backend.aclose()
        if redis is not None:
            await redis.aclose()
        await db.aclose()


async def events_of(rig: Rig, sid: uuid.UUID) -> list[SequencedEvent]:
    return await rig.backend.read(str(sid), 0, 1_000)


async def say(rig: Rig, sid: uuid.UUID, text: str) -> str:
    """Say ``text`` (accepted) and return its reply's id."""
    assert await rig.hub.say(sid, text, uuid.uuid4().hex) is None
    starts = [e for e in await events_of(rig, sid) if isinstance(e, ReplyStart)]
    return starts[-1].reply_id


async def ended(rig: Rig, sid: uuid.UUID, reply_id: str) -> ReplyDone:
    assert await rig.log.wait_ended(sid, reply_id, WAIT)
    (done,) = [
        e for e in await events_of(rig, sid) if isinstance(e, ReplyDone) and e.reply_id == reply_id
    ]
    return done


async def streaming_and_queued(o: Overload) -> tuple[uuid.UUID, str, uuid.UUID, str]:
    """Session A's reply holds the one slot at the gate; session B's waits in the queue."""
    rig = o.rig
    a, b = await new_session(rig), await new_session(rig)
    a_reply = await say(rig, a, "How are you today?")
    await asyncio.wait_for(o.gate.reached.wait(), WAIT)
    b_reply = await say(rig, b, "What brings you here?")
    assert rig.runner.slots.waiting == 1 and o.gate.calls == 1
    return a, a_reply, b, b_reply


async def test_a_reply_waits_for_the_slot_and_a_say_past_the_queue_is_busy(
    overload: Overload,
) -> None:
    o, rig = overload, overload.rig
    a, a_reply, b, b_reply = await streaming_and_queued(o)
    c = await new_session(rig)
    refused = await rig.hub.say(c, "Hello?", "c-1")
    assert isinstance(refused, ErrorEvent) and refused.code == "busy"
    assert "few seconds" in refused.message
    # Nothing of the refused say: no message, no reply, no hold, no lock.
    assert not [e for e in await events_of(rig, c) if isinstance(e, MessageEvent | ReplyStart)]
    assert (await rig.budgets.snapshot(str(c))).reserved == 0
    assert await rig.backend.current_reply(str(c)) is None
    # B's say was accepted (its message is logged) though its reply has not begun.
    b_said = [e for e in await events_of(rig, b) if isinstance(e, MessageEvent)]
    assert [m.text for m in b_said] == ["What brings you here?"]
    o.gate.opened.set()
    assert (await ended(rig, a, a_reply)).text
    done = await ended(rig, b, b_reply)
    assert done.text and not done.stopped and o.gate.calls == 2
    assert (o.observer.busy, max(o.observer.waiting), rig.runner.slots.waiting) == (1, 1, 0)
    # With the slot free again, the refused say goes through when sent again.
    assert await rig.hub.say(c, "Hello?", "c-1") is None


@pytest.mark.parametrize("lease", [SHORT_LEASE])
async def test_a_queued_reply_keeps_its_lease_past_two_leases(
    overload: Overload, lease: float
) -> None:
    o, rig = overload, overload.rig
    a, a_reply, b, b_reply = await streaming_and_queued(o)
    await asyncio.sleep(2.5 * lease)  # the time passing is what is tested
    # Orphan repair (what a socket runs on a silent open reply) leaves both alone.
    assert await rig.log.repair(b, lease) == 0
    assert await rig.log.repair(a, lease) == 0
    assert await rig.backend.current_reply(str(b)) == b_reply
    assert not (await rig.log.view(b))[1].has_ended(b_reply)
    o.gate.opened.set()
    assert (await ended(rig, b, b_reply)).text
    assert (await ended(rig, a, a_reply)).text


async def test_a_queued_reply_stops_or_ends_with_its_session_without_reaching_upstream(
    overload: Overload,
) -> None:
    o, rig = overload, overload.rig
    a, a_reply, b, b_reply = await streaming_and_queued(o)
    assert await rig.hub.stop(b, Role.STUDENT, b_reply) is None
    done = await ended(rig, b, b_reply)
    assert done.stopped and done.text == "" and done.usage.output_tokens == 0
    assert rig.runner.slots.waiting == 0 and o.gate.calls == 1
    assert (await rig.budgets.snapshot(str(b))).reserved == 0
    # Queued again, then the teacher ends the session: the reply ends, the session too.
    again = await say(rig, b, "Are you still there?")
    assert rig.runner.slots.waiting == 1
    await rig.control.transition(b, SessionAction.END, actor="t", reason="teacher")
    assert (await ended(rig, b, again)).stopped
    assert (await rig.control.load(b)).status == "completed"
    assert rig.runner.slots.waiting == 0 and o.gate.calls == 1
    o.gate.opened.set()
    assert (await ended(rig, a, a_reply)).text


async def test_a_queued_reply_stops_when_its_session_pauses(overload: Overload) -> None:
    o, rig = overload, overload.rig
    _, _, b, b_reply = await streaming_and_queued(o)
    await rig.control.transition(b, SessionAction.PAUSE, actor="t")
    assert (await ended(rig, b, b_reply)).stopped
    assert rig.runner.slots.waiting == 0 and o.gate.calls == 1


async def test_a_say_right_after_reply_done_is_accepted_while_the_lock_is_still_held(
    overload: Overload,
) -> None:
    """The moment between a reply's end reaching the log and its runner releasing the
    lock: a say then is accepted, not refused ``reply_in_progress``."""
    o, rig = overload, overload.rig
    o.gate.opened.set()
    a = await new_session(rig)
    first = await say(rig, a, "Hello.")
    await rig.runner.aclose(grace=WAIT)  # the first reply's runner is all done
    # Stand for the runner that has logged the end and not yet released its lock.
    assert await rig.backend.acquire_reply(str(a), first, 30)
    second = await say(rig, a, "And then?")
    assert second != first and (await ended(rig, a, second)).text
    await rig.runner.aclose(grace=WAIT)  # its end is logged before its lock is released
    # A holder whose end is not logged still refuses.
    assert await rig.backend.acquire_reply(str(a), "running-elsewhere", 30)
    refused = await rig.hub.say(a, "Now?", uuid.uuid4().hex)
    assert isinstance(refused, ErrorEvent) and refused.code == "reply_in_progress"
