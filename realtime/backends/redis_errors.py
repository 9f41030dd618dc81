"""Redis errors in the backend contract's words (:class:`BackendUnavailable`,
:class:`LogMissing`), shared by the Redis backend's commands."""

from __future__ import annotations

import asyncio
from types import TracebackType

from redis.exceptions import ClusterError, RedisClusterException, ResponseError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from realtime.backends.base import BackendUnavailable, LogMissing

__all__ = ["translate"]


class translate:  # lower case: read as a verb, ``with translate():``
    """Redis errors in our words; and a cancellation redis-py swallowed is raised again.

    redis-py 8.1 can finish a command normally although the task was cancelled while it
    ran (the hardening suite caught a reply's lease keeper renewing its lease forever
    after its reply ended, so the reply never closed): a pending ``cancelling()`` that
    rose during the call is honoured here, as every cancellation must be.

    A class, not a generator under ``contextmanager``: every Redis command passes here,
    and the generator's machinery was ~1% of a Redis worker's samples at S=100."""

    __slots__ = ("_cancels", "_task")

    def __enter__(self) -> None:
        self._task = task = asyncio.current_task()
        self._cancels = task.cancelling() if task is not None else 0

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            task = self._task
            if task is not None and task.cancelling() > self._cancels:
                raise asyncio.CancelledError
            return
        if isinstance(error, RedisConnectionError | RedisTimeoutError):
            raise BackendUnavailable(str(error)) from error
        if isinstance(error, ClusterError | TryAgainError | RedisClusterException):
            # CLUSTERDOWN, a slot without a primary during a failover, redirections that
            # outlasted redis-py's retries: the cluster cannot serve this session now.
            raise BackendUnavailable(str(error)) from error
        if isinstance(error, ResponseError) and str(error).startswith("NOLOG"):
            raise LogMissing(str(error)) from error
