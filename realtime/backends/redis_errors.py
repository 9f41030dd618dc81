"""Redis errors in the backend contract's words (:class:`BackendUnavailable`,
:class:`LogMissing`), shared by the Redis backend's commands."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import ClusterError, RedisClusterException, ResponseError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from realtime.backends.base import BackendUnavailable, LogMissing

__all__ = ["translate"]


@contextmanager
def translate() -> Iterator[None]:
    """Redis errors in our words; and a cancellation redis-py swallowed is raised again.

    redis-py 8.1 can finish a command normally although the task was cancelled while it
    ran (the hardening suite caught a reply's lease keeper renewing its lease forever
    after its reply ended, so the reply never closed): a pending ``cancelling()`` that
    rose during the call is honoured here, as every cancellation must be."""
    task = asyncio.current_task()
    cancels = task.cancelling() if task is not None else 0
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as error:
        raise BackendUnavailable(str(error)) from error
    except (ClusterError, TryAgainError, RedisClusterException) as error:
        # CLUSTERDOWN, a slot without a primary during a failover, redirections that
        # outlasted redis-py's retries: the cluster cannot serve this session right now.
        raise BackendUnavailable(str(error)) from error
    except ResponseError as error:
        if str(error).startswith("NOLOG"):
            raise LogMissing(str(error)) from error
        raise
    if task is not None and task.cancelling() > cancels:
        raise asyncio.CancelledError
