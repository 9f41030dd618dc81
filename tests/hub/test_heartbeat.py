"""The process's presence heartbeat and orphan sweep, driven one pass at a time (no
sockets, no sleeps): the in-process backend and SQLite, a clock moved by hand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from realtime.config import RealtimeConfig
from realtime.events import Presence, PresenceEvent, ReplyError, ReplyStart, SequencedEvent
from realtime.heartbeat import Heartbeat
from realtime.lifecycle import SessionAction
from realtime.vocabulary import Role
from tests.hub.socket_rig import LEASE, TTL, Rig, Sock, open_rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as rig:
        yield rig


def presences(events: list[SequencedEvent]) -> list[PresenceEvent]:
    return [e for e in events if isinstance(e, PresenceEvent)]


async def test_one_beat_keeps_every_registered_socket_present_and_a_left_one_lapses(
    rig: Rig,
) -> None:
    a, b = await rig.new_session(), await rig.new_session()
    socks = [Sock(a, Role.STUDENT), Sock(a), Sock(b)]
    for sock in socks:
        await rig.join(sock)
    assert len(rig.heartbeat) == 3
    rig.heartbeat.unregister(socks[1])  # closed without its leave landing (killed)
    rig.clock.now += TTL - 5
    await rig.heartbeat.beat()
    rig.clock.now += 10  # past the joins' TTL, within the beat's
    assert await rig.board.current(a) == Presence(student_online=True, observers=0)
    assert await rig.board.current(b) == Presence(student_online=False, observers=1)
    assert len(rig.heartbeat) == 2


async def test_a_session_is_announced_only_when_its_counts_changed_since_its_last_beat(
    rig: Rig,
) -> None:
    sid = await rig.new_session()
    await rig.join(Sock(sid))
    before = (await rig.log.ensure(sid)).last_seq
    await rig.heartbeat.beat()
    assert presences(await rig.events(sid, before)) == []  # nothing changed: silence
    # A socket on another worker joins (its own process beats for it).
    await rig.board.touch(sid, "elsewhere", Role.STUDENT)
    await rig.heartbeat.beat()
    await rig.heartbeat.beat()
    announced = presences(await rig.events(sid, before))
    assert [(e.student_online, e.observers) for e in announced] == [(True, 1)]
    # Joins are announced as they come; the next beat repeats the counts once if they
    # changed since the last beat (a storm's joiners may have missed the coalesced one).
    joiner = Sock(sid)
    await rig.join(joiner)
    await rig.heartbeat.beat()
    await rig.heartbeat.beat()
    announced = presences(await rig.events(sid, before))
    assert [(e.student_online, e.observers) for e in announced] == [(True, 1), (True, 2)]
    rig.heartbeat.unregister(joiner)
    await rig.board.leave(sid, joiner.conn_id, live=True)
    before = (await rig.log.ensure(sid)).last_seq
    await rig.heartbeat.beat()  # the leave announced itself; the beat repeats it once
    await rig.board.settle()  # (spaced after the leave's: made before the lapse below)
    # That worker dies: its entry lapses, and the next beat says so once.
    rig.clock.now += TTL + 1
    await rig.heartbeat.beat()
    await rig.heartbeat.beat()
    announced = presences(await rig.events(sid, before))
    assert [(e.student_online, e.observers) for e in announced] == [(True, 1), (False, 1)]


async def test_announcements_pass_what_the_sockets_know_instead_of_reading_the_row(
    rig: Rig,
) -> None:
    """Both rows say ended; only the sockets that were sent that ``status`` know it. The
    beat trusts them: no SQL read, and no append to a log its sockets know has ended."""
    told, not_yet = await rig.new_session(), await rig.new_session()
    for sid, knows_live in ((told, False), (not_yet, True)):
        await rig.join(Sock(sid, live=knows_live))
        await rig.control.transition(sid, SessionAction.END, actor="t")
        await rig.board.touch(sid, "elsewhere", Role.STUDENT)
    after = {sid: (await rig.log.ensure(sid)).last_seq for sid in (told, not_yet)}
    await rig.heartbeat.beat()
    assert presences(await rig.events(told, after[told])) == []
    assert len(presences(await rig.events(not_yet, after[not_yet]))) == 1


async def test_a_missed_beat_is_logged_and_skipped_and_other_sessions_still_beat(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    down, up = await rig.new_session(), await rig.new_session()
    await rig.join(Sock(down))
    await rig.join(Sock(up))
    rig.backend.failing.add(str(down))
    rig.clock.now += TTL - 5
    await rig.heartbeat.beat()
    assert f"presence heartbeat missed for {down}" in caplog.text
    rig.clock.now += 10
    assert (await rig.board.current(up)).observers == 1
    assert (await rig.board.current(down)).observers == 0  # lapsed: 3 beats missed here
    rig.backend.failing.clear()
    await rig.heartbeat.beat()  # the store is back: the socket is counted again
    assert (await rig.board.current(down)).observers == 1


async def test_a_socket_leaving_while_its_touch_is_in_flight_leaves_no_ghost(rig: Rig) -> None:
    sid = await rig.new_session()
    staying, leaving = Sock(sid), Sock(sid)
    await rig.join(staying)
    await rig.join(leaving)
    gate = rig.backend.gates[leaving.conn_id] = asyncio.Event()
    beat = asyncio.create_task(rig.heartbeat.beat())
    async with asyncio.timeout(5):
        await rig.backend.touching.wait()
    # The socket closes meanwhile: unregisters, then its leave lands before the touch.
    rig.heartbeat.unregister(leaving)
    await rig.board.leave(sid, leaving.conn_id, live=True)
    gate.set()
    async with asyncio.timeout(5):
        await beat
    assert (await rig.board.current(sid)).observers == 1


async def test_a_silent_open_reply_is_repaired_but_a_recent_or_leased_one_is_left(
    rig: Rig,
) -> None:
    sid = await rig.new_session()
    await rig.log.publish(sid, [ReplyStart(reply_id="r1")])
    student = Sock(sid, Role.STUDENT, reply_since=rig.clock.now)
    await rig.join(student)
    await rig.join(Sock(sid))  # an observer: no view of replies
    mark = (await rig.log.ensure(sid)).last_seq

    async def interrupted() -> list[str]:
        return [e.reply_id for e in await rig.events(sid, mark) if isinstance(e, ReplyError)]

    rig.clock.now += LEASE / 2 - 0.1  # not yet silent for half a lease: a slow model
    await rig.heartbeat.sweep_orphans()
    assert await interrupted() == []
    rig.clock.now += 0.2
    # Silent long enough, but a live worker holds the reply's lease: left alone.
    assert await rig.backend.acquire_reply(str(sid), "r1", LEASE)
    await rig.heartbeat.sweep_orphans()
    assert await interrupted() == []
    # The worker died: its lease lapses and the next look closes the reply.
    rig.clock.now += LEASE
    await rig.heartbeat.sweep_orphans()
    assert await interrupted() == ["r1"]


async def test_run_beats_and_sweeps_until_stopped(rig: Rig) -> None:
    """The loop itself, with short periods: it beats on its own and stops when asked."""
    sid = await rig.new_session()
    await rig.join(Sock(sid))
    config = RealtimeConfig(
        heartbeat_seconds=0.01, presence_ttl_seconds=TTL, reply_lock_seconds=0.04
    )
    heartbeat = Heartbeat(rig.board, rig.log, config, clock=rig.clock)
    sock = Sock(sid)
    heartbeat.register(sock, await rig.board.current(sid))
    stop = asyncio.Event()
    running = asyncio.create_task(heartbeat.run(stop))
    gate = rig.backend.gates[sock.conn_id] = asyncio.Event()
    async with asyncio.timeout(5):
        await rig.backend.touching.wait()  # a beat came on its own
    gate.set()
    stop.set()
    async with asyncio.timeout(5):
        await running
