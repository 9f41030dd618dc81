"""Slow consumers, server restarts and dead workers."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.conftest import world_of
from tests.support.rawws import StalledClient
from tests.support.world import World, make_world

pytestmark = pytest.mark.slow

WHISPER = "w" * 3_900


def whispers_to_stall() -> int:
    """Whispers enough to fill what the kernel absorbs for the stalled socket (its send
    buffer autotunes up to ``tcp_wmem``'s maximum: 4 MB here) twice over, at least 2,000."""
    try:
        most = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        most = 4 * 1024 * 1024
    return max(2_000, 2 * most // len(WHISPER))


def test_slow_consumer_is_closed_and_resumes(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # A small per-socket queue so the test needs a few MB of traffic, not hundreds.
    with make_world(
        tmp_path,
        f"sqlite:///{tmp_path / 'slow.db'}",
        None,
        1,
        WS_SEND_QUEUE_FRAMES="20",
        WS_SLOW_CONSUMER_SECONDS="2",
    ) as world:
        asyncio.run(_slow_consumer(world))


def _offline(event: dict[str, Any]) -> bool:
    return bool(event["type"] == "presence" and not event["student_online"])


async def _slow_consumer(world: World) -> None:
    session = world.new_session()
    # The student's client stops reading entirely (and its receive buffer is tiny).
    student = world.handshake(session, as_="student")
    stalled = StalledClient(student.url, student.headers)
    try:
        async with world.connect(session, as_="teacher", max_queue=None) as teacher:
            await teacher.recv()
            total = whispers_to_stall()
            for n in range(total):
                await teacher.send(type="whisper", text=f"{n}:{WHISPER}")
            # The teacher, a fast reader on the same session, is not held up.
            last = f"{total - 1}:"
            await teacher.until(lambda e: e.get("text", "").startswith(last), within=60)
            # Nothing read yet: the stalled socket's outbox stays full until the server
            # drops it (reading now could empty it within WS_SLOW_CONSUMER_SECONDS on a
            # fast machine, and nothing would be dropped).
            # (It may have gone offline while the whispers were still arriving.)
            if not any(_offline(e) for e in teacher.events):
                await teacher.until(_offline, within=30)
        # The stalled socket was closed with 4008; what it got before is contiguous.
        received: list[dict[str, Any]] = []
        while True:
            opcode, data = await asyncio.to_thread(stalled.read_frame)
            if opcode == 0x8:
                code = struct.unpack("!H", data[:2])[0]
                break
            if opcode in (0x9, 0xA):  # a protocol ping (every WS_PING_SECONDS) or pong
                continue
            received.append(json.loads(data))
        assert code == 4008
    finally:
        stalled.close()
    events = [e for e in received if "seq" in e and e["type"] != "welcome"]
    cursor = events[-1]["seq"]
    assert cursor < teacher.seqs()[-1]  # it really fell behind
    async with world.connect(session, as_="student", after=cursor) as resumed:
        await resumed.until(lambda e: e.get("text", "").startswith(last), within=60)
    seqs = [e["seq"] for e in events] + resumed.seqs()
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    whispers = [
        e["text"].split(":")[0] for e in events + resumed.sequenced() if e.get("role") == "whisper"
    ]
    assert whispers == [str(n) for n in range(total)]


async def test_server_restart_closes_with_1012_and_resume_works(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="student", worker=0) as sock:
        await sock.recv()
        await sock.send(type="say", text="Hello, how are you feeling today?", client_id="r1")
        await sock.until(lambda e: e["type"] in ("reply.done", "reply.error"))
        await asyncio.to_thread(world.servers[0].stop)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await sock.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    if len(world.servers) > 1:
        # Another worker carries on from the cursor.
        cursor = sock.seqs()[-1]
        async with world.connect(session, as_="student", worker=1, after=cursor) as again:
            await again.send(type="say", text="Shall we continue?", client_id="r2")
            said = await again.until(lambda e: e["type"] == "message")
            assert said["seq"] > cursor and said["client_id"] == "r2"


@pytest.mark.parametrize("world", ["redis"], indirect=True)
def test_presence_lapses_when_a_worker_is_killed(world: World) -> None:
    asyncio.run(_presence_lapses(world))


async def _presence_lapses(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="teacher", worker=1) as teacher:
        await teacher.recv()
        student = await world.connect(session, as_="student", worker=0)
        await teacher.until(lambda e: e["type"] == "presence" and e["student_online"])
        world.servers[0].kill()  # kill -9: no goodbye, no presence_leave
        offline = await teacher.until(
            lambda e: e["type"] == "presence" and not e["student_online"], within=20
        )
        assert offline["observers"] == 1
        await student.close()


def test_dead_socket_is_dropped_by_heartbeat(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with world_of(request, tmp_path, "memory", WS_PING_SECONDS="1") as world:
        asyncio.run(_dead_socket(world))


async def _dead_socket(world: World) -> None:
    session = world.new_session()
    async with world.connect(session, as_="teacher") as teacher:
        await teacher.recv()
        # A phone that vanished: the TCP connection stays, nothing answers pings.
        student = world.handshake(session, as_="student")
        dead = StalledClient(student.url, student.headers)
        try:
            await teacher.until(lambda e: e["type"] == "presence" and e["student_online"])
            gone = await teacher.until(
                lambda e: e["type"] == "presence" and not e["student_online"], within=10
            )
            assert gone["observers"] == 1
        finally:
            dead.close()
