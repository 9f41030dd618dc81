"""The Redis backend on a real 3-master Cluster: sessions spread over the nodes, one
blocking lane per slot, wake-ups on the owning node, and a slot moved live (MOVED/ASK)
without a lost, duplicated or burnt seq. The backend contract suite also runs on the
cluster (tests/realtime/contract, param ``cluster``)."""

from __future__ import annotations

import asyncio
import itertools
from contextlib import AsyncExitStack
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from tests.cluster.conftest import MakeBackend
from tests.realtime.contract.rt_helpers import delta, eventually, take, text_of, until_live
from tests.support.redis_cluster import LocalCluster

pytestmark = pytest.mark.redis


def node_of(admin: RedisCluster, session_id: str) -> str:
    return str(admin.nodes_manager.get_node_from_slot(key_slot(session_id.encode())).name)


def same_slot_as(session_id: str) -> str:
    """Another session id whose keys hash to the same slot (~16k crc16 tries, ~10 ms)."""
    slot = key_slot(session_id.encode())
    for n in itertools.count():
        candidate = f"{session_id}x{n}"
        if key_slot(candidate.encode()) == slot:
            return candidate
    raise AssertionError("unreachable")


async def test_sessions_on_every_node_each_get_their_own_events(
    make_backend: MakeBackend, admin: RedisCluster
) -> None:
    follower, writer = make_backend(), make_backend()
    sessions = [f"spread{n}" for n in range(12)]
    assert len({node_of(admin, sid) for sid in sessions}) == 3  # all three masters serve
    for sid in sessions:
        await writer.open_log(sid, 0)
    async with AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(follower.subscribe(sid, 0)) for sid in sessions]
        assert follower.reader.lanes == len({key_slot(s.encode()) for s in sessions})
        for round_ in range(3):
            await asyncio.gather(
                *(writer.append(sid, [delta(n * 10 + round_)]) for n, sid in enumerate(sessions))
            )
        got = [await take(events, 3) for events in streams]
    for n, events in enumerate(got):
        assert [e.seq for e in events] == [1, 2, 3]
        assert sorted(text_of(e) for e in events) == [str(n * 10 + r) for r in range(3)]


async def test_a_worker_is_woken_on_every_node_by_others_appends_only(
    make_backend: MakeBackend, admin: RedisCluster
) -> None:
    """The wake streams live in each session's slot, beside its log: the append script
    reaches them on the session's node, and each slot's lane blocks on them there."""
    worker, other = make_backend(), make_backend()
    sessions = [f"woken{n}" for n in range(9)]
    assert len({node_of(admin, sid) for sid in sessions}) == 3
    for sid in sessions:
        await worker.open_log(sid, 0)
    async with AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(worker.subscribe(sid, 0)) for sid in sessions]
        await asyncio.gather(*(worker.append(sid, [delta(0)]) for sid in sessions))
        await until_live(lambda: worker.reader.blocked)
        answers = worker.reader.answers
        for round_ in range(1, 4):
            await asyncio.gather(*(worker.append(sid, [delta(round_)]) for sid in sessions))
        assert worker.reader.blocked and worker.reader.answers == answers
        await asyncio.gather(*(other.append(sid, [delta(4)]) for sid in sessions))
        got = [await take(events, 5) for events in streams]
        assert worker.reader.answers > answers  # counted over the lanes open (they retire)
    assert all([text_of(e) for e in events] == ["0", "1", "2", "3", "4"] for events in got)


@pytest.mark.timing
async def test_streams_of_one_slot_share_a_lane_and_a_wake_up(make_backend: MakeBackend) -> None:
    """Two sessions in one slot: the second subscriber joins the lane's blocked XREAD by
    CLIENT UNBLOCK on the owning node, well before the 5 s block timeout."""
    backend = make_backend()
    first = "slotmate"
    second = same_slot_as(first)
    await backend.open_log(first, 0)
    await backend.open_log(second, 0)
    async with backend.subscribe(first, after=0):
        await asyncio.sleep(0.05)  # let the lane block on the first stream
        async with backend.subscribe(second, after=0) as events:
            assert backend.reader.lanes == 1
            await backend.append(second, [delta(1)])
            got = await asyncio.wait_for(take(events, 1), 1.5)
    assert got[0].seq == 1


async def test_idle_lanes_close_their_connections(make_backend: MakeBackend) -> None:
    backend = make_backend()
    for sid in ("idle-a", "idle-b"):
        await backend.open_log(sid, 0)
        async with backend.subscribe(sid, after=0):
            assert backend.reader.lanes == 1

    async def retired() -> bool:  # once its XREAD was unblocked
        return not backend.reader.lanes and not backend.reader.running

    await eventually(retired)


async def command(node: Redis, *args: Any) -> Any:
    """One raw command (redis-py leaves ``execute_command`` untyped)."""
    return await node.execute_command(*args)  # type: ignore[no-untyped-call]


async def migrate_slot(cluster: LocalCluster, admin: RedisCluster, slot: int) -> None:
    """Move ``slot`` to another master the way ``redis-cli --cluster reshard`` does."""
    source_port = int(admin.nodes_manager.get_node_from_slot(slot).port)
    target_port = next(port for port in cluster.ports if port != source_port)
    nodes = {port: Redis(port=port, decode_responses=True) for port in cluster.ports}
    try:
        ids = {port: await command(node, "CLUSTER MYID") for port, node in nodes.items()}
        source, target = nodes[source_port], nodes[target_port]
        await command(target, "CLUSTER SETSLOT", slot, "IMPORTING", ids[source_port])
        await command(source, "CLUSTER SETSLOT", slot, "MIGRATING", ids[target_port])
        while keys := await command(source, "CLUSTER GETKEYSINSLOT", slot, 100):
            await command(source, "MIGRATE", "127.0.0.1", target_port, "", 0, 5000, "KEYS", *keys)
            await asyncio.sleep(0.02)  # appends keep running between batches
        for port in (target_port, source_port, *nodes):
            await command(nodes[port], "CLUSTER SETSLOT", slot, "NODE", ids[target_port])
    finally:
        for node in nodes.values():
            await node.aclose()


async def test_a_slot_moved_live_loses_nothing(
    make_backend: MakeBackend, admin: RedisCluster, redis_cluster: LocalCluster
) -> None:
    """A follower on one worker, a writer on another appending every few ms while the
    session's slot moves to another node: the writer's seqs are exactly 1..n (no append
    ran twice) and the follower receives them all, in order, without a gap."""
    follower, writer = make_backend(), make_backend()
    sid = "migrating"
    await writer.open_log(sid, 0)
    done = asyncio.Event()
    written: list[int] = []

    async def write() -> None:
        for n in itertools.count():
            written.extend(await writer.append(sid, [delta(n)]))
            if done.is_set() and n > 20:
                return
            await asyncio.sleep(0.003)

    async with follower.subscribe(sid, after=0) as events:
        before = node_of(admin, sid)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(write())
            await asyncio.sleep(0.1)
            await migrate_slot(redis_cluster, admin, key_slot(sid.encode()))
            await asyncio.sleep(0.1)
            done.set()
        await admin.nodes_manager.initialize()
        assert node_of(admin, sid) != before
        received = await take(events, len(written))
    assert written == list(range(1, len(written) + 1))
    assert [e.seq for e in received] == written
    assert [text_of(e) for e in received] == [str(n) for n in range(len(written))]


async def test_the_readers_epoch_lookup_spans_nodes_without_a_pipeline(
    make_backend: MakeBackend, admin: RedisCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a reconnect, a reader asks every session's log for its epoch: on a Cluster
    one HGET each (a cluster pipeline that fails on one node closes every connection of
    the shared client, and commands in flight on them are sent again)."""
    backend = make_backend()
    sessions = [f"epochs{n}" for n in range(6)]
    assert len({node_of(admin, sid) for sid in sessions}) > 1
    opened = [(await backend.open_log(sid, 0)).epoch for sid in sessions]

    def no_pipeline(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a cluster pipeline")

    monkeypatch.setattr(RedisCluster, "pipeline", no_pipeline)
    found = await backend._current_epochs([*sessions, "never-opened"])
    assert found == [*opened, None]
