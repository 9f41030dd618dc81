"""What an outside probe broke, against real server processes: a crashed worker stalling
its session for the length of a 30 s reply lock, and tracebacks logged when peers leave
while frames are being sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import world_of
from tests.support.world import World

pytestmark = pytest.mark.slow

#: The issue's promise: the next say is accepted within this long after a worker dies.
NEXT_SAY_WITHIN_SECONDS = 5.0


@pytest.mark.timing  # asserts a wall-clock promise: run alone
@pytest.mark.parametrize("flavour", ["redis"], indirect=True)
def test_a_killed_workers_reply_is_closed_and_the_next_say_accepted_within_5_s(
    request: pytest.FixtureRequest, tmp_path: Path, flavour: str
) -> None:
    # The default lease (REPLY_LOCK_SECONDS unset); a slow reply so the kill lands mid-way.
    with world_of(request, tmp_path, flavour, SCRIPTED_TOKENS_PER_SECOND="3") as world:
        asyncio.run(_killed_mid_reply(world))


async def _killed_mid_reply(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="student", worker=0) as doomed:
        await doomed.recv()
        await doomed.send(type="say", text="Tell me everything.", client_id="first")
        start = await doomed.until(lambda e: e["type"] == "reply.start")
        await doomed.until(lambda e: e["type"] == "reply.delta")
        world.servers[0].kill()  # kill -9 mid-reply
        killed_at = time.monotonic()
    async with world.connect(session, as_="student", worker=1, after=start["seq"]) as student:
        # The reconnected student's socket notices the dead worker's reply and closes it
        # as interrupted once its lease lapses; nobody has to say anything first.
        orphan = await student.until(
            lambda e: e["type"] == "reply.error" and e["reply_id"] == start["reply_id"]
        )
        closed_after = time.monotonic() - killed_at
        await student.send(type="say", text="Are you there?", client_id="again")
        answer = await student.until(lambda e: _answers_say(e, "again"))
        accepted_after = time.monotonic() - killed_at
        print(
            f"\ninterrupted reply closed {closed_after:.2f} s and the next say accepted "
            f"{accepted_after:.2f} s after kill -9"
        )
        assert orphan["code"] == "interrupted"
        assert answer["type"] == "message" and orphan["seq"] < answer["seq"]
        assert accepted_after < NEXT_SAY_WITHIN_SECONDS
        done = await student.until(lambda e: e["type"] == "reply.done")
        assert not done["stopped"]


def _answers_say(event: dict[str, Any], client_id: str) -> bool:
    if event["type"] == "error":
        return True
    return event["type"] == "message" and event.get("client_id") == client_id


@pytest.mark.parametrize("flavour", ["memory"], indirect=True)
def test_peers_leaving_mid_stream_log_no_tracebacks(
    request: pytest.FixtureRequest, tmp_path: Path, flavour: str
) -> None:
    with world_of(request, tmp_path, flavour) as world:
        asyncio.run(_leave_mid_stream(world))
        log = world.servers[0].log()
    assert "Exception in ASGI application" not in log
    assert "Traceback" not in log


async def _leave_mid_stream(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="teacher", max_queue=None) as teacher:
        await teacher.recv()
        for round_ in range(3):
            observers = [await world.connect(session, as_="teacher") for _ in range(30)]
            # A backlog of large frames for every observer, then they leave while the
            # server is still writing it: half politely, half vanishing.
            for n in range(100):
                await teacher.send(type="whisper", text=f"{round_}.{n}:" + "w" * 3_900)
            await asyncio.gather(*(o.close() for o in observers[::2]))
            for observer in observers[1::2]:
                observer.conn.transport.abort()
            await teacher.until(_whisper_starting(f"{round_}.99:"), within=60)
        # The server is still healthy and serving.
        await teacher.send(type="ping", nonce="after")
        await teacher.until(lambda e: e["type"] == "pong")


def _whisper_starting(prefix: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: str(event.get("text", "")).startswith(prefix)
