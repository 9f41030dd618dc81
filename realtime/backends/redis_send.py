"""redis-py's connections, writing a command without a task of its own.

redis-py 8.1 bounds a command's write with ``asyncio.wait_for`` whenever the connection
has a socket timeout, and it has one by default (5 s). On Python 3.11, ``wait_for`` runs
the write in a new task: every command of a worker paid a task's creation, its step and
the wake-up of the caller, though the write itself never waits unless the socket's
buffer is full. The append batcher sends one command per window of every live session,
so on Redis that was a task per streamed chunk. With no task per write, the benchmark's
server CPU per live session on Redis fell 6% (12.3 to 11.5 ms/s at S=50, two runs each).

Here a connected socket's write is bounded by ``asyncio.timeout`` instead: the same limit,
the same errors (redis-py's ``TimeoutError``, ``ConnectionError``) and the connection
dropped on any of them, as redis-py does. Connecting, and a write that needs a health
check first, still go through redis-py's own path (once per connection). Reads are
redis-py's: they already use ``asyncio.timeout``.

A Cluster client builds its nodes' connections with a class of its own choosing, so this
applies to a standalone Redis (or a Sentinel-managed primary) only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TypeVar, cast

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["SendWithoutTask", "sending_without_task"]

C = TypeVar("C", bound=AbstractConnection)


class SendWithoutTask(AbstractConnection):
    """Mixed in ahead of a redis-py connection class; never made on its own."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        writer = getattr(self, "_writer", None)  # redis-py's StreamWriter while connected
        timeout = self.socket_timeout
        if (
            not timeout
            or writer is None
            or not self.is_connected
            or (check_health and self.health_check_interval)
        ):
            await super().send_packed_command(command, check_health)
            return
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        try:
            writer.writelines(command)
            async with asyncio.timeout(timeout):
                await writer.drain()  # waits only while the socket's buffer is full
        except TimeoutError:  # before OSError: TimeoutError is one
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as error:
            await self.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while writing to socket. {error}.") from error
        except BaseException:
            # Cancelled mid-write: what went out is unknown, so the connection is not
            # used again (redis-py's rule).
            await self.disconnect(nowait=True)
            raise


_MADE: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def sending_without_task(base: type[C]) -> type[C]:
    """``base`` (redis-py's TCP, TLS or Unix socket connection) writing without a task;
    the same class for the same ``base``."""
    made = _MADE.get(base)
    if made is None:
        made = _MADE[base] = type(f"{base.__name__}SendingWithoutTask", (SendWithoutTask, base), {})
    return cast(type[C], made)
