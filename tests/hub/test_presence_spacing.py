"""A session's presence announcements are spaced: the first at once, the requests made
within the spacing merged into one announcement when it is up, counted then. The
in-process backend and SQLite; the board's own task waits out the spacing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from realtime.events import PresenceEvent
from realtime.lifecycle import SessionAction
from realtime.presence import ANNOUNCE_SPACING, PresenceBoard
from realtime.vocabulary import Role
from tests.hub.socket_rig import Rig, open_rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as rig:
        yield rig


async def announced(rig: Rig, sid: uuid.UUID, after: int) -> list[tuple[bool, int]]:
    """The presence events in the log now (without waiting for the spacing)."""
    events = await rig.backend.read(str(sid), after, 1_000)
    return [(e.student_online, e.observers) for e in events if isinstance(e, PresenceEvent)]


async def test_joins_within_the_spacing_merge_into_one_announcement_made_when_it_is_up(
    rig: Rig,
) -> None:
    sid = await rig.new_session()
    before = (await rig.log.ensure(sid)).last_seq
    board = rig.board
    await board.touch(sid, "student", Role.STUDENT)
    await board.announce(sid, live=True)
    assert await announced(rig, sid, before) == [(True, 0)]  # the first: at once
    for n in range(10):
        await board.touch(sid, f"teacher{n}", Role.TEACHER)
        await board.announce(sid, live=True)  # returns without announcing
    assert await announced(rig, sid, before) == [(True, 0)]
    await board.settle()
    # One more, counting every join; then the spacing lapses with nobody asking.
    assert await announced(rig, sid, before) == [(True, 0), (True, 10)]
    await board.touch(sid, "late", Role.TEACHER)
    await board.announce(sid, live=True)
    assert await announced(rig, sid, before) == [(True, 0), (True, 10), (True, 11)]


async def test_sessions_are_spaced_apart(rig: Rig) -> None:
    first, second = await rig.new_session(), await rig.new_session()
    marks = {sid: (await rig.log.ensure(sid)).last_seq for sid in (first, second)}
    for sid in (first, second):
        await rig.board.touch(sid, "teacher", Role.TEACHER)
        await rig.board.announce(sid, live=True)
    for sid in (first, second):
        assert await announced(rig, sid, marks[sid]) == [(False, 1)]


async def test_a_merged_request_reads_the_row_unless_every_caller_knew_the_session_live(
    rig: Rig,
) -> None:
    sid = await rig.new_session()
    before = (await rig.log.ensure(sid)).last_seq
    await rig.board.announce(sid, live=True)
    await rig.board.announce(sid, live=True)
    await rig.board.announce(sid, live=False)  # e.g. a leave that did not know
    await rig.control.transition(sid, SessionAction.END, actor="t")  # the merged one: dropped
    await rig.board.settle()
    assert await announced(rig, sid, before) == [(False, 0)]


async def test_after_close_pending_announcements_are_dropped_and_later_ones_are_made_at_once(
    tmp_path: Path,
) -> None:
    async with open_rig(tmp_path) as rig:
        sid = await rig.new_session()
        before = (await rig.log.ensure(sid)).last_seq
        board = PresenceBoard(rig.log, rig.control, ttl_seconds=30, spacing=60)
        await board.announce(sid, live=True)
        await board.touch(sid, "teacher", Role.TEACHER)
        await board.announce(sid, live=True)  # waits 60 s for its spacing
        await asyncio.wait_for(board.aclose(), timeout=5)  # the wait is cut
        assert await announced(rig, sid, before) == [(False, 0)]
        await board.announce(sid, live=True)
        assert await announced(rig, sid, before) == [(False, 0), (False, 1)]


async def test_with_no_spacing_only_requests_in_flight_merge_and_the_caller_repeats(
    rig: Rig,
) -> None:
    sid = await rig.new_session()
    before = (await rig.log.ensure(sid)).last_seq
    board = PresenceBoard(rig.log, rig.control, ttl_seconds=30, spacing=0)

    async def join(n: int) -> None:
        await board.touch(sid, f"conn{n}", Role.TEACHER)
        await board.announce(sid)  # reads the row: the first is in flight meanwhile

    await asyncio.gather(*(join(n) for n in range(20)))
    made = await announced(rig, sid, before)  # no task: all made when gather returns
    assert 1 <= len(made) <= 3 and made[-1] == (False, 20)
    await board.announce(sid, live=True)
    assert len(await announced(rig, sid, before)) == len(made) + 1  # not spaced


def test_the_default_spacing_is_a_quarter_second() -> None:
    assert ANNOUNCE_SPACING == 0.25
