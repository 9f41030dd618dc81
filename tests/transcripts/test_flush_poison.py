"""One bad event must not stop transcripts: a poison event injected below every edge check
(text SQL cannot store) is retried, then set aside and kept, while its session's other
events and every other session keep flushing. On both databases and both backends."""

from __future__ import annotations

import json
import uuid

import pytest

from realtime.backends import MemoryBackend, RealtimeBackend
from realtime.control import SessionControl
from realtime.flusher import Flusher, FlusherPolicy
from realtime.lifecycle import SessionAction
from realtime.protocol import MessageEvent, MessageRole, payload
from storage.db import Database
from tests.support.clock import DrivenClock
from tests.transcripts.conftest import CountingReads, new_session, publish, stored

#: A lone surrogate no UTF-8 database driver can encode; NUL, which PostgreSQL refuses.
POISONS = {"surrogate": "bad \ud800 text", "nul": "bad \x00 text"}


def student(text: str) -> MessageEvent:
    return MessageEvent(message_id=str(uuid.uuid4()), role=MessageRole.STUDENT, text=text)


async def inject(backend: RealtimeBackend, sid: uuid.UUID, event: MessageEvent) -> None:
    """Append ``event`` as stored bytes, bypassing the edges (Redis: the append script
    itself, since our own JSON encoder refuses a lone surrogate)."""
    if isinstance(backend, MemoryBackend):
        await backend.append(str(sid), [event])
        return
    from realtime.backends.redis import RedisBackend

    assert isinstance(backend, RedisBackend)
    stored_json = json.dumps(payload(event), ensure_ascii=True)
    keys = backend._append_keys(str(sid))
    args: list[str | int] = [backend._window, backend._idle_ms, backend._reader_id, 1]
    args += [stored_json, "1"]
    await backend.scripts.run(backend._append, keys, args)


def refused(poison: str, database_url: str) -> bool:
    return poison == "surrogate" or database_url.startswith("postgresql")


@pytest.mark.parametrize("poison", sorted(POISONS))
async def test_a_poison_event_is_set_aside_and_nothing_else_waits(
    db: Database, backend: RealtimeBackend, database_url: str, poison: str
) -> None:
    bad = await new_session(db)
    others = [await new_session(db) for _ in range(3)]
    await publish(backend, bad, [student("before")])
    await inject(backend, bad, student(POISONS[poison]))
    await backend.append(str(bad), [student("after")])
    for sid in others:
        await publish(backend, sid, [student(f"hello {n}") for n in range(3)])
    clock = DrivenClock()
    flusher = Flusher(db, backend, FlusherPolicy(set_aside_after_failures=3), clock=clock)

    await flusher.scan()
    for sid in others:  # the bad session held no one up
        assert [m.text for m in (await stored(db, sid))[0]] == ["hello 0", "hello 1", "hello 2"]
    for _ in range(3):
        clock.now += 60  # past any backoff
        await flusher.scan()

    messages, audits = await stored(db, bad)
    assert await backend.read_durable(str(bad), 0, 100) == []
    if not refused(poison, database_url):
        assert [m.text for m in messages] == ["before", POISONS[poison], "after"]
        return
    assert [m.text for m in messages] == ["before", "after"]
    (aside,) = [a for a in audits if a.kind == "event_set_aside"]
    kept = json.loads(aside.data["event"])
    assert kept["text"] == POISONS[poison] and kept["seq"] == aside.seq == 2
    lag = flusher.lag()
    set_aside = lag["set_aside"]
    assert isinstance(set_aside, list)
    assert [(e["session_id"], e["seq"]) for e in set_aside] == [(str(bad), 2)]
    assert lag["failing_sessions"] == 0 and lag["status"] == "ok"


async def test_a_session_backing_off_is_left_out_of_the_scans_look(
    db: Database, backend: RealtimeBackend
) -> None:
    """While the bad session backs off, the scan's one look at every session leaves it
    out; it is only measured, on its own."""
    bad = await new_session(db)
    others = [await new_session(db) for _ in range(3)]
    await publish(backend, bad, [student("before")])
    await inject(backend, bad, student(POISONS["surrogate"]))
    for sid in others:
        await publish(backend, sid, [student("hello")])
    reads = CountingReads(backend)
    flusher = Flusher(db, reads, clock=DrivenClock())
    await flusher.scan()  # the group fails, each session goes alone, the bad one fails
    assert flusher.lag()["failing_sessions"] == 1
    reads.many.clear()
    reads.single.clear()
    await flusher.scan()  # the same instant: the bad session still backs off
    assert reads.many == [sorted(str(sid) for sid in others)]
    assert reads.single == [str(bad)]


async def test_ending_a_session_with_a_poison_event_still_ends_it(
    db: Database, backend: RealtimeBackend, database_url: str
) -> None:
    sid = await new_session(db)
    await publish(backend, sid, [student("before")])
    await inject(backend, sid, student(POISONS["surrogate"]))
    await backend.append(str(sid), [student("after")])
    control = SessionControl(db)
    flusher = Flusher(db, backend)
    control.before_terminal.append(flusher.flush_before_end)
    ended = await control.transition(sid, SessionAction.END, actor="teacher:x", reason="teacher")
    assert ended.status == "completed"
    messages, audits = await stored(db, sid)
    assert [m.text for m in messages] == ["before", "after"]  # whole before the end
    assert [a.kind for a in audits] == ["event_set_aside"]
