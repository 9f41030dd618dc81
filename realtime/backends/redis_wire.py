"""A connection of a worker's own to Redis that pipelines commands without waiting: each
command is written as it is made (those made in one turn of the loop in one write) and
the answers, which Redis sends in order, go to their callers in order.

Why not redis-py's connection: the worker's script calls (a log append per streamed
chunk, ~2,000 a second at 100 sessions) went through one, a pipeline at a time. Each
write there ran in a task of its own (``asyncio.wait_for`` under the 5 s socket timeout)
and each answer under its own timeout scope, through a ``StreamReader``. 5,000 calls of
a small script on an idle uvloop process (``time.process_time``): 59-65 us of the
worker's CPU a call one at a time and 14 us when 25 go at once through redis-py's
connection, 30 and 5 us here. Nothing waits for a batch to come back before the next
is written, so a busy worker's calls do not queue behind each other's round trips.

The protocol is RESP2 (no ``HELLO``), parsed by hiredis; the handshake is ``AUTH``,
``SELECT`` and ``CLIENT SETNAME`` as the client's URL asks (:class:`Dial`). Error
answers become redis-py's own exception classes (``NOSCRIPT`` a ``NoScriptError``,
``LOADING`` a ``BusyLoadingError``...), so callers translate them as they do the pooled
client's. A lost connection fails every call written and not answered with redis-py's
``ConnectionError``: such a call may have run, and is never sent again here. A connection
that answers nothing for ``answer_timeout`` while calls wait is closed the same way
(``TimeoutError``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import hiredis
from redis._parsers import BaseParser
from redis.asyncio import Redis
from redis.credentials import CredentialProvider, UsernamePasswordCredentialProvider
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["Answers", "Arg", "Dial", "Wire", "afresh"]

Arg = str | int | float | bytes | memoryview

_UTF8 = frozenset({"utf-8", "utf8"})


@dataclass(frozen=True, slots=True)
class Dial:
    """Where a :class:`Wire` connects and how it introduces itself: what a redis-py
    client's pool would use (its URL's host or socket path, TLS, credentials, database,
    client name and timeouts)."""

    host: str | None
    port: int
    path: str | None
    tls: ssl.SSLContext | None
    credentials: CredentialProvider | None
    db: int
    client_name: str | None
    connect_timeout: float | None
    answer_timeout: float | None
    decode: bool

    @classmethod
    def of(cls, redis: Redis) -> Dial:
        """The dial of ``redis``'s pooled connections (one is built to read it; no I/O).
        Raises ValueError for a text encoding other than UTF-8, which hiredis packs."""
        pool = redis.connection_pool
        made = pool.connection_class(**pool.connection_kwargs)
        encoder = made.encoder
        if encoder.decode_responses and (
            encoder.encoding.lower() not in _UTF8 or encoder.encoding_errors != "strict"
        ):
            raise ValueError(f"the script connection speaks UTF-8, not {encoder.encoding!r}")
        context = getattr(made, "ssl_context", None)
        credentials = made.credential_provider
        if credentials is None and (made.username or made.password):
            credentials = UsernamePasswordCredentialProvider(made.username, made.password)
        return cls(
            host=getattr(made, "host", None),
            port=int(getattr(made, "port", 6379)),
            path=getattr(made, "path", None) or None,
            tls=context.get() if context is not None else None,
            credentials=credentials,
            db=int(made.db or 0),
            client_name=made.client_name,
            connect_timeout=made.socket_connect_timeout,
            answer_timeout=made.socket_timeout,
            decode=bool(encoder.decode_responses),
        )


class Answers(asyncio.Protocol):
    """The connection's byte side: hiredis reads answers, each goes to the oldest call
    written and not answered yet. Pure bookkeeping apart from the transport."""

    def __init__(self, decode: bool, on_lost: Callable[[BaseException], None]) -> None:
        self.reader = hiredis.Reader(replyError=ResponseError, encoding="utf-8" if decode else None)
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.answered = 0
        self.transport: asyncio.Transport | None = None
        self._on_lost = on_lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        waiting = self.waiting
        try:
            while (answer := reader.gets()) is not False:
                self.answered += 1
                call = waiting.popleft()  # IndexError: Redis answered what nobody asked
                if call.done():
                    continue  # its caller was cancelled: the answer is read and dropped
                if isinstance(answer, ResponseError):
                    call.set_exception(_as_raised(answer))
                else:
                    call.set_result(answer)
        except (hiredis.ProtocolError, IndexError) as error:
            self.lose(RedisConnectionError(f"Redis spoke out of turn: {error!r}"))

    def lose(self, error: BaseException) -> None:
        if self.transport is not None:
            self.transport.abort()  # connection_lost follows; callers get this error
        self._on_lost(error)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = "Connection closed by server." if exc is None else f"Connection lost: {exc}"
        self._on_lost(RedisConnectionError(reason))


class Wire:
    """One open connection. :meth:`call` writes a command and returns the future of its
    answer; once :attr:`lost`, a wire stays lost (make another).

    Cancelling the future of a call not yet written drops it (it never runs); one written
    may have run, and its answer is read and dropped, so the connection stays in step."""

    def __init__(self, dial: Dial, loop: asyncio.AbstractEventLoop) -> None:
        self._dial = dial
        self._loop = loop
        self._answers = Answers(dial.decode, self._fail_all)
        self._unwritten: list[tuple[asyncio.Future[Any], bytes]] = []
        self._lost: BaseException | None = None
        self._watch: asyncio.TimerHandle | None = None
        #: Writes to the socket and commands written (tests and counts read these).
        self.writes = 0
        self.commands = 0

    @classmethod
    async def open(cls, dial: Dial) -> Wire:
        """Connect and introduce the connection. Raises redis-py's ``ConnectionError``
        (``AuthenticationError`` for refused credentials) or ``TimeoutError``."""
        loop = asyncio.get_running_loop()
        wire = cls(dial, loop)
        try:
            async with asyncio.timeout(dial.connect_timeout):
                if dial.path is not None:
                    await loop.create_unix_connection(lambda: wire._answers, dial.path)
                else:
                    await loop.create_connection(
                        lambda: wire._answers, dial.host or "localhost", dial.port, ssl=dial.tls
                    )
                await wire._introduce()
        except TimeoutError as error:
            wire.close()
            raise RedisTimeoutError(f"Timeout connecting to {wire._where()}") from error
        except OSError as error:
            wire.close()
            raise RedisConnectionError(f"Error connecting to {wire._where()}: {error}") from error
        except BaseException:
            wire.close()
            raise
        return wire

    async def _introduce(self) -> None:
        dial = self._dial
        hello: list[tuple[Arg, ...]] = []
        if dial.credentials is not None:
            hello.append(("AUTH", *await dial.credentials.get_credentials_async()))
        if dial.db:
            hello.append(("SELECT", dial.db))
        if dial.client_name:
            hello.append(("CLIENT", "SETNAME", dial.client_name))
        answers = await asyncio.gather(
            *(self.call(*command) for command in hello), return_exceptions=True
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer

    def _where(self) -> str:
        dial = self._dial
        return dial.path if dial.path is not None else f"{dial.host}:{dial.port}"

    @property
    def lost(self) -> bool:
        return self._lost is not None

    @property
    def in_flight(self) -> int:
        """Calls written or waiting to be, not answered yet."""
        return len(self._answers.waiting) + len(self._unwritten)

    async def drained(self) -> None:
        """Returns when every call made so far is answered or failed; waiting for it
        (or being cancelled) changes none of them."""
        calls = [*self._answers.waiting, *(answer for answer, _ in self._unwritten)]
        if calls:
            await asyncio.wait(calls)

    def call(self, *args: Arg) -> asyncio.Future[Any]:
        """The answer to the command ``args`` (``str`` as UTF-8, ``int``, ``float``,
        ``bytes``): its value, or redis-py's exception for an error answer or a lost
        connection."""
        answer = self._loop.create_future()
        if self._lost is not None:
            answer.set_exception(afresh(self._lost))
            return answer
        if not self._unwritten:
            self._loop.call_soon(self._write)
        # The stub types one argument; hiredis packs any number.
        packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]
        self._unwritten.append((answer, packed))
        return answer

    def _write(self) -> None:
        unwritten, self._unwritten = self._unwritten, []
        transport = self._answers.transport
        if self._lost is not None or transport is None:
            return  # _fail_all has failed them
        waiting = self._answers.waiting
        idle = not waiting
        chunks = []
        for answer, packed in unwritten:
            if not answer.done():  # cancelled before it was written: it never runs
                waiting.append(answer)
                chunks.append(packed)
        if not chunks:
            return
        transport.writelines(chunks)
        self.writes += 1
        self.commands += len(chunks)
        if idle and self._watch is None and self._dial.answer_timeout is not None:
            self._watch_answers(self._answers.answered)

    def _watch_answers(self, answered: int) -> None:
        """Checks every ``answer_timeout`` that Redis answered something while calls wait:
        one timer per connection, not one per call."""
        assert self._dial.answer_timeout is not None
        self._watch = self._loop.call_later(
            self._dial.answer_timeout, self._check_answers, answered
        )

    def _check_answers(self, answered_before: int) -> None:
        self._watch = None
        answers = self._answers
        if not answers.waiting:
            return
        if answers.answered == answered_before:
            seconds = self._dial.answer_timeout
            answers.lose(RedisTimeoutError(f"No answer from {self._where()} in {seconds} s"))
            return
        self._watch_answers(answers.answered)

    def _fail_all(self, error: BaseException) -> None:
        if self._lost is None:
            self._lost = error
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        waiting = list(self._answers.waiting) + [answer for answer, _ in self._unwritten]
        self._answers.waiting.clear()
        self._unwritten.clear()
        for answer in waiting:
            if not answer.done():
                answer.set_exception(afresh(self._lost))

    def close(self) -> None:
        """Closes the connection now: what waits fails as a lost connection."""
        transport = self._answers.transport
        if transport is not None:
            transport.abort()
        self._fail_all(RedisConnectionError("Connection closed"))


def afresh(error: BaseException) -> BaseException:
    """One exception object per caller: each raise writes its own traceback into it
    (the same object, when its class cannot be made again from its arguments)."""
    try:
        made = type(error)(*error.args)
    except Exception:
        return error
    made.__cause__ = error.__cause__
    return made


def _as_raised(answer: ResponseError) -> ResponseError:
    """An error answer as redis-py's pooled client raises it (its own mapping of the
    error's first word: ``NOSCRIPT`` a ``NoScriptError``, ``LOADING`` a
    ``BusyLoadingError``, a script's own ``NOLOG`` a plain ``ResponseError``)."""
    raised: ResponseError = BaseParser.parse_error(str(answer))  # type: ignore[no-untyped-call]
    return raised
