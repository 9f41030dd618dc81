"""The rig of the heartbeat and socket-life tests: the in-process backend, SQLite, a
clock moved by hand, sockets as the heartbeat sees them, and an in-memory transport."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from llm.scripted import ScriptedProvider
from realtime.backends import MemoryBackend
from realtime.backends.base import BackendUnavailable
from realtime.budgetreport import BudgetReport
from realtime.budgets import MemoryBudgetStore
from realtime.config import RealtimeConfig
from realtime.connection import SocketParts
from realtime.control import SessionControl
from realtime.conversation import ReplyRunner
from realtime.events import Presence, SequencedEvent
from realtime.heartbeat import Heartbeat
from realtime.hub import Hub
from realtime.presence import PresenceBoard
from realtime.sessionlog import SessionLog
from realtime.vocabulary import Role
from storage.db import Database
from tests.hub.started import started_session
from tests.support.clock import DrivenClock
from tests.support.databases import sqlite_at_head
from tests.support.sqlite_threads import aiosqlite_threads_done

TTL = 30.0
LEASE = 3.0


class FlakyBackend(MemoryBackend):
    """The in-process backend, with presence touches that fail for chosen sessions (a
    store blip) or wait on a gate (a touch in flight)."""

    def __init__(self, clock: DrivenClock) -> None:
        super().__init__(clock=clock)
        self.failing: set[str] = set()
        self.gates: dict[str, asyncio.Event] = {}
        self.touching = asyncio.Event()

    async def presence_touch(
        self, session_id: str, conn_id: str, role: Role, ttl: float
    ) -> Presence:
        if session_id in self.failing:
            raise BackendUnavailable("redis is restarting")
        gate = self.gates.get(conn_id)
        if gate is not None:
            self.touching.set()
            await gate.wait()
        return await super().presence_touch(session_id, conn_id, role, ttl)


@dataclass(eq=False)
class Sock:
    """A socket as the heartbeat sees it (realtime.heartbeat.Member)."""

    session_id: uuid.UUID
    role: Role = Role.TEACHER
    live: bool = True
    reply_since: float | None = None
    conn_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def open_reply_since(self) -> float | None:
        return self.reply_since


@dataclass
class Rig:
    clock: DrivenClock
    backend: FlakyBackend
    control: SessionControl
    log: SessionLog
    board: PresenceBoard
    heartbeat: Heartbeat
    db: Database

    async def join(self, sock: Sock) -> None:
        """What a socket does on opening: touch, register."""
        now = await self.board.touch(sock.session_id, sock.conn_id, sock.role)
        self.heartbeat.register(sock, now)

    async def events(self, session_id: uuid.UUID, after: int) -> list[SequencedEvent]:
        """The log after ``after`` once the announcements waiting for their spacing are
        made."""
        await self.board.settle()
        return await self.backend.read(str(session_id), after, 1_000)

    async def new_session(self) -> uuid.UUID:
        session_id = await started_session(self.db, self.control)
        await self.log.ensure(session_id)
        return session_id


@asynccontextmanager
async def open_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """The in-process backend and a migrated SQLite database, a clock moved by hand."""
    url = sqlite_at_head(tmp_path / "heartbeat.db")
    db = Database(url)
    clock = DrivenClock()
    backend = FlakyBackend(clock)
    control = SessionControl(db)
    log = SessionLog(backend, db)
    board = PresenceBoard(log, control, ttl_seconds=TTL)
    config = RealtimeConfig(
        heartbeat_seconds=10, presence_ttl_seconds=TTL, reply_lock_seconds=LEASE
    )
    yield Rig(clock, backend, control, log, board, Heartbeat(board, log, config, clock=clock), db)
    await board.aclose()
    await backend.aclose()
    await db.aclose()
    await aiosqlite_threads_done()  # a socket cancelled mid-query leaves one running


class MemoryTransport:
    """The client's end of a socket, in memory: frames it sends, frames it was sent
    (through ``send``, or whole frames through ``write_now`` unless ``direct`` is off)."""

    def __init__(self, *, direct: bool = True) -> None:
        self.incoming: asyncio.Queue[str | None] = asyncio.Queue()
        self.sent: list[str] = []
        self.written_directly = 0
        self.first_frame = asyncio.Event()
        #: Set on every frame sent (clear it before waiting for the next).
        self.arrived = asyncio.Event()
        self.closed: tuple[int, str] | None = None
        self._direct = direct

    async def send(self, text: str) -> None:
        self._got(text)

    def write_now(self, frame: bytes) -> bool:
        if not self._direct or self.closed is not None:
            return False
        self._got(frame_text(frame))
        self.written_directly += 1
        return True

    def _got(self, text: str) -> None:
        self.sent.append(text)
        self.first_frame.set()
        self.arrived.set()

    async def receive(self) -> str | bytes | None:
        return await self.incoming.get()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def frame_text(frame: bytes) -> str:
    """The text of one unmasked, unfragmented text frame (RFC 6455 section 5.2)."""
    assert frame[0] == 0x81 and not frame[1] & 0x80, frame[:2]
    size, start = frame[1], 2
    if size == 126:
        size, start = int.from_bytes(frame[2:4], "big"), 4
    elif size == 127:
        size, start = int.from_bytes(frame[2:10], "big"), 10
    payload = frame[start:]
    assert len(payload) == size
    return payload.decode()


@asynccontextmanager
async def socket_parts(rig: Rig) -> AsyncIterator[SocketParts]:
    """What a socket is given, built on ``rig`` (a reply runner with a scripted model)."""
    budgets = MemoryBudgetStore()
    config = RealtimeConfig()
    runner = ReplyRunner(
        log=rig.log,
        budgets=budgets,
        provider=ScriptedProvider(0),
        control=rig.control,
        db=rig.db,
        config=config,
    )
    hub = Hub(
        db=rig.db, log=rig.log, budgets=budgets, runner=runner, control=rig.control, config=config
    )
    report = BudgetReport(budgets, rig.log, rig.control)
    yield SocketParts(hub, rig.log, rig.board, report, rig.control, config, rig.heartbeat)
    await runner.aclose()
