"""Settings turned into each part's own configuration (realtime and storage never read
settings or the environment themselves)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from realtime.config import RealtimeConfig
from realtime.flusher import FlusherPolicy
from realtime.frames import ClientLimits
from realtime.watchdog import WatchdogPolicy
from server.settings import Settings
from storage.db import Database

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["database", "flusher_policy", "realtime_config", "redis_client", "watchdog_policy"]


def realtime_config(settings: Settings) -> RealtimeConfig:
    return RealtimeConfig(
        limits=ClientLimits(
            max_frame_bytes=settings.frame_max_bytes,
            max_say_chars=settings.say_max_chars,
            max_whisper_chars=settings.say_max_chars,
        ),
        reply_max_tokens=settings.reply_max_tokens,
        min_reply_tokens=settings.min_reply_tokens,
        say_rate_count=settings.say_rate_count,
        say_rate_seconds=settings.say_rate_seconds,
        send_queue_frames=settings.ws_send_queue_frames,
        slow_consumer_seconds=settings.ws_slow_consumer_seconds,
        heartbeat_seconds=settings.heartbeat_seconds,
        reply_lock_seconds=settings.reply_lock_seconds,
        max_streaming_replies=settings.max_streaming_replies,
        reply_queue_size=settings.reply_queue_size,
        reply_queue_wait_seconds=settings.reply_queue_wait_seconds,
        reply_integrity=settings.reply_integrity,
        teacher_monthly_token_cap=settings.teacher_monthly_token_cap,
        presence_ttl_seconds=settings.presence_ttl_seconds,
        presence_spacing_seconds=settings.presence_spacing_seconds,
        # The idle timer may read a last activity this stale: ~1% of the idle limit.
        activity_write_seconds=min(10.0, settings.session_idle_seconds / 90),
    )


def watchdog_policy(settings: Settings) -> WatchdogPolicy:
    return WatchdogPolicy(
        interval_seconds=settings.watchdog_interval_seconds,
        idle_seconds=settings.session_idle_seconds,
        min_reply_tokens=settings.min_reply_tokens,
    )


def flusher_policy(settings: Settings) -> FlusherPolicy:
    return FlusherPolicy(
        interval_seconds=settings.flush_interval_seconds,
        batch_events=settings.flush_batch_events,
        live_keys_after_end_seconds=settings.live_keys_after_end_seconds,
    )


def database(settings: Settings) -> Database:
    """The process's SQL pool, sized by the DB_POOL_* settings."""
    return Database(
        settings.effective_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )


def redis_client(settings: Settings) -> Redis | None:
    """The command client for budgets and rate limits (None without ``REDIS_URL``)."""
    if not settings.redis_url:
        return None
    from redis.asyncio import Redis

    from realtime.backends.redis_pool import redis_client as make_client

    # redis+cluster:// gives a RedisCluster: it serves every command sent through this
    # client (single-key or single-slot scripts and pipelines, PING) alike.
    return cast(Redis, make_client(settings.redis_url, decode_responses=True))


# -- process kinds -------------------------------------------------------------------------
