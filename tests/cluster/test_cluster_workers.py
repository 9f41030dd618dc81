"""Two real ``vclient serve`` workers on one Redis Cluster and one PostgreSQL: sockets of
one session on different workers, sessions on different cluster nodes, nothing sticky."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio.cluster import RedisCluster

from tests.cluster.test_cluster_backend import node_of
from tests.integration.test_ws_flow import assert_contiguous, is_end, reply_text
from tests.support.world import SessionHandle, World, make_world, student_view

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    database_url: str = request.getfixturevalue("postgres_url")
    redis_url: str = request.getfixturevalue("redis_cluster_url")
    prefix: str = request.getfixturevalue("redis_cluster_prefix")
    with make_world(
        tmp_path,
        database_url,
        redis_url,
        2,
        REDIS_KEY_PREFIX=prefix,
        HEARTBEAT_SECONDS="0.5",
        PRESENCE_TTL_SECONDS="2",
    ) as w:
        yield w


def sessions_on_two_nodes(world: World, admin: RedisCluster) -> list[SessionHandle]:
    """New sessions until two live on different nodes (1 in 3 share a node: ~3 tries)."""
    found: dict[str, SessionHandle] = {}
    for _ in range(20):
        session = world.new_session()
        found.setdefault(node_of(admin, session.id), session)
        if len(found) == 2:
            return list(found.values())
    raise AssertionError("twenty sessions on one node")


async def student_and_teacher_on_different_workers(world: World, session: SessionHandle) -> None:
    async with (
        world.connect(session, as_="student", worker=0) as student,
        world.connect(session, as_="teacher", worker=1) as teacher,
    ):
        assert (await student.recv())["role"] == "student"
        assert (await teacher.recv())["role"] == "teacher"
        await student.send(type="say", text="It has been a hard week, hasn't it?", client_id="c1")
        done = await student.until(is_end())
        await teacher.until(is_end())
        assert done["type"] == "reply.done" and done["text"]
        assert reply_text(teacher.events, done["reply_id"]) == done["text"]
        # The same events, in the same order, from the first seq both have (the student's
        # without the observers-only client state).
        common = max(student.seqs()[0], teacher.seqs()[0])
        tails = [
            [e for e in student_view(sock.sequenced()) if e["seq"] >= common]
            for sock in (student, teacher)
        ]
        until = min(tail[-1]["seq"] for tail in tails)
        s_seen, t_seen = ([e for e in tail if e["seq"] <= until] for tail in tails)
        assert s_seen == t_seen
        assert_contiguous(teacher.seqs())


async def resume_on_the_other_worker(world: World, session: SessionHandle) -> None:
    # An observer sees every event: the student's must be exactly its student view.
    async with world.connect(session, as_="teacher", worker=1) as observer:
        await observer.recv()
        async with world.connect(session, as_="student", worker=0) as first:
            await first.recv()
            await first.send(type="say", text="Tell me more, I'm listening.", client_id="c2")
            start = await first.until(lambda e: e["type"] == "reply.start")
            await first.until(lambda e: e["type"] == "reply.delta")
            cut_at = first.events[-1]["seq"]
        async with world.connect(session, as_="student", worker=1, after=cut_at) as second:
            done = await second.until(is_end(start["reply_id"]))
        await observer.until(is_end(start["reply_id"]))
    # From the reply's start (the first socket also replayed the earlier history).
    seen = [e for e in first.sequenced() + second.sequenced() if e["seq"] >= start["seq"]]
    expected = [
        e for e in student_view(observer.sequenced()) if start["seq"] <= e["seq"] <= done["seq"]
    ]
    assert [e["seq"] for e in seen] == [e["seq"] for e in expected]
    assert_contiguous([e["seq"] for e in observer.sequenced() if e["seq"] >= start["seq"]])
    assert second.sequenced()[0]["seq"] > cut_at
    assert reply_text(seen, start["reply_id"]) == done["text"]


async def test_two_workers_serve_sessions_on_different_nodes(
    world: World, admin: RedisCluster
) -> None:
    sessions = sessions_on_two_nodes(world, admin)
    await asyncio.gather(*(student_and_teacher_on_different_workers(world, s) for s in sessions))
    await asyncio.gather(*(resume_on_the_other_worker(world, s) for s in sessions))
    async with httpx.AsyncClient() as http:
        for server in world.servers:
            ready = await http.get(server.base_url + "/readyz")  # PINGs the cluster
            assert ready.status_code == 200, ready.text
            assert "Traceback" not in server.log()
