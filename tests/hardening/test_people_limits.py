"""People: limits (issue 16), against a real ``vclient serve`` (uvicorn's websockets-sansio
with permessage-deflate turned on, ``WS_COMPRESSION=true``: off by default, where a
compressed frame cannot even be sent, but a deployment may turn it on). A frame over the
hard limit closes the socket with 1009 and the server's memory stays flat over many of
them; a frame over FRAME_MAX_BYTES but under the hard limit gets a polite ``too_large``
error; a flood of says is throttled (5 per 10 s, then the socket is closed for abuse) and
a ping flood does not slow another socket much; a compressed-frame bomb (a few KiB on the
wire that inflate to 64 MiB) is closed with 1009 without the server inflating it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.hardening.conftest import repetitions
from tests.support.world import SessionHandle, Socket, World, make_world

pytestmark = pytest.mark.slow

MiB = 1 << 20
#: FRAME_MAX_BYTES (64 KiB) x 16, at least 1 MiB: uvicorn's hard cap (server/cli.py).
HARD_LIMIT = MiB
#: RSS growth allowed over the oversized frames: far below what buffering them would take.
FLAT_MIB = 24


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("limits")
    with make_world(tmp, f"sqlite:///{tmp / 'limits.db'}", None, 1, WS_COMPRESSION="true") as w:
        yield w


@pytest.fixture(scope="module")
def session(world: World) -> SessionHandle:
    return world.new_session()


def rss_mib(world: World) -> float:
    status = Path(f"/proc/{world.servers[0].process.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def close_code(sock: Socket, within: float = 15) -> int:
    try:
        async with asyncio.timeout(within):
            while True:
                sock.events.append(json.loads(await sock.conn.recv()))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code
    raise AssertionError("unreachable")


def test_oversized_frames_close_with_1009_and_memory_stays_flat(
    world: World, session: SessionHandle
) -> None:
    asyncio.run(_oversized(world, session))


async def _oversized(world: World, session: SessionHandle) -> None:
    rounds = repetitions(ci=10, full=200)
    async with world.connect(session, as_="student") as sock:
        await sock.recv()
        # Over FRAME_MAX_BYTES, under the hard cap: refused politely, the socket stays.
        await sock.conn.send('{"type": "say", "text": "' + "a" * (100 * 1024) + '"}')
        refused = await sock.until(lambda e: e["type"] == "error")
        assert refused["code"] == "too_large"
    before = rss_mib(world)
    payload = "x" * (2 * HARD_LIMIT)
    for _ in range(rounds):
        sock = await world.connect(session, as_="student", compression=None)
        await sock.recv()
        try:
            await sock.conn.send(payload)
        except ConnectionClosed as closed:  # closed while the frame was still going out
            assert closed.rcvd is not None and closed.rcvd.code == 1009
            continue
        assert await close_code(sock) == 1009
    grown = rss_mib(world) - before
    print(
        f"HARDENING frame limit: {rounds} frames of {2 * HARD_LIMIT // MiB} MiB each closed "
        f"with 1009; server RSS {before:.0f} MiB -> {before + grown:.0f} MiB "
        f"({grown:+.1f} MiB, limit +{FLAT_MIB})"
    )
    assert grown < FLAT_MIB


def test_a_compressed_bomb_is_closed_before_it_inflates(
    world: World, session: SessionHandle
) -> None:
    asyncio.run(_bomb(world, session))


async def _bomb(world: World, session: SessionHandle) -> None:
    before = rss_mib(world)
    bomb = "\x00" * (64 * MiB)  # deflates to ~64 KiB on the wire
    sock = await world.connect(session, as_="student", compression="deflate", max_size=None)
    assert sock.conn.protocol.extensions, "permessage-deflate was not negotiated"
    await sock.recv()
    await sock.conn.send(bomb)
    code = await close_code(sock)
    del bomb
    grown = rss_mib(world) - before
    print(
        f"HARDENING compression bomb: 64 MiB of zeros sent deflated; closed with {code}; "
        f"server RSS {grown:+.1f} MiB"
    )
    assert code == 1009
    assert grown < FLAT_MIB
    # The server is fine: a new socket works.
    async with world.connect(session, as_="student") as again:
        assert (await again.recv())["type"] == "welcome"


@pytest.mark.timing  # asserts a wall-clock promise: run alone
def test_floods_are_throttled(world: World, session: SessionHandle) -> None:
    asyncio.run(_flood(world, session))


async def _flood(world: World, session: SessionHandle) -> None:
    # A say flood: 5 says per 10 s are taken, the rest refused, then the socket is closed
    # for abuse (20 refused frames a minute).
    flood = 2_000
    async with world.connect(session, as_="student") as sock:
        await sock.recv()
        sent = 0
        try:
            for n in range(flood):
                await sock.send(type="say", text=f"flood {n}", client_id=f"f{n}")
                sent += 1
        except ConnectionClosed:
            pass
        code = await close_code(sock)
    taken = sum(1 for e in sock.events if e["type"] == "message" and e["role"] == "student")
    limited = sum(1 for e in sock.events if e.get("code") == "rate_limited")
    assert code == 1008
    assert taken <= 5 and limited >= 1
    # A ping flood on one socket while another measures its round trips.
    pings = repetitions(ci=2_000, full=20_000)
    async with (
        world.connect(session, as_="teacher") as flooder,
        world.connect(session, as_="teacher") as witness,
    ):
        await flooder.recv()
        await witness.recv()
        quiet = await _round_trip(witness, "quiet")

        async def spam() -> None:
            for n in range(pings):
                await flooder.send(type="ping", nonce=str(n))

        async def drain() -> int:
            got = 0
            while got < pings:
                if (await flooder.recv())["type"] == "pong":
                    got += 1
            return got

        began = time.monotonic()
        spam_task = asyncio.gather(spam(), drain())
        during = max([await _round_trip(witness, f"w{k}") for k in range(5)])
        _, answered = await spam_task
        seconds = time.monotonic() - began
    print(
        f"HARDENING floods: {sent} says sent, {taken} taken, {limited} refused as "
        f"rate_limited, then closed with {code}; {pings} pings answered in {seconds:.2f} s "
        f"({answered / seconds:.0f}/s) while another socket's round trip went "
        f"{quiet * 1000:.0f} -> {during * 1000:.0f} ms"
    )
    assert during < 2.0


async def _round_trip(sock: Socket, nonce: str) -> float:
    began = time.monotonic()
    await sock.send(type="ping", nonce=nonce)
    await sock.until(lambda e: e["type"] == "pong" and e.get("nonce") == nonce)
    return time.monotonic() - began
