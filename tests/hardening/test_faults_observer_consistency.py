"""Observer consistency (issue 16, "Faults"): over many randomised runs, a teacher's
snapshot plus the events after it equals a fresh fetch from SQL.

Each run is a new session with a random script of says, stops mid-reply, whispers and
directions; a teacher connects at a random moment on the other worker (possibly while a
reply streams), folds its ``welcome`` history and every event after it into a transcript,
and, once everything is flushed, that transcript must equal ``GET .../transcript`` (SQL)
row for row. Two real workers on the shared Redis and a fresh PostgreSQL database.
4 runs by default, 50 with ``HARDENING_FULL=1``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.conftest import repetitions
from tests.integration.conftest import world_of
from tests.integration.test_ws_flow import assert_contiguous
from tests.integration.transcript_helpers import FLUSH_PROMISE_SECONDS, teacher_client
from tests.support.world import SessionHandle, Socket, World

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

RUNS = repetitions(ci=4, full=50)
ACTIONS = ("say", "say", "say_and_stop", "whisper", "direct")
FIELDS = ("seq", "message_id", "role", "text", "stopped", "failed")


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with world_of(request, tmp_path, "redis", SCRIPTED_TOKENS_PER_SECOND="60") as w:
        yield w


def is_end(event: dict[str, Any]) -> bool:
    return event.get("type") in ("reply.done", "reply.error")


def fold(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A teacher's transcript: the ``welcome`` history, then live messages and the ends of
    replies (a failed reply with partial text is kept, marked failed), in seq order."""
    rows: dict[str, dict[str, Any]] = {}
    for e in events:
        if e["type"] == "message":
            rows[e["message_id"]] = {k: e[k] for k in FIELDS}
        elif e["type"] == "reply.done":
            rows[e["message_id"]] = {
                **{k: e[k] for k in ("seq", "message_id", "text", "stopped")},
                "role": "client",
                "failed": False,
            }
        elif e["type"] == "reply.error" and e.get("message_id") and e.get("text"):
            rows[e["message_id"]] = {
                **{k: e[k] for k in ("seq", "message_id", "text")},
                "role": "client",
                "stopped": False,
                "failed": True,
            }
    return sorted(rows.values(), key=lambda row: row["seq"])


async def say(student: Socket, text: str, client_id: str) -> None:
    """Say until acknowledged: a quick script meets the 5-says-in-10-s limit, and the
    page waits and sends again, as the protocol asks. (A stop that came after its reply
    ended is answered ``nothing_to_stop``: not this say's answer.)"""
    async with asyncio.timeout(30):
        while True:
            await student.send(type="say", text=text, client_id=client_id)
            answer = await student.until(
                lambda e: (
                    (e["type"] == "error" and e["code"] != "nothing_to_stop")
                    or e.get("client_id") == client_id
                )
            )
            if answer["type"] == "message":
                return
            assert answer["code"] == "rate_limited", answer
            await asyncio.sleep(2.0)  # the rate window moves on its own clock


async def act(student: Socket, coach: Socket, action: str, n: int, rng: random.Random) -> None:
    """One step of the script; replies are awaited to their end."""
    if action in ("say", "say_and_stop"):
        await say(student, f"Step {n}: how was it, really?", f"s{n}")
        start = await student.until(lambda e: e["type"] == "reply.start")
        if action == "say_and_stop":
            await student.until(lambda e: e["type"] == "reply.delta")
            await asyncio.sleep(rng.uniform(0, 0.3))  # stop at a random point of the stream
            await student.send(type="stop", reply_id=start["reply_id"])
        await student.until(lambda e: is_end(e) and e["reply_id"] == start["reply_id"])
    elif action == "whisper":
        await coach.send(type="whisper", text=f"Hint {n}: reflect first.")
        await coach.until(lambda e: e.get("text") == f"Hint {n}: reflect first.")
    else:
        await coach.send(type="direct", text=f"Be a little warmer ({n}).")
        await coach.until(lambda e: e["type"] == "direction")


async def one_run(world: World, session: SessionHandle, rng: random.Random) -> int:
    script = [rng.choice(ACTIONS) for _ in range(rng.randint(3, 6))]
    join_at = rng.randint(0, len(script))  # before which step the observer connects
    join_mid_reply = rng.random() < 0.5
    async with (
        world.connect(session, as_="student", worker=0) as student,
        world.connect(session, as_="teacher", worker=0, max_queue=None) as coach,
    ):
        await student.recv()
        await coach.recv()
        observer: Socket | None = None
        for n, action in enumerate(script):
            if n == join_at and observer is None:
                if join_mid_reply and action.startswith("say"):
                    # Join while this step's reply streams: the snapshot carries it.
                    await say(student, f"Step {n}: tell me.", f"m{n}")
                    await student.until(lambda e: e["type"] == "reply.delta")
                    observer = await world.connect(session, as_="teacher", worker=1, max_queue=None)
                    await student.until(is_end)
                    continue
                observer = await world.connect(session, as_="teacher", worker=1, max_queue=None)
            await act(student, coach, action, n, rng)
        if observer is None:
            observer = await world.connect(session, as_="teacher", worker=1, max_queue=None)
        marker = "end of the script"
        await coach.send(type="whisper", text=marker)
        await observer.until(lambda e: e.get("text") == marker)
        await observer.close()
    welcome = observer.events[0]
    assert welcome["type"] == "welcome"
    live = [q for q in observer.seqs() if q > welcome["last_seq"]]
    if live:  # a late observer may hold everything in its snapshot
        assert_contiguous(live)
    seen = fold(observer.events)
    async with teacher_client(world, 1) as http:
        async with asyncio.timeout(FLUSH_PROMISE_SECONDS * 2):
            while True:
                items = (await http.get(f"/api/sessions/{session.id}/transcript")).json()["items"]
                stored = [{k: i[k] for k in FIELDS} for i in items]
                if len(stored) >= len(seen):
                    break
                await asyncio.sleep(0.05)  # polling SQL for the flush
    assert seen == stored
    return len(stored)


def test_snapshot_plus_events_equals_sql(world: World, request: pytest.FixtureRequest) -> None:
    rng = random.Random(request.node.name)

    async def run() -> list[int]:
        return [await one_run(world, world.new_session(), rng) for _ in range(RUNS)]

    rows = asyncio.run(run())
    print(
        f"HARDENING faults: observer consistency, {RUNS} randomised runs: snapshot + events"
        f" == SQL every time ({sum(rows)} rows compared)"
    )
