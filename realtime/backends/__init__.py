"""Realtime backends: the in-process default and Redis, behind one Protocol."""

from __future__ import annotations

from collections.abc import Callable

from realtime.backends.base import (
    DEFAULT_WINDOW,
    BackendUnavailable,
    Event,
    LogMissing,
    RealtimeBackend,
)
from realtime.backends.memory import MemoryBackend
from realtime.backends.memory_revocations import MemoryRevocations
from realtime.backends.revocations import Revocations
from realtime.events import payload_json

__all__ = [
    "DEFAULT_WINDOW",
    "BackendUnavailable",
    "Event",
    "LogMissing",
    "MemoryBackend",
    "MemoryRevocations",
    "RealtimeBackend",
    "Revocations",
    "make_backend",
    "make_revocations",
]


def make_backend(
    redis_url: str | None,
    key_prefix: str = "vc",
    window: int = DEFAULT_WINDOW,
    encode: Callable[[Event], str] = payload_json,
    known: Callable[[Event, str], None] | None = None,
) -> RealtimeBackend:
    """Redis when ``redis_url`` is set (imported lazily: single-process installs never load
    redis-py), else the in-process backend; a ``redis+cluster://`` URL selects Redis
    Cluster. A serving process passes its frame cache's ``encode`` (the in-process
    window's text) and ``known`` (what Redis's stored text tells it): see the backends.
    Raises ValueError on a bad window or prefix."""
    if not redis_url:
        return MemoryBackend(window=window, encode=encode)
    from realtime.backends.redis import RedisBackend

    return RedisBackend(redis_url, key_prefix=key_prefix, window=window, known=known)


def make_revocations(redis_url: str | None, key_prefix: str = "vc") -> Revocations:
    """The deployment's revocation channel: a Redis stream when ``redis_url`` is set (every
    process on that Redis hears it), else in-process (this process only)."""
    if not redis_url:
        return MemoryRevocations()
    from realtime.backends.redis_revocations import RedisRevocations

    return RedisRevocations(redis_url, key_prefix=key_prefix)
