"""Transcripts survive crashes: a web worker killed mid-reply, the flusher killed
mid-batch, the database cut off under load (Redis + PostgreSQL, real processes)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from websockets.exceptions import ConnectionClosed

from tests.integration.transcript_helpers import (
    FLUSH_PROMISE_SECONDS,
    acknowledged,
    assert_no_duplicates,
    teacher_client,
    transcript_items,
    until_in_sql,
)
from tests.support.processes import cli_process
from tests.support.servers import ManagedProcess, running_server
from tests.support.tcpproxy import TcpProxy, running_proxy
from tests.support.world import Socket, World, make_world

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


def is_end(event: dict[str, Any]) -> bool:
    return event.get("type") in ("reply.done", "reply.error")


# -- a web worker killed mid-reply ------------------------------------------------------------


def test_killed_worker_loses_nothing_acknowledged(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database_url: str = request.getfixturevalue("postgres_url")
    redis_url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    # The dead worker's reply lock lapses after 2 s instead of 30 s.
    with make_world(
        tmp_path, database_url, redis_url, 2, REDIS_KEY_PREFIX=prefix, REPLY_LOCK_SECONDS="2"
    ) as world:
        asyncio.run(_killed_worker(world))


async def _say_when_free(sock: Socket, text: str, client_id: str) -> None:
    """Say, retrying while a dead worker's reply lock has not lapsed yet."""
    async with asyncio.timeout(20):
        while True:
            await sock.send(type="say", text=text, client_id=client_id)
            answer = await sock.until(
                lambda e: e["type"] == "error" or e.get("client_id") == client_id
            )
            if answer["type"] == "message":
                return
            assert answer["code"] in ("reply_in_progress", "rate_limited"), answer
            await asyncio.sleep(1.0)  # the lock lapses on its own clock; nothing announces it


async def _killed_worker(world: World) -> None:
    session = world.new_session()
    sid = session.id
    async with world.connect(session, as_="student", worker=0) as first:
        await first.recv()
        await first.send(type="say", text="How have you been sleeping lately?", client_id="k1")
        await first.until(is_end)
        await first.send(type="say", text="And how is work going for you?", client_id="k2")
        cut = await first.until(lambda e: e["type"] == "reply.start")
        await first.until(lambda e: e["type"] == "reply.delta")
        world.servers[0].kill()  # kill -9 mid-reply
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            while True:
                await first.recv(within=10)
    with running_server(world.env, world.cwd) as fresh:  # the restarted worker
        async with world.connect(session, as_="student", worker=fresh) as second:
            await second.recv()
            await _say_when_free(second, "Shall we carry on?", "k3")
            await second.until(lambda e: is_end(e) and e.get("reply_id") != cut["reply_id"])
        seen = first.events + second.events
        async with teacher_client(world, 1) as http:
            items = await until_in_sql(http, sid, acknowledged(seen), within=FLUSH_PROMISE_SECONDS)
    assert_no_duplicates(items)
    assert [i["client_id"] for i in items if i["role"] == "student"] == ["k1", "k2", "k3"]
    # The reply cut by the kill was closed as failed (with its partial text) by the next say.
    cut_rows = [i for i in items if i["reply_id"] == cut["reply_id"]]
    assert [(i["failed"], bool(i["text"])) for i in cut_rows] == [(True, True)]


# -- the flusher killed mid-batch -------------------------------------------------------------


def flusher_process(world: World) -> AbstractContextManager[ManagedProcess]:
    """``vclient flusher`` as its own process, once it says it is running."""
    return cli_process(["flusher"], world.env, world.cwd)


def plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def whisper_counts(dsn: str, sid: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        messages = await conn.fetchval(
            "select count(*) from messages where session_id = $1 and role = 'whisper'",
            uuid.UUID(sid),
        )
        events = await conn.fetchval(
            "select count(*) from session_events where session_id = $1 and kind = 'whisper'",
            uuid.UUID(sid),
        )
    finally:
        await conn.close()
    return int(messages), int(events)


def test_killed_flusher_resumes_without_loss_or_duplicates(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database_url: str = request.getfixturevalue("postgres_url")
    redis_url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    with make_world(
        tmp_path,
        database_url,
        redis_url,
        1,
        REDIS_KEY_PREFIX=prefix,
        FLUSHER_IN_PROCESS="false",
        FLUSH_BATCH_EVENTS="5",  # many small transactions: easy to kill mid-way
    ) as world:
        asyncio.run(_killed_flusher(world, plain_dsn(database_url), redis_url, prefix))


async def _killed_flusher(world: World, dsn: str, redis_url: str, prefix: str) -> None:
    total = 1_000
    session = world.new_session()
    sid = session.id
    async with world.connect(session, as_="teacher") as teacher:
        await teacher.recv()
        for n in range(total):
            await teacher.send(type="whisper", text=f"hint {n}")
        await teacher.until(lambda e: e.get("text") == f"hint {total - 1}", within=60)
    assert await whisper_counts(dsn, sid) == (0, 0)  # no flusher yet: all in the live log
    with flusher_process(world) as flusher:
        async with asyncio.timeout(20):
            while (await whisper_counts(dsn, sid))[0] == 0:  # noqa: ASYNC110 - polling SQL
                await asyncio.sleep(0.005)
        flusher.kill()  # kill -9 while it works through the backlog
    at_kill = await whisper_counts(dsn, sid)
    print(f"flusher killed with {at_kill[0]} of {total} whispers in SQL")
    assert 0 < at_kill[0] < total
    with flusher_process(world):
        async with asyncio.timeout(20):
            while await whisper_counts(dsn, sid) != (total, total):  # noqa: ASYNC110 - polling SQL
                await asyncio.sleep(0.02)
        async with teacher_client(world) as http:
            items = await transcript_items(http, sid)
    assert_no_duplicates(items)
    assert [i["text"] for i in items] == [f"hint {n}" for n in range(total)]
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        assert await redis.xlen(f"{prefix}:{{{sid}}}:durable") == 0  # all acknowledged
    finally:
        await redis.aclose()


# -- the database cut off under load ----------------------------------------------------------


def test_database_outage_loses_nothing_and_readyz_reports_it(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database_url: str = request.getfixturevalue("postgres_url")
    redis_url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    real = make_url(database_url)
    with running_proxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        proxied = real.set(host="127.0.0.1", port=proxy.port)
        with make_world(
            tmp_path,
            proxied.render_as_string(hide_password=False),
            redis_url,
            2,
            REDIS_KEY_PREFIX=prefix,
        ) as world:
            asyncio.run(_outage(world, proxy, plain_dsn(database_url)))


async def _readyz(http: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await http.get("/readyz")
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def _until_ready_state(world: World, check: Any, within: float) -> list[dict[str, Any]]:
    """Poll every worker's /readyz until ``check(status, body)`` holds for all."""
    async with asyncio.timeout(within):
        while True:
            answers = []
            for server in world.servers:
                async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
                    answers.append(await _readyz(http))
            if all(check(code, body) for code, body in answers):
                return [body for _, body in answers]
            await asyncio.sleep(0.05)


def _on_duty(body: dict[str, Any], check: Any) -> bool:
    """``check`` of a worker's flusher lag, if its flusher holds the deployment's duty:
    one does, and the others stand by (realtime/duty.py), with no lag of their own."""
    flusher: dict[str, Any] = body["checks"]["flusher"]
    return flusher["duty"] == "standby" or bool(check(flusher))


def _duties(bodies: list[dict[str, Any]]) -> list[str]:
    return sorted(body["checks"]["flusher"]["duty"] for body in bodies)


async def _whisper_until_closed(teacher: Socket, acked: list[str], cut: asyncio.Event) -> None:
    """Whisper steadily; keep the texts echoed back (acknowledged) until the server answers
    `unavailable` (it cannot store a whisper without SQL; the socket stays open, as an
    outage is not the client's abuse) or the socket ends."""
    refused = asyncio.Event()

    async def send() -> None:
        for n in range(2_000):
            if refused.is_set():
                return
            await teacher.send(type="whisper", text=f"load {n}")
            if n == 50:
                cut.set()
            await asyncio.sleep(0.005)  # a steady stream, ~200 whispers/s

    async def read() -> None:
        while True:
            event = await teacher.recv(within=30)
            if event.get("role") == "whisper":
                acked.append(event["message_id"])
            elif event.get("code") == "unavailable":
                refused.set()
                return

    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(send())
            tasks.create_task(read())
    except* (ConnectionClosed, TimeoutError):
        pass  # the socket ended: the server could not serve a whisper without SQL


async def _outage(world: World, proxy: TcpProxy, dsn: str) -> None:
    session = world.new_session()
    sid = session.id
    acked: list[str] = []
    async with world.connect(session, as_="student", worker=0) as student:
        await student.recv()
        await student.send(type="say", text="Before the outage: how are you?", client_id="o1")
        await student.until(is_end)
        cut = asyncio.Event()
        teacher = await world.connect(session, as_="teacher", worker=1)
        await teacher.recv()
        load = asyncio.create_task(_whisper_until_closed(teacher, acked, cut))
        await cut.wait()
        proxy.cut()  # the database is gone for every app process
        cut_at = time.monotonic()
        # Both workers report it, not ready; the flusher on duty retrying.
        during = await _until_ready_state(
            world,
            lambda code, body: code == 503 and _on_duty(body, lambda f: f["status"] == "retrying"),
            within=15,
        )
        assert _duties(during) == ["held", "standby"], during
        await load  # whispers stop being acknowledged once they need the database
        await teacher.close()
        in_sql = (await whisper_counts(dsn, sid))[0]
        if in_sql < len(acked):
            # Acknowledged but not yet flushed when the cut came: the lag shows it.
            during = await _until_ready_state(
                world,
                lambda code, body: _on_duty(body, lambda f: f["unflushed_events"] > 0),
                within=15,
            )
            assert _duties(during) == ["held", "standby"], during
        # A say while SQL is away is refused with a clear error (nothing acknowledged,
        # so the client sends it again later) and the socket stays usable. The student's
        # worker may be the flusher's standby, with nothing of its own asking SQL: it
        # knows of the outage from its /readyz probe above.
        await student.send(type="say", text="During the outage?", client_id="o2")
        said = await student.until(
            lambda e: e["type"] == "error" or e.get("client_id") == "o2", within=15
        )
        assert (said["type"], said["code"]) == ("error", "unavailable")
        await student.send(type="ping", nonce="still-open")
        await student.until(lambda e: e["type"] == "pong", within=5)
        # A few seconds of outage: the flusher on duty failed and backed off 4 times
        # (~3.75 s), keeping its duty through the longer waits.
        late = await _until_ready_state(
            world,
            lambda code, body: code == 503 and _on_duty(body, lambda f: f["failed_scans"] >= 4),
            within=15,
        )
        assert _duties(late) == ["held", "standby"], late
        outage = time.monotonic() - cut_at
    proxy.restore()
    restored_at = time.monotonic()
    await _until_ready_state(
        world,
        lambda code, body: code == 200 and body["checks"]["flusher"]["status"] == "ok",
        within=20,
    )
    caught_up = time.monotonic() - restored_at
    print(
        f"outage {outage:.1f} s; {len(acked)} whispers acknowledged, {in_sql} in SQL at the cut;"
        f" flusher lag during: {[b['checks']['flusher'] for b in during]};"
        f" ready again {caught_up:.2f} s after the restore"
    )
    seen = student.events
    async with teacher_client(world, 0) as http:
        wanted = acknowledged(seen) | set(acked)
        items = await until_in_sql(http, sid, wanted, within=FLUSH_PROMISE_SECONDS)
        events = (await http.get(f"/api/sessions/{sid}/events")).json()["items"]
    assert_no_duplicates(items)
    whispers = [i for i in items if i["role"] == "whisper"]
    assert len(whispers) >= len(acked) > 0
    assert len([e for e in events if e["kind"] == "whisper"]) == len(whispers)
    # And the session carries on.
    async with world.connect(session, as_="student", worker=1) as again:
        await again.recv()
        await again.send(type="say", text="After the outage, hello again.", client_id="o3")
        done = await again.until(is_end)
    assert done["type"] == "reply.done"
    async with teacher_client(world, 0) as http:
        await until_in_sql(http, sid, {done["message_id"]}, within=FLUSH_PROMISE_SECONDS)
