"""``WS_COMPRESSION``: session sockets negotiate permessage-deflate only when it is on
(off by default: its zlib state costs ~38 KB per open socket), on a real ``vclient serve``
asked for it by a client that offers it (``websockets`` does by default)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.conftest import world_of
from tests.support.world import World


@pytest.mark.parametrize("setting", ["", "true"])
def test_compression_is_negotiated_only_when_turned_on(
    request: pytest.FixtureRequest, tmp_path: Path, setting: str
) -> None:
    env = {"WS_COMPRESSION": setting} if setting else {}
    with world_of(request, tmp_path, "memory", **env) as world:
        negotiated = asyncio.run(_negotiated(world))
    if setting:
        assert negotiated is not None and negotiated.startswith("permessage-deflate")
    else:
        assert negotiated is None


async def _negotiated(world: World) -> str | None:
    session = world.new_session()
    async with world.connect(session, as_="teacher") as teacher:
        assert (await teacher.recv())["type"] == "welcome"
        await teacher.send(type="ping", nonce="n1")
        assert (await teacher.recv())["type"] == "pong"  # frames flow either way
        response = teacher.conn.response
        assert response is not None
        return response.headers.get("Sec-WebSocket-Extensions")
