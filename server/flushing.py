"""Wires the flusher: inside each web process (``FLUSHER_IN_PROCESS``, the single-process
default) and as its own process (``vclient flusher``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from realtime.backends import RealtimeBackend, make_backend
from realtime.flusher import Flusher, FlusherPolicy
from realtime.hub import Hub
from server.settings import Settings
from server.state import AppState
from storage.db import Database

log = logging.getLogger(__name__)

# The last flush at shutdown gets this long (inside the 10 s of STOP_GRACE_SECONDS).
FINAL_FLUSH_SECONDS = 5.0


def flusher_policy(settings: Settings) -> FlusherPolicy:
    return FlusherPolicy(
        interval_seconds=settings.flush_interval_seconds,
        batch_events=settings.flush_batch_events,
        live_keys_after_end_seconds=settings.live_keys_after_end_seconds,
    )


def attach_flusher(state: AppState, backend: RealtimeBackend, hub: Hub) -> Flusher:
    """Every process that can end a session flushes it first (a hook after the hub's);
    the background loop runs here only with ``FLUSHER_IN_PROCESS``."""
    flusher = Flusher(state.db, backend, flusher_policy(state.settings))
    flusher.attach(state.control)
    if state.settings.flusher_in_process:
        state.services.append(lambda: _in_process(flusher, hub))
        state.readiness["flusher"] = flusher.readiness
    return flusher


@asynccontextmanager
async def _in_process(flusher: Flusher, hub: Hub) -> AsyncIterator[None]:
    from server.wiring import background

    try:
        async with background(flusher.run, "flusher"):
            yield
    finally:
        # Replies cut by the shutdown log their end first; then one last pass, which
        # matters for the in-process backend, whose log dies with the process.
        await hub.aclose()
        await final_flush(flusher)


async def final_flush(flusher: Flusher) -> None:
    try:
        async with asyncio.timeout(FINAL_FLUSH_SECONDS):
            await flusher.scan()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("final flush incomplete; the next flusher continues", exc_info=True)


async def run_flusher_process(settings: Settings) -> int:
    """``vclient flusher``: flush until SIGTERM or SIGINT, then finish the current scan."""
    if not settings.redis_url:
        print(
            "error: vclient flusher needs REDIS_URL (the in-process backend is flushed "
            "inside the web process; see FLUSHER_IN_PROCESS)",
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    db = Database(settings.effective_database_url)
    backend = make_backend(settings.redis_url, settings.redis_key_prefix)
    from server.wiring import stop_signal

    flusher = Flusher(db, backend, flusher_policy(settings))
    try:
        async with stop_signal() as stop:
            print(f"flusher every {flusher.policy.interval_seconds} s", flush=True)
            print("running; stop with SIGTERM", flush=True)  # the ready line, as the watchdog
            await flusher.run(stop)
    finally:
        await backend.aclose()
        await db.aclose()
    log.info("flusher stopped")
    return 0
