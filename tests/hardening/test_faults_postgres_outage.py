"""PostgreSQL stopped under load (issue 16, "Faults"): nothing lost; the backlog drains
after it returns; ``/readyz`` tells the truth throughout.

The app reaches PostgreSQL through a TCP proxy of ours which cuts every connection and
refuses new ones (the shared server is never stopped). A teacher whispers steadily on one
worker, backing off politely while the server answers ``unavailable``; ``/readyz`` of
both workers is sampled twice a second the whole time. The outage lasts 6 s by default,
60 s with ``HARDENING_FULL=1``. Two real workers, the shared Redis, a fresh database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from websockets.exceptions import ConnectionClosed

from tests.hardening.conftest import FULL
from tests.integration.transcript_helpers import (
    FLUSH_PROMISE_SECONDS,
    acknowledged,
    assert_no_duplicates,
    teacher_client,
    until_in_sql,
)
from tests.support.tcpproxy import TcpProxy, running_proxy
from tests.support.world import Socket, World, make_world

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

OUTAGE_SECONDS = 60.0 if FULL else 6.0
# A sample started this soon after the cut may still see a connection that worked, and
# one started this soon before the restore may get its probe answered after it (/readyz
# gives a probe 2 s, routes_health.PROBE_TIMEOUT_SECONDS): both honestly report the other
# state, so they are not judged.
AFTER_CUT_SECONDS, BEFORE_RESTORE_SECONDS = 1.0, 2.5
SAMPLE_EVERY_SECONDS = 0.5
WHISPER_EVERY_SECONDS = 0.2
# A polite client waits this long after an ``unavailable`` before trying again.
BACKOFF_SECONDS = 3.0
# After the restore: the flushers' backoff is at most 5 s, then one scan catches up.
CAUGHT_UP_WITHIN_SECONDS = 20.0


@dataclass
class Timeline:
    cut_at: float = 0.0
    restored_at: float = 0.0
    samples: list[tuple[float, int, int, dict[str, Any]]] = field(default_factory=list)

    def during_outage(self) -> list[tuple[float, int, int, dict[str, Any]]]:
        """Samples started once the cut had settled and answered before the restore."""
        return [
            s
            for s in self.samples
            if self.cut_at + AFTER_CUT_SECONDS <= s[0] <= self.restored_at - BEFORE_RESTORE_SECONDS
        ]


@pytest.fixture
def proxied(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, TcpProxy]]:
    database_url: str = request.getfixturevalue("postgres_url")
    real = make_url(database_url)
    with running_proxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        through = real.set(host="127.0.0.1", port=proxy.port)
        with make_world(
            tmp_path,
            through.render_as_string(hide_password=False),
            request.getfixturevalue("redis_url"),
            2,
            REDIS_KEY_PREFIX=request.getfixturevalue("redis_prefix"),
        ) as world:
            yield world, proxy


async def sample_readyz(world: World, timeline: Timeline, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        while not stop.is_set():
            for index, server in enumerate(world.servers):
                started = time.monotonic()
                response = await http.get(server.base_url + "/readyz")
                timeline.samples.append((started, index, response.status_code, response.json()))
            await asyncio.sleep(SAMPLE_EVERY_SECONDS)  # the sampling period


async def whisper_load(teacher: Socket, acked: list[dict[str, Any]], stop: asyncio.Event) -> int:
    """Whisper until ``stop``; back off after each ``unavailable``. Returns how many were
    refused. The socket must stay open throughout."""
    refused = n = 0
    while not stop.is_set():
        text = f"load {n}"
        n += 1
        await teacher.send(type="whisper", text=text)

        def answers(event: dict[str, Any], text: str = text) -> bool:
            return event["type"] == "error" or event.get("text") == text

        answer = await teacher.until(answers, within=30)
        if answer["type"] == "error":
            assert answer["code"] == "unavailable", answer
            refused += 1
            await asyncio.sleep(BACKOFF_SECONDS)  # a polite client's backoff
        else:
            acked.append(answer)
            await asyncio.sleep(WHISPER_EVERY_SECONDS)  # the steady load's pace
    return refused


def test_postgres_outage_under_load(proxied: tuple[World, TcpProxy]) -> None:
    world, proxy = proxied
    asyncio.run(_outage(world, proxy))


async def _outage(world: World, proxy: TcpProxy) -> None:
    session = world.new_session()
    timeline, stop_sampling, stop_load = Timeline(), asyncio.Event(), asyncio.Event()
    acked: list[dict[str, Any]] = []
    sampler = asyncio.create_task(sample_readyz(world, timeline, stop_sampling))
    async with (
        world.connect(session, as_="student", worker=0, max_queue=None) as student,
        world.connect(session, as_="teacher", worker=1) as teacher,
    ):
        await student.recv()
        await teacher.recv()
        await student.send(type="say", text="Before the outage: how are you?", client_id="p1")
        await student.until(lambda e: e["type"] == "reply.done")
        load = asyncio.create_task(whisper_load(teacher, acked, stop_load))
        await asyncio.sleep(1.0)  # a second of steady load before the cut
        proxy.cut()
        timeline.cut_at = time.monotonic()
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself
        proxy.restore()
        timeline.restored_at = time.monotonic()
        # Ready again, the flusher caught up, on both workers.
        async with asyncio.timeout(CAUGHT_UP_WITHIN_SECONDS):
            while True:
                recent = [s for s in timeline.samples[-2:] if s[0] > timeline.restored_at]
                if len(recent) == 2 and all(
                    code == 200
                    and body["checks"]["flusher"]["status"] == "ok"
                    and body["checks"]["flusher"]["unflushed_events"] == 0
                    for _, _, code, body in recent
                ):
                    break
                await asyncio.sleep(SAMPLE_EVERY_SECONDS)  # the sampler's period
        caught_up = time.monotonic() - timeline.restored_at
        await asyncio.sleep(1.0)  # a second of load after the recovery
        stop_load.set()
        try:
            refused = await load
        except ConnectionClosed as closed:
            raise AssertionError(f"the teacher's socket was closed: {closed!r}") from None
        await student.send(type="say", text="After the outage, hello again.", client_id="p2")
        done = await student.until(lambda e: e["type"] == "reply.done")
    stop_sampling.set()
    await sampler
    # /readyz told the truth: never ready while cut, ready again after the restore.
    during = timeline.during_outage()
    assert during, "no sample during the outage"
    lies = [(round(t - timeline.cut_at, 1), i, code) for t, i, code, _ in during if code != 503]
    assert lies == []
    assert all(body["checks"]["database"] != "ok" for *_, body in during)
    assert any(body["checks"]["flusher"]["status"] == "retrying" for *_, body in during)
    # Nothing acknowledged lost, nothing twice.
    wanted = acknowledged(student.events) | {e["message_id"] for e in acked} | {done["message_id"]}
    async with teacher_client(world, 0) as http:
        items = await until_in_sql(http, session.id, wanted, within=FLUSH_PROMISE_SECONDS)
    assert_no_duplicates(items)
    print(
        f"HARDENING faults: PostgreSQL cut for {OUTAGE_SECONDS:g} s under load:"
        f" {len(acked)} whispers acknowledged, {refused} refused as unavailable (client backed"
        f" off), 0 lost, 0 duplicated; /readyz 503 in all {len(during)} samples of the outage,"
        f" ready and caught up {caught_up:.1f} s after the restore"
    )


def test_refusals_for_an_outage_are_not_abuse(proxied: tuple[World, TcpProxy]) -> None:
    world, proxy = proxied
    asyncio.run(_retrying_through_an_outage(world, proxy))


async def _retrying_through_an_outage(world: World, proxy: TcpProxy) -> None:
    """A client that sends again after each ``unavailable`` (as the protocol asks), 25
    times (a minute of one retry every 2.4 s, compressed), keeps its socket."""
    session = world.new_session()
    async with world.connect(session, as_="teacher", worker=0) as teacher:
        await teacher.recv()
        proxy.cut()
        try:
            for n in range(25):
                await teacher.send(type="whisper", text=f"retry {n}")
                answer = await teacher.until(lambda e: e["type"] == "error", within=15)
                assert answer["code"] == "unavailable", answer
        finally:
            proxy.restore()
        await teacher.send(type="ping", nonce="still-open")
        await teacher.until(lambda e: e["type"] == "pong", within=15)
