"""The one place that builds each process kind's parts from settings, in order.

Every process is a :class:`Lifetime`: parts are opened in the order listed in its
``compose_*`` function and closed in reverse, each exactly once. What each kind builds:

=========  ===============================================================================
process    parts, in start order (stop order is the reverse)
=========  ===============================================================================
web        database, Redis client, backend, grader client, evaluation loop (if
           in-process), revocation channel and its listener, providers (one per catalog
           model), flusher (loop if in-process, else only its before-end flush), reply
           runner, presence heartbeat (and orphaned-reply sweep), watchdog loop (if
           in-process)
watchdog   database, Redis client, backend, flusher (before-end flush only), grader
           client, evaluation loop, watchdog loop
flusher    database, backend, flusher loop
=========  ===============================================================================

Stopping the web process therefore stops the watchdog first, then the reply runner (each
cut reply logs its end), then the flusher (its final pass stores those ends), then the
providers and the backend, and the database last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from evaluation.jobs import EvaluationJobs, JobPolicy, LLMGrader
from llm.completion import make_completer
from llm.registry import ModelRegistry
from llm.retry import RetryPolicy
from realtime.backends import RealtimeBackend, make_backend, make_revocations
from realtime.backends.redis_pool import pool_waits
from realtime.budgetreport import BudgetReport
from realtime.budgets import BudgetStore, make_budget_store
from realtime.connection import SocketParts
from realtime.control import SessionControl
from realtime.conversation import ReplyRunner
from realtime.duty import Duty
from realtime.flusher import Flusher
from realtime.framecache import FrameCache
from realtime.heartbeat import Heartbeat
from realtime.hub import Hub
from realtime.metrics import NULL_OBSERVER, Observer
from realtime.presence import PresenceBoard
from realtime.revocation import LiveConnections
from realtime.revoker import Revoker
from realtime.sessionlog import SessionLog
from realtime.transitions import TransitionHooks
from realtime.watchdog import Watchdog
from server.metrics import Metrics
from server.metrics_server import bind_metrics_socket, metrics_served
from server.models_setup import model_catalog, model_registry
from server.settings import Settings
from server.settings_map import (
    database,
    flusher_policy,
    realtime_config,
    redis_client,
    watchdog_policy,
)
from storage.db import Database

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

__all__ = [
    "Lifetime",
    "Realtime",
    "background",
    "compose_evaluations",
    "compose_realtime",
    "redis_client",
    "run_flusher_process",
    "run_watchdog_process",
    "stop_signal",
]

# How long shutdown waits for a background loop to finish its current step.
STOP_GRACE_SECONDS = 10.0
# The last flush at shutdown gets this long (inside the 10 s of STOP_GRACE_SECONDS).
FINAL_FLUSH_SECONDS = 5.0

Opener = Callable[[], AbstractAsyncContextManager[object]]


@dataclass
class Lifetime:
    """Parts opened in the order added and closed in reverse, each once."""

    steps: list[tuple[str, Opener]] = field(default_factory=list)

    def open(self, name: str, opener: Opener) -> None:
        self.steps.append((name, opener))

    def close(self, name: str, aclose: Callable[[], Awaitable[object]]) -> None:
        """A part that is already open: only its closing is ordered here."""

        @asynccontextmanager
        async def closing() -> AsyncIterator[None]:
            try:
                yield
            finally:
                await aclose()

        self.open(name, closing)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.steps]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for _name, opener in self.steps:
                await stack.enter_async_context(opener())
            yield


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


# -- settings -> policies ------------------------------------------------------------------


@dataclass
class Realtime:
    """The realtime parts of a web or watchdog process."""

    backend: RealtimeBackend
    budgets: BudgetStore
    log: SessionLog
    report: BudgetReport
    flusher: Flusher
    sockets: SocketParts | None = None
    #: The model catalog and its providers (the web kind).
    models: ModelRegistry | None = None
    revoker: Revoker | None = None


def compose_realtime(
    settings: Settings,
    db: Database,
    redis: Redis | None,
    control: SessionControl,
    lifetime: Lifetime,
    *,
    serve_sockets: bool,
    readiness: dict[str, Callable[[], Awaitable[object]]],
    observer: Observer = NULL_OBSERVER,
) -> Realtime:
    """Build the realtime parts on top of an open ``db`` and ``redis``; add their
    lifetimes to ``lifetime`` in order. ``serve_sockets``: the web kind (replies,
    presence, the in-process flusher and watchdog per settings); else the watchdog kind."""
    config = realtime_config(settings)
    # One encoding an event for the sockets and the in-process backend's window, or
    # told Redis's stored text.
    frames, url, prefix = FrameCache(), settings.redis_url, settings.redis_key_prefix
    backend = make_backend(url, prefix, settings.live_window_events, frames.encode, frames.known)
    lifetime.close("backend", backend.aclose)
    budgets = make_budget_store(redis, prefix, settings.reservation_ttl_seconds)
    lifetime.close("budgets", budgets.aclose)
    session_log = SessionLog(backend, db)
    report = BudgetReport(budgets, session_log, control)
    hooks = TransitionHooks(session_log, report, config.stop_grace_seconds)
    flusher = Flusher(db, backend, flusher_policy(settings))
    # Before a session ends: stop its reply and wait for its end, then flush the log.
    control.before_terminal += [hooks.before_terminal, flusher.flush_before_end]
    control.after_transition += [hooks.after_transition, flusher.after_transition]
    # The watchdog process always runs evaluations; a web process when in-process.
    loop = settings.evaluation_in_process or not serve_sockets
    compose_evaluations(settings, db, control, lifetime, loop=loop)
    parts = Realtime(backend, budgets, session_log, report, flusher)
    # Several watchdogs (one per worker by default) scan as one: the holder of the
    # deployment's watchdog lease does (realtime.duty).
    policy = watchdog_policy(settings)
    duty = Duty(backend, "watchdog")
    dog = Watchdog(db, control, budgets, policy, report.time_warning, observer=observer, duty=duty)
    if not serve_sockets:
        lifetime.open("watchdog", lambda: background(dog.run, "watchdog"))
        return parts

    revoker = Revoker(
        make_revocations(settings.redis_url, settings.redis_key_prefix), LiveConnections()
    )
    lifetime.close("revocation channel", revoker.channel.aclose)
    lifetime.open("revocations", revoker.running)
    parts.revoker = revoker
    models = model_registry(settings)
    lifetime.close("providers", models.aclose)
    parts.models = models
    if settings.flusher_in_process:
        flusher.duty = Duty(backend, "flusher")
        lifetime.open("flusher", lambda: _flushing(flusher))
        readiness["flusher"] = flusher.readiness
    runner = ReplyRunner(
        log=session_log,
        budgets=budgets,
        provider=models,
        control=control,
        db=db,
        config=config,
        observer=observer,
    )
    lifetime.close("replies", partial(runner.aclose, grace=settings.shutdown_grace_seconds))
    hub = Hub(
        db=db, log=session_log, budgets=budgets, runner=runner, control=control, config=config
    )
    presence = PresenceBoard(
        session_log,
        control,
        config.presence_ttl_seconds,
        spacing=config.presence_spacing_seconds,
    )
    lifetime.close("presence spacing", presence.aclose)
    # One heartbeat for every socket of the process (not a task per socket); it stops
    # before the replies and the backend it touches.
    heartbeat = Heartbeat(presence, session_log, config)
    flusher.listing.serving = heartbeat.serving  # sockets open: list on every scan
    lifetime.open("presence heartbeat", lambda: background(heartbeat.run, "heartbeat"))
    parts.sockets = SocketParts(
        hub, session_log, presence, report, control, config, heartbeat, observer, frames
    )
    if settings.watchdog_in_process:
        lifetime.open("watchdog", lambda: background(dog.run, "watchdog"))
    return parts


def compose_evaluations(
    settings: Settings,
    db: Database,
    control: SessionControl,
    lifetime: Lifetime,
    *,
    loop: bool,
) -> EvaluationJobs:
    """The evaluation jobs: every ended session gets a pending evaluation (an
    ``after_transition`` hook, after the status is published); with ``loop``, this
    process also runs them, with the LLM grader the settings name (its client closed
    after the loop stops)."""
    grader: LLMGrader | None = None
    if loop and settings.grader_provider != "automatic":
        completer = make_completer(
            settings.grader_provider,
            model=settings.grader_model,
            anthropic_api_key=settings.anthropic_api_key,
            anthropic_base_url=settings.anthropic_base_url,
            openai_api_key=settings.openai_api_key,
            openai_base_url=settings.openai_base_url,
            timeout=settings.llm_timeout_seconds,
        )
        lifetime.close("grader", completer.aclose)
        retry = RetryPolicy(max_retries=settings.llm_max_retries)
        grader = LLMGrader(
            completer,
            settings.grader_model,
            settings.grader_max_tokens,
            retry,
            catalog=model_catalog(settings),
        )
    policy = JobPolicy(
        interval_seconds=settings.evaluation_interval_seconds,
        lease_seconds=settings.evaluation_lease_seconds,
        job_seconds=settings.evaluation_job_seconds,
    )
    jobs = EvaluationJobs(db, policy, grader)
    control.after_transition.append(jobs.session_ended)
    if loop:
        lifetime.open("evaluations", lambda: background(jobs.run, "evaluations"))
    return jobs


@asynccontextmanager
async def _flushing(flusher: Flusher) -> AsyncIterator[None]:
    """The flush loop, then one last pass (the in-process backend's log dies with the
    process; replies cut by the shutdown have logged their end by then)."""
    async with background(flusher.run, "flusher"):
        yield
    await final_flush(flusher)


async def final_flush(flusher: Flusher) -> None:
    try:
        async with asyncio.timeout(FINAL_FLUSH_SECONDS):
            await flusher.scan()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("final flush incomplete; the next flusher continues", exc_info=True)


def _metrics_of_process(settings: Settings, lifetime: Lifetime) -> Metrics | None:
    """With ``METRICS_PORT`` set, the process's metrics, served there for its lifetime
    (bound now: a port in use raises MetricsPortUnavailable before anything starts); else
    None."""
    if settings.metrics_port is None:
        return None
    metrics = Metrics()
    listening = bind_metrics_socket(settings.metrics_host, settings.metrics_port)
    lifetime.open("metrics", lambda: metrics_served(metrics, listening, settings.metrics_token))
    return metrics


async def run_watchdog_process(settings: Settings) -> int:
    """``vclient watchdog``: expire sessions until SIGTERM or SIGINT."""
    lifetime = Lifetime()
    metrics = _metrics_of_process(settings, lifetime)
    db = database(settings)
    lifetime.close("database", db.aclose)
    redis = redis_client(settings)
    if redis is not None:
        lifetime.close("redis", redis.aclose)
    compose_realtime(
        settings,
        db,
        redis,
        SessionControl(db),
        lifetime,
        serve_sockets=False,
        readiness={},
        observer=metrics or NULL_OBSERVER,
    )
    if metrics is not None:
        metrics.watch(db, None, pool_waits(redis))
    async with stop_signal() as stop, lifetime.running():
        print("running; stop with SIGTERM", flush=True)
        await stop.wait()
    return 0


async def run_flusher_process(settings: Settings) -> int:
    """``vclient flusher``: flush until SIGTERM or SIGINT, then finish the current scan."""
    if not settings.redis_url:
        print(
            "error: vclient flusher needs REDIS_URL (the in-process backend is flushed "
            "inside the web process; see FLUSHER_IN_PROCESS)",
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    lifetime = Lifetime()
    metrics = _metrics_of_process(settings, lifetime)
    db = database(settings)
    backend = make_backend(
        settings.redis_url, settings.redis_key_prefix, settings.live_window_events
    )
    flusher = Flusher(db, backend, flusher_policy(settings), duty=Duty(backend, "flusher"))
    if metrics is not None:
        metrics.watch(db, flusher.lag)
    lifetime.close("database", db.aclose)
    lifetime.close("backend", backend.aclose)
    async with stop_signal() as stop, lifetime.running():
        print(f"flusher every {flusher.policy.interval_seconds} s", flush=True)
        print("running; stop with SIGTERM", flush=True)  # the ready line, as the watchdog
        await flusher.run(stop)
    log.info("flusher stopped")
    return 0
