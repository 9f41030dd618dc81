"""Builds the realtime parts (backend, budgets, provider, hub, watchdog) from settings.
Used by ``create_app`` and by the ``vclient watchdog`` process alike."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from llm.factory import ProviderConfig, close_provider, make_provider
from realtime.backends import make_backend
from realtime.budgets import make_budget_store
from realtime.config import RealtimeConfig
from realtime.hub import Hub
from realtime.protocol import ClientLimits
from realtime.watchdog import Watchdog, WatchdogPolicy
from server.flushing import attach_flusher
from server.settings import Settings
from server.state import AppState


def provider_config(settings: Settings) -> ProviderConfig:
    return ProviderConfig(
        kind=settings.llm_provider,
        model=settings.llm_model,
        anthropic_api_key=settings.anthropic_api_key,
        anthropic_base_url=settings.anthropic_base_url,
        openai_api_key=settings.openai_api_key,
        openai_base_url=settings.openai_base_url,
        scripted_tokens_per_second=settings.scripted_tokens_per_second,
        request_timeout_s=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )


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
        teacher_monthly_token_cap=settings.teacher_monthly_token_cap,
        presence_ttl_seconds=settings.presence_ttl_seconds,
    )


def watchdog_policy(settings: Settings) -> WatchdogPolicy:
    return WatchdogPolicy(
        interval_seconds=settings.watchdog_interval_seconds,
        idle_seconds=settings.session_idle_seconds,
        min_reply_tokens=settings.min_reply_tokens,
    )


# How long shutdown waits for a background loop to finish its current step.
STOP_GRACE_SECONDS = 10.0


@asynccontextmanager
async def background(
    start: Callable[[asyncio.Event], Coroutine[Any, Any, None]], name: str
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``start(stop)`` as a task for the block's lifetime. On exit, ask it to stop
    and wait for it (it finishes its current step); cancel it if it takes too long."""
    stop = asyncio.Event()
    task = asyncio.create_task(start(stop), name=name)
    try:
        yield task
    finally:
        stop.set()
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@asynccontextmanager
async def stop_signal() -> AsyncIterator[asyncio.Event]:
    """An event that SIGTERM or SIGINT sets, for headless processes (watchdog, flusher);
    the handlers are removed on exit."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield stop
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def attach_realtime(state: AppState, *, watchdog: bool) -> Hub:
    """Build the hub (and optionally the watchdog) and register their lifetimes."""
    settings = state.settings
    backend = make_backend(settings.redis_url, settings.redis_key_prefix)
    budgets = make_budget_store(
        state.redis, settings.redis_key_prefix, settings.reservation_ttl_seconds
    )
    provider = make_provider(provider_config(settings))
    hub = Hub(
        db=state.db,
        backend=backend,
        budgets=budgets,
        provider=provider,
        control=state.control,
        config=realtime_config(settings),
    )
    state.hub = hub

    @asynccontextmanager
    async def hub_lifetime() -> AsyncIterator[None]:
        try:
            yield
        finally:
            await hub.aclose()
            await backend.aclose()
            await close_provider(provider)

    state.services.append(hub_lifetime)
    attach_flusher(state, backend, hub)  # after the hub: exits first, backend still open
    if watchdog:
        dog = Watchdog(
            state.db, state.control, budgets, watchdog_policy(settings), warn=hub.time_warning
        )
        state.services.append(lambda: background(dog.run, "watchdog"))
    return hub
