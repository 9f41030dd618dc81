"""Engine and session factory. One :class:`Database` per app, built in ``create_app``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from storage.idle_ping import IdlePing
from storage.pool_waits import TimedQueuePool, WaitTally

T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``, ``sqlite:///``)
    and return the async-driver form SQLAlchemy needs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the flusher write while the API reads; busy_timeout makes a second
    # process wait for the write lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int | None = None, pool_timeout: float = 30.0
) -> AsyncEngine:
    url = normalise_url(url)
    pooled: dict[str, Any] = {
        "poolclass": TimedQueuePool,
        "pool_size": pool_size,
        "max_overflow": pool_size if max_overflow is None else max_overflow,
        "pool_timeout": pool_timeout,
    }
    if is_sqlite(url):
        # Pooled like PostgreSQL: a connection per checkout (a new aiosqlite thread, the
        # file opened, the pragmas and the schema read again) cost 5.2 ms of CPU a query
        # against 1.7 ms pooled, and ~7% of the in-process benchmark's server CPU. An
        # in-memory database is one per connection, so it stays unpooled. SQLAlchemy
        # makes aiosqlite's threads daemons, so an engine left undisposed never holds
        # up the process's exit.
        in_memory = make_url(url).database in (None, "", ":memory:")
        engine = create_async_engine(url, **({"poolclass": NullPool} if in_memory else pooled))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        **pooled,
        # No pool_pre_ping: Database pings a connection only after it sat idle (IdlePing).
        # Fail fast when the database is down so callers can back off and retry.
        connect_args={"timeout": 5, "command_timeout": 30},
    )


def connection_lost(problem: BaseException) -> bool:
    """Whether ``problem`` means the database could not be reached or dropped the
    connection (not a constraint, a missing row, or an exhausted pool)."""
    if isinstance(problem, DBAPIError):
        return problem.connection_invalidated or isinstance(
            problem, OperationalError | InterfaceError
        )
    return isinstance(problem, OSError)


#: How long :meth:`Database.reachable` waits for its trivial query.
REACHABLE_WITHIN_SECONDS = 2.0
#: How long closing waits for reads a cancelled caller left running.
CLOSE_WAIT_SECONDS = 5.0


class Database:
    """Owns the engine; hands out short-lived ORM sessions."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int | None = None,
        pool_timeout: float = 30.0,
    ) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(
            self.url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
        )
        #: PostgreSQL: pings a connection at checkout only when it sat idle (SQLite has
        #: no server to lose).
        self.idle_ping = None if self.is_sqlite else IdlePing(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Whether the last session that ended lost its connection (and none has worked
        # since): paths that rarely need SQL (a say served from memos) read it to refuse
        # as they would have had they asked, instead of acknowledging what SQL cannot
        # record (a reply's usage row).
        self.unreachable = False
        #: Reads still running for a caller that was cancelled (see :meth:`read`):
        #: :meth:`aclose` lets them end, so their connections go back to the pool it
        #: closes rather than to none (an unclosed aiosqlite thread and a warning).
        self._reads: set[asyncio.Task[Any]] = set()

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @property
    def pool_waits(self) -> WaitTally | None:
        """Checkout waits of the engine's pool (None for an in-memory SQLite database: a
        connection per use)."""
        pool = self.engine.pool
        return pool.waits if isinstance(pool, TimedQueuePool) else None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on normal exit and rolls back on error."""
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except Exception as problem:
            if connection_lost(problem):
                self.unreachable = True
            raise
        self.unreachable = False

    async def read(self, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a read-only ``query`` in its own session, shielded from cancellation: a
        caller cancelled mid-query (a socket whose peer left) stops waiting, while the
        query finishes and returns its connection to the pool cleanly. Cancelling it
        half-way instead makes the pool close the connection mid-use and log a traceback.
        Raises what ``query`` raises."""

        async def run() -> T:
            async with self.session() as session:
                return await query(session)

        task = asyncio.ensure_future(run())
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)
        return await asyncio.shield(task)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def reachable(self) -> bool:
        """Whether the database answers now (one trivial query). Clears or sets
        :attr:`unreachable`, so a path that only reads the flag is never held up by a
        stale one (a flag a lone failure left set while nothing else used SQL)."""
        try:
            # Bounded: a database cut without a reset leaves connects hanging (5 s each)
            # behind a pool that waits 30 s; a say must answer `unavailable` well within
            # a client's 20 s keepalive.
            async with asyncio.timeout(REACHABLE_WITHIN_SECONDS):
                await self.ping()
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return False
        except Exception as problem:
            self.unreachable = connection_lost(problem) or self.unreachable
            return False
        self.unreachable = False
        return True

    async def aclose(self) -> None:
        """Close the pool, once the reads still running have ended (at most
        :data:`CLOSE_WAIT_SECONDS`: a query is bounded by the driver's own timeouts)."""
        if self._reads:
            await asyncio.wait(set(self._reads), timeout=CLOSE_WAIT_SECONDS)
        await self.engine.dispose()
