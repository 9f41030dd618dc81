"""What a test's code writes to Redis sockets, counted at the socket: every write is one
round trip (a pipeline is one write, named by its first command), whichever client sent
it (redis-py's pooled ones, a pipeline, the script pipe's own connection: there each
call a task makes is counted as one write, since the task waits for its answer before
its next call, whatever else shares the write)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis.asyncio.connection import AbstractConnection

from realtime.backends.redis_wire import Arg, Wire

__all__ = ["as_if_warm", "redis_writes", "write_name"]


def write_name(command: Any) -> str:
    """The first command of a packed write, upper case; ``SCRIPT`` with its subcommand."""
    first = command if isinstance(command, bytes | bytearray) else command[0]
    parts = bytes(first).decode().upper().split("\r\n")
    return " ".join(parts[2:5:2]) if parts[2] == "SCRIPT" else parts[2]


@contextmanager
def redis_writes(
    monkeypatch: pytest.MonkeyPatch, *, task: asyncio.Task[Any] | None = None
) -> Iterator[list[str]]:
    """The names of the writes made while inside; with ``task``, only those that task
    made (not the stream reader's, a lease keeper's or another reply's beside it)."""
    names: list[str] = []
    send = AbstractConnection.send_packed_command

    async def counted(conn: AbstractConnection, command: Any, *args: Any, **kw: Any) -> None:
        if task is None or asyncio.current_task() is task:
            names.append(write_name(command))
        await send(conn, command, *args, **kw)

    call = Wire.call

    def called(wire: Wire, *args: Arg) -> asyncio.Future[Any]:
        if task is None or asyncio.current_task() is task:
            names.append(str(args[0]).upper())
        return call(wire, *args)

    with monkeypatch.context() as patched:
        patched.setattr(AbstractConnection, "send_packed_command", counted)
        patched.setattr(Wire, "call", called)
        yield names


def as_if_warm(names: list[str]) -> list[str]:
    """The writes as a Redis that kept its scripts would have seen them: one it lost
    (never loaded on this server, or a ``SCRIPT FLUSH`` by a test running beside) costs
    the refused write and a ``SCRIPT LOAD`` before the real one, or on the script pipe the
    refused ``EVALSHA`` and an ``EVAL`` in place of it."""
    kept: list[str] = []
    for name in names:
        if name == "SCRIPT LOAD":
            if kept:
                kept.pop()
        elif name == "EVAL" and kept and kept[-1] == "EVALSHA":
            continue  # the refused EVALSHA stays, as the call a warm Redis would answer
        else:
            kept.append(name)
    return kept
