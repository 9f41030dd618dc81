"""While its process serves no socket, the flusher lists its sessions from SQL at most once
per ``list_seconds``; the scans between look only at the backend. A transition on this
process lists them again at the next scan; past one page of sessions, or while sockets
are open, every scan lists, as before. Each backend and each database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from realtime.backends import RealtimeBackend
from realtime.control import SessionControl
from realtime.flusher import Flusher, FlusherPolicy
from realtime.lifecycle import SessionAction
from storage.db import Database
from tests.support.clock import DrivenClock
from tests.transcripts.conftest import new_session, publish, stored
from tests.transcripts.test_flush_contract import conversation

DURABLE = 15  # durable events in one conversation(), 8 of them messages
MESSAGES = 8


@contextmanager
def listings(db: Database) -> Iterator[list[str]]:
    """The flusher's listing queries (``sessions_to_flush``) made while inside."""
    made: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().startswith("SELECT sessions.id") and "ended_at >=" in statement:
            made.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield made
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)


async def test_a_listing_stands_for_list_seconds_and_its_sessions_keep_flushing(
    db: Database, backend: RealtimeBackend
) -> None:
    clock = DrivenClock()
    flusher = Flusher(db, backend, FlusherPolicy(list_seconds=1.0), clock=clock)
    listed = await new_session(db)
    await publish(backend, listed, conversation())
    with listings(db) as made:
        assert await flusher.scan() == DURABLE
        assert len(made) == 1

        # Within the second: a listed session's new events are stored, a session
        # created since is not seen yet, and SQL is not asked for the list.
        unlisted = await new_session(db)
        await publish(backend, unlisted, conversation())
        await publish(backend, listed, conversation())
        clock.now += 0.5
        assert await flusher.scan() == DURABLE
        assert await flusher.scan() == 0
        assert len(made) == 1
        assert len((await stored(db, unlisted))[0]) == 0

        clock.now += 0.5  # the listing is a second old: the next scan lists again
        assert await flusher.scan() == DURABLE
        assert len(made) == 2
    assert len((await stored(db, unlisted))[0]) == MESSAGES
    assert len((await stored(db, listed))[0]) == 2 * MESSAGES


async def test_a_transition_here_lists_again_at_the_next_scan(
    db: Database, backend: RealtimeBackend
) -> None:
    clock = DrivenClock()
    flusher = Flusher(db, backend, FlusherPolicy(list_seconds=60.0), clock=clock)
    control = SessionControl(db)
    control.after_transition.append(flusher.after_transition)
    first = await new_session(db)
    await publish(backend, first, conversation())
    with listings(db) as made:
        assert await flusher.scan() == DURABLE
        started = await new_session(db)
        await publish(backend, started, conversation())
        assert await flusher.scan() == 0  # not listed yet, and a minute to go
        await control.transition(started, SessionAction.PAUSE, actor="teacher:x")
        assert await flusher.scan() == DURABLE  # no clock moved
        assert len(made) == 2


async def test_past_one_page_every_scan_lists(db: Database, backend: RealtimeBackend) -> None:
    clock = DrivenClock()
    policy = FlusherPolicy(list_seconds=60.0, sessions_per_scan=2)
    flusher = Flusher(db, backend, policy, clock=clock)
    for _ in range(3):
        await publish(backend, await new_session(db), conversation())
    with listings(db) as made:
        total = 0
        for _ in range(4):
            total += await flusher.scan()
        assert total == 3 * DURABLE
        assert len(made) == 4


async def test_while_sockets_are_open_every_scan_lists(
    db: Database, backend: RealtimeBackend
) -> None:
    """A process serving sockets lists on every scan, so its lag report counts a session
    as soon as it streams (every worker's /readyz in a database outage); with none open,
    the listing stands again."""
    clock = DrivenClock()
    flusher = Flusher(db, backend, FlusherPolicy(list_seconds=60.0), clock=clock)
    sockets = [object()]
    flusher.listing.serving = lambda: bool(sockets)
    await publish(backend, await new_session(db), conversation())
    with listings(db) as made:
        assert await flusher.scan() == DURABLE
        await publish(backend, await new_session(db), conversation())
        assert await flusher.scan() == DURABLE  # listed at once, no clock moved
        assert len(made) == 2
        sockets.clear()
        await publish(backend, await new_session(db), conversation())
        assert await flusher.scan() == 0  # the last listing stands
        assert len(made) == 2
