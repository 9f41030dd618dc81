"""Everything a request handler needs, built once in ``create_app`` (no globals)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from filestore import FileStore
from llm.catalog import Catalog
from realtime.control import SessionControl
from realtime.sharedread import SharedReads
from server.auth import Signer
from server.ratelimit import FailureCounter
from server.settings import Settings
from server.socketcaps import SocketCaps
from storage.db import Database
from storage.models import Session, User

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from realtime.connection import SocketParts
    from realtime.revoker import Revoker


@dataclass
class AppState:
    settings: Settings
    db: Database
    signer: Signer
    failures: FailureCounter
    control: SessionControl
    #: Where case-file bytes live (``FILE_STORE``; see docs/files.md).
    files: FileStore
    redis: Redis | None = None
    #: What the session sockets need (built by ``server.composition``).
    sockets: SocketParts | None = None
    #: Closes revoked credentials' open sockets on every worker (with ``sockets``).
    revoker: Revoker | None = None
    #: The models teachers may pick (LLM_CATALOG, or the one LLM_PROVIDER names).
    catalog: Catalog | None = None
    #: Open sockets per user and per address in this process (WS_MAX_SOCKETS_*).
    socket_caps: SocketCaps | None = None
    #: A socket handshake's session and owner, read once for the handshakes that arrive
    #: together (realtime/sharedread.py).
    handshakes: SharedReads[uuid.UUID, tuple[Session, User]] = field(default_factory=SharedReads)
    # Extra readiness reports (e.g. the flusher's lag), name -> probe returning a value.
    readiness: dict[str, Callable[[], Awaitable[object]]] = field(default_factory=dict)


def app_state(conn: HTTPConnection) -> AppState:
    state = conn.app.state.vc
    assert isinstance(state, AppState)
    return state
