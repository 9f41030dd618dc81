"""``WS_COMPRESSION``: session sockets negotiate permessage-deflate only when it is on
(off by default: its zlib state costs ~38 KB per open socket), on a real ``vclient serve``
asked for it by a client that offers it (``websockets`` does by default). Either way a
reply reaches the student and an observer whole; without compression its frames are
written straight to the transport (server/ws_direct.py), with it they go the ASGI way."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.conftest import world_of
from tests.support.exposition import sample
from tests.support.world import World


@pytest.mark.parametrize("setting", ["", "true"])
def test_compression_is_negotiated_only_when_turned_on(
    request: pytest.FixtureRequest, tmp_path: Path, setting: str
) -> None:
    env = {"WS_COMPRESSION": setting} if setting else {}
    with world_of(request, tmp_path, "memory", **env) as world:
        negotiated = asyncio.run(_negotiated(world))
        asyncio.run(_a_reply_reaches_both(world))
        with world.http() as http:
            exposition = http.get("/metrics").text
    if setting:
        assert negotiated is not None and negotiated.startswith("permessage-deflate")
    else:
        assert negotiated is None
    sent = sample(exposition, "vclient_frames_sent_total")
    directly = sample(exposition, "vclient_frames_written_directly_total")
    assert sent is not None and directly is not None, exposition
    assert sent > 0
    # Every live frame while nothing else waits: most of them, the reply's deltas.
    assert directly == 0 if setting else directly > sent / 2, exposition


async def _a_reply_reaches_both(world: World) -> None:
    session = world.new_session()
    async with world.student_and_teacher(session) as (student, teacher):
        await student.send(type="say", text="How has your week been?", client_id="c-1")
        ended = ("reply.done", "reply.error")
        done = await student.until(lambda e: e["type"] in ended)
        await teacher.until(lambda e: e["type"] in ended)
        assert done["type"] == "reply.done" and done["text"]
        for socket in (student, teacher):
            deltas = [e["text"] for e in socket.events if e["type"] == "reply.delta"]
            assert "".join(deltas) == done["text"]


async def _negotiated(world: World) -> str | None:
    session = world.new_session()
    async with world.connect(session, as_="teacher") as teacher:
        assert (await teacher.recv())["type"] == "welcome"
        await teacher.send(type="ping", nonce="n1")
        assert (await teacher.recv())["type"] == "pong"  # frames flow either way
        response = teacher.conn.response
        assert response is not None
        return response.headers.get("Sec-WebSocket-Extensions")
