"""Redis loses a session's live state: clients are told they cannot resume (the epoch
changed) and are served from SQL, the system of record; seqs keep rising."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.conftest import world_of
from tests.support.world import World

pytestmark = pytest.mark.slow


def test_redis_loss_is_announced_and_history_comes_from_sql(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with world_of(request, tmp_path, "redis", SCRIPTED_TOKENS_PER_SECOND="400") as world:
        asyncio.run(
            _loss(
                world, request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
            )
        )


async def _wait_transcript(world: World, sid: str, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        while True:
            with world.http() as http:
                items: list[dict[str, Any]] = http.get(f"/api/sessions/{sid}/transcript").json()[
                    "items"
                ]
            if len(items) >= count:
                return items
            await asyncio.sleep(0.1)  # polling the API for the flush


async def _loss(world: World, redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    session = world.new_session()
    async with world.connect(session, as_="student", worker=0) as student:
        welcome = await student.recv()
        await student.send(type="say", text="Hello, how are you?", client_id="before")
        done = await student.until(lambda e: e["type"] == "reply.done")
        stored = await _wait_transcript(world, session.id, 2)
        redis = Redis.from_url(redis_url)
        try:
            keys = [k async for k in redis.scan_iter(match=f"{prefix}:{{{session.id}}}*")]
            assert keys
            await redis.delete(*keys)  # Redis lost this session's live state
        finally:
            await redis.aclose()
        # The next event rebuilds the log with a new epoch, above what SQL holds.
        await student.send(type="say", text="Are you still there?", client_id="after")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await student.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4009
        failed = [e for e in student.events if e["type"] == "resume.failed"]
        assert failed and failed[0]["reason"] == "epoch_changed"
    # Resuming with the old cursor and epoch is refused explicitly, never a silent gap.
    cursor = done["seq"]
    async with world.connect(
        session, as_="student", worker=1, after=cursor, epoch=welcome["epoch"]
    ) as stale:
        answer = await stale.recv()
        assert (answer["type"], answer["reason"]) == ("resume.failed", "epoch_changed")
    # A fresh connection is served from SQL plus the new live log.
    async with world.connect(session, as_="student", worker=1) as fresh:
        again = await fresh.recv()
        assert again["epoch"] != welcome["epoch"]
        history = [await fresh.until(lambda e: e["type"] == "message") for _ in range(3)]
    texts = [m["text"] for m in history]
    assert texts[:2] == [stored[0]["text"], stored[1]["text"]]
    assert texts[2] == "Are you still there?"
    seqs = [m["seq"] for m in history]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert seqs[2] > max(item["seq"] for item in stored)
