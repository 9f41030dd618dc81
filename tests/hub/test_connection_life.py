"""A real :class:`Connection` over an in-memory transport: it registers with the process's
heartbeat while open, a revocation (even one made before it runs) closes it with its code
and lets nothing more out (not even a frame the transport would take at once), and a
cancellation (shutdown) is passed on even as a revocation lands. Frames go out the same
whether the transport takes them directly or only through ``send``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from realtime.backends.base import BackendUnavailable, Subscription
from realtime.connection import Connection, Principal, SocketParts
from realtime.events import ReplyDelta
from realtime.vocabulary import CloseCode, Role
from tests.hub.socket_rig import MemoryTransport, Rig, open_rig, socket_parts


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as rig:
        yield rig


@pytest.fixture
async def parts(rig: Rig) -> AsyncIterator[SocketParts]:
    async with socket_parts(rig) as parts:
        yield parts


async def test_a_socket_is_beaten_for_while_open_and_a_revocation_closes_it(
    rig: Rig, parts: SocketParts
) -> None:
    sid = await rig.new_session()
    transport = MemoryTransport()
    connection = Connection(parts, transport, Principal(Role.TEACHER, sid), None, live=True)
    running = asyncio.create_task(connection.run())
    async with asyncio.timeout(10):
        await transport.first_frame.wait()  # its welcome
    assert len(rig.heartbeat) == 1
    assert (await rig.board.current(sid)).observers == 1
    connection.revoke(CloseCode.REVOKED, "credentials revoked")
    connection.revoke(CloseCode.RESTART, "a second ask is ignored")
    async with asyncio.timeout(10):
        await running
    assert transport.closed == (CloseCode.REVOKED, "credentials revoked")
    assert len(rig.heartbeat) == 0
    assert (await rig.board.current(sid)).observers == 0


@pytest.mark.parametrize("direct", [True, False])
async def test_live_frames_go_out_directly_or_through_the_writer_and_none_after_a_revocation(
    rig: Rig, parts: SocketParts, direct: bool
) -> None:
    sid = await rig.new_session()
    transport = MemoryTransport(direct=direct)
    connection = Connection(parts, transport, Principal(Role.TEACHER, sid), None, live=True)
    running = asyncio.create_task(connection.run())
    async with asyncio.timeout(10):
        await transport.first_frame.wait()  # its welcome
    live = ReplyDelta(reply_id="r1", text="live-marker")
    await rig.backend.append(str(sid), [live])
    async with asyncio.timeout(10):
        while not any("live-marker" in frame for frame in transport.sent):
            transport.arrived.clear()
            await transport.arrived.wait()  # the writer's turn, when the transport took none
    assert (transport.written_directly > 0) is direct
    connection.revoke(CloseCode.REVOKED, "credentials revoked")
    # Logged after the revocation, in the same turn (the in-memory append does not wait):
    # the live path still sees it, and must let nothing out.
    await rig.backend.append(str(sid), [ReplyDelta(reply_id="r1", text="revoked-marker")])
    async with asyncio.timeout(10):
        await running
    assert transport.closed == (CloseCode.REVOKED, "credentials revoked")
    assert not any("revoked-marker" in frame for frame in transport.sent), transport.sent


async def test_a_revocation_before_the_socket_runs_closes_it_at_once(
    rig: Rig, parts: SocketParts
) -> None:
    sid = await rig.new_session()
    transport = MemoryTransport()
    connection = Connection(parts, transport, Principal(Role.STUDENT, sid), None, live=True)
    connection.revoke(CloseCode.REVOKED, "credentials revoked")
    async with asyncio.timeout(10):
        await connection.run()  # the client never sends a frame nor leaves
    assert transport.closed == (CloseCode.REVOKED, "credentials revoked")
    assert len(rig.heartbeat) == 0


async def test_a_peer_leaving_ends_the_socket_without_a_close_frame(
    rig: Rig, parts: SocketParts
) -> None:
    sid = await rig.new_session()
    transport = MemoryTransport()
    connection = Connection(parts, transport, Principal(Role.STUDENT, sid), None, live=True)
    running = asyncio.create_task(connection.run())
    async with asyncio.timeout(10):
        await transport.first_frame.wait()
    await transport.incoming.put(None)  # the peer has gone
    async with asyncio.timeout(10):
        await running
    assert transport.closed is None
    assert len(rig.heartbeat) == 0
    assert not (await rig.board.current(sid)).student_online


async def test_cancelling_a_socket_is_passed_on_even_as_it_is_revoked(
    rig: Rig, parts: SocketParts
) -> None:
    """Shutdown cancels the socket's task as a revocation lands: the revocation's close
    must not swallow the cancellation (the TaskGroup reports the Closing instead)."""
    sid = await rig.new_session()
    transport = MemoryTransport()
    connection = Connection(parts, transport, Principal(Role.TEACHER, sid), None, live=True)
    running = asyncio.create_task(connection.run())
    async with asyncio.timeout(10):
        await transport.first_frame.wait()
    running.cancel()
    connection.revoke(CloseCode.REVOKED, "credentials revoked")
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await running
    assert len(rig.heartbeat) == 0
    assert (await rig.board.current(sid)).observers == 0


async def test_a_log_back_empty_after_a_blip_closes_the_socket_for_a_reload(
    rig: Rig, parts: SocketParts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis restarted empty while the socket followed its log, and nothing reopened the
    log before the socket followed again (CI saw it drop the socket without a close
    frame): the follow reopens the log, whose new epoch fails the resume the usual way."""
    sid = await rig.new_session()
    transport = MemoryTransport()
    subscribe = rig.log.subscribe
    blips: list[uuid.UUID] = []

    @asynccontextmanager
    async def blipping(
        session_id: uuid.UUID, after: int, epoch: str | None = None
    ) -> AsyncIterator[Subscription]:
        if not blips:  # the first follow: the store blips and comes back empty
            blips.append(session_id)
            await rig.backend.expire_session_keys(str(session_id), 0)
            raise BackendUnavailable("redis is restarting")
        async with subscribe(session_id, after, epoch) as events:
            yield events

    monkeypatch.setattr(rig.log, "subscribe", blipping)
    connection = Connection(parts, transport, Principal(Role.TEACHER, sid), None, live=True)
    async with asyncio.timeout(10):
        await connection.run()
    assert blips == [sid]
    assert transport.closed is not None and transport.closed[0] == CloseCode.RELOAD
    assert any('"resume.failed"' in frame for frame in transport.sent), transport.sent
