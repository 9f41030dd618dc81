"""Realtime backends: the in-process default and Redis, behind one Protocol."""

from __future__ import annotations

from realtime.backends.base import (
    DEFAULT_WINDOW,
    BackendUnavailable,
    Event,
    LogMissing,
    RealtimeBackend,
)
from realtime.backends.memory import MemoryBackend

__all__ = [
    "DEFAULT_WINDOW",
    "BackendUnavailable",
    "Event",
    "LogMissing",
    "MemoryBackend",
    "RealtimeBackend",
    "make_backend",
]


def make_backend(
    redis_url: str | None, key_prefix: str = "vc", window: int = DEFAULT_WINDOW
) -> RealtimeBackend:
    """Redis when ``redis_url`` is set (imported lazily: single-process installs never load
    redis-py), else the in-process backend; a ``redis+cluster://`` URL selects Redis
    Cluster. Raises ValueError on a bad window or prefix."""
    if not redis_url:
        return MemoryBackend(window=window)
    from realtime.backends.redis import RedisBackend

    return RedisBackend(redis_url, key_prefix=key_prefix, window=window)
