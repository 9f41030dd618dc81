"""Past a worker's reply slots and queue, a say is refused ``busy`` over a real socket:
the socket stays open however often it happens (``busy`` is the server's load, not abuse)
and nothing of the refused says is stored. Real uvicorn processes, both backends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.conftest import world_of
from tests.support.world import World

pytestmark = pytest.mark.slow

#: More than the 20 refused frames a minute after which a socket is closed as abusive.
REFUSALS = 25


def test_busy_refusals_keep_the_socket_open_and_store_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, flavour: str
) -> None:
    env = {
        # One slot, no queue: while one reply streams, every other say is busy.
        "MAX_STREAMING_REPLIES": "1",
        "REPLY_QUEUE_SIZE": "0",
        "SAY_RATE_COUNT": "1000",  # the say rate limit is not what is tested here
        "SCRIPTED_TOKENS_PER_SECOND": "2",  # a reply of ~30 words streams for ~15 s
    }
    with world_of(request, tmp_path, flavour, **env) as world:
        asyncio.run(_busy_while_one_streams(world))


async def _busy_while_one_streams(world: World) -> None:
    streaming, other = world.new_session(), world.new_session()
    async with (
        world.connect(streaming, as_="student", worker=0) as first,
        world.connect(other, as_="student", worker=0) as second,
    ):
        await first.recv()
        await second.recv()
        await first.send(type="say", text="Tell me about your week.", client_id="a-1")
        await first.until(lambda e: e["type"] == "reply.delta")
        for n in range(REFUSALS):
            await second.send(type="say", text=f"Hello {n}?", client_id=f"b-{n}")
            refused = await second.until(lambda e: e["type"] == "error")
            assert refused["code"] == "busy", refused
            assert "few seconds" in refused["message"]
        await second.send(type="ping", nonce="still-open")
        pong = await second.until(lambda e: e["type"] == "pong")
        assert pong["nonce"] == "still-open"
        assert not [e for e in second.events if e["type"] in ("message", "reply.start")]
        # The slot comes free (the streaming reply is stopped): the next say is served.
        await first.send(type="stop")
        done = await first.until(lambda e: e["type"] == "reply.done")
        assert done["stopped"] is True
        await second.send(type="say", text="Hello again?", client_id="b-last")
        said = await second.until(lambda e: e["type"] in ("message", "error"))
        assert (said["type"], said.get("client_id")) == ("message", "b-last"), said
        await second.until(lambda e: e["type"] == "reply.start")
