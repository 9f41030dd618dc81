"""``GET /metrics``: Prometheus text format, from a registry each app builds for itself.

Counters and histograms move as things happen (:class:`Metrics` is the realtime
:class:`~realtime.metrics.Observer`); gauges of state kept elsewhere (sessions by status
in SQL, the flusher's lag, the database pool) are read when scraped. No global registry:
two apps in one process (tests) never share a count.

Only loopback callers may scrape, or callers presenting ``METRICS_TOKEN`` as a bearer
token; anyone else gets 404, as if there were no such page.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llm.metrics import CallRecord
from realtime.vocabulary import Role
from server.errors import error_body
from server.state import app_state
from storage.db import Database
from storage.models import Session
from storage.pool_waits import WAIT_BUCKETS, WaitSnapshot, WaitTally

log = logging.getLogger(__name__)

__all__ = ["Metrics", "routes"]

# A scrape waits at most this long for the SQL count (Prometheus' default scrape timeout
# is 10 s; a slow database must not make the whole scrape fail): the sessions gauge is
# left out of that scrape instead.
SQL_SCRAPE_SECONDS = 1.0
# Model latency: first token from ~0.2 s (a warm small model) to tens of seconds (an
# overloaded provider); whole replies up to the 60 s request timeout and its retries.
TTFT_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
DURATION_BUCKETS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 240.0)


async def _sessions_by_status(db: AsyncSession) -> dict[str, int]:
    rows = await db.execute(select(Session.status, func.count()).group_by(Session.status))
    return {str(status): int(count) for status, count in rows.all()}


@dataclass
class _Snapshot:
    """Read at scrape by the ``/metrics`` handler, then served by the collector."""

    sessions: dict[str, int] | None = None
    lag: Mapping[str, object] = field(default_factory=dict)
    pool_checked_out: int | None = None
    #: Checkout waits by pool (``sql``, ``redis``).
    pool_waits: dict[str, WaitSnapshot] = field(default_factory=dict)


class _ScrapedState(Collector):
    def __init__(self) -> None:
        self.snapshot = _Snapshot()

    def collect(self) -> Iterable[Metric]:
        snap = self.snapshot
        if snap.sessions is not None:
            sessions = GaugeMetricFamily(
                "vclient_sessions", "Sessions in the database by status.", labels=["state"]
            )
            for state, count in sorted(snap.sessions.items()):
                sessions.add_metric([state], count)
            yield sessions
        if snap.lag:
            yield GaugeMetricFamily(
                "vclient_flush_lag_seconds",
                "How long the oldest unflushed event has waited for SQL.",
                value=_number(snap.lag.get("oldest_unflushed_seconds")),
            )
            yield GaugeMetricFamily(
                "vclient_flush_pending_events",
                "Durable events not yet in SQL (a lower bound).",
                value=_number(snap.lag.get("unflushed_events")),
            )
        if snap.pool_checked_out is not None:
            yield GaugeMetricFamily(
                "vclient_db_pool_checked_out",
                "Database connections in use from this process's pool.",
                value=snap.pool_checked_out,
            )
        if snap.pool_waits:
            yield from _pool_wait_families(snap.pool_waits)


def _pool_wait_families(waits: Mapping[str, WaitSnapshot]) -> Iterable[Metric]:
    histogram = HistogramMetricFamily(
        "vclient_pool_wait_seconds",
        "How long a checkout waited for a pooled connection, by pool.",
        labels=["pool"],
    )
    timeouts = CounterMetricFamily(
        "vclient_pool_wait_timeouts",
        "Checkouts that gave up waiting for a pooled connection, by pool.",
        labels=["pool"],
    )
    for pool, snap in sorted(waits.items()):
        bounds = [*(str(bound) for bound in WAIT_BUCKETS), "+Inf"]
        histogram.add_metric(
            [pool], list(zip(bounds, snap.cumulative, strict=True)), snap.total_seconds
        )
        timeouts.add_metric([pool], snap.timeouts)
    yield histogram
    yield timeouts


class _FrameCounts(Collector):
    """Frames sent, counted in plain ints and read when scraped: a frame is counted
    ~9,000 times a second at S=150, and a ``Counter.inc`` takes a lock each
    time (3.5% of an in-process worker's samples at S=150 for two of them a frame)."""

    def __init__(self) -> None:
        self.sent = 0
        self.written_directly = 0

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "vclient_frames_sent", "Frames sent to session sockets.", value=self.sent
        )
        yield CounterMetricFamily(
            "vclient_frames_written_directly",
            "Of the frames sent, those written straight to the transport in the event's"
            " own call (none while compression is on, or under another server than"
            " uvicorn's websockets-sansio).",
            value=self.written_directly,
        )


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


class Metrics:
    """One app's metrics; the :class:`~realtime.metrics.Observer` of its realtime parts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sockets = Gauge("vclient_sockets", "Open session sockets.", ["role"], registry=r)
        for role in Role:
            self.sockets.labels(role.value)  # present at 0 before the first socket
        self.frames = _FrameCounts()
        r.register(self.frames)
        self.slow_consumers = Counter(
            "vclient_slow_consumers_dropped",
            "Sockets closed with 4008: their send queue stayed full.",
            registry=r,
        )
        self.ttft = Histogram(
            "vclient_reply_time_to_first_token_seconds",
            "Provider calls: time to the first token.",
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.duration = Histogram(
            "vclient_reply_duration_seconds",
            "Provider calls: whole duration, however they ended.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.provider_errors = Counter(
            "vclient_provider_errors",
            "Provider calls that failed, by failure code.",
            ["code"],
            registry=r,
        )
        self.budget_refusals = Counter(
            "vclient_budget_refusals", "Says refused: the token budget is used up.", registry=r
        )
        self.expiries = Counter(
            "vclient_watchdog_expiries",
            "Sessions the watchdog expired, by reason.",
            ["reason"],
            registry=r,
        )
        # Reply slots (realtime.replyslots): past MAX_STREAMING_REPLIES replies queue,
        # past REPLY_QUEUE_SIZE more a say is refused `busy`.
        self.replies_waiting_gauge = Gauge(
            "vclient_replies_waiting",
            "Replies admitted on this worker and waiting for a streaming slot.",
            registry=r,
        )
        self.busy_refusals = Counter(
            "vclient_busy_refusals", "Says refused busy: reply slots and queue full.", registry=r
        )
        self._scraped = _ScrapedState()
        r.register(self._scraped)
        self._db: Database | None = None
        self._lag: Callable[[], Mapping[str, object]] | None = None
        self._redis_waits: WaitTally | None = None

    def watch(
        self,
        db: Database,
        lag: Callable[[], Mapping[str, object]] | None,
        redis_waits: WaitTally | None = None,
    ) -> None:
        """What scrapes read: session counts and pool waits from ``db``, the flusher's
        ``lag()``, the Redis client's pool waits (None in-process or on a Cluster, whose
        client keeps a pool per node)."""
        self._db, self._lag, self._redis_waits = db, lag, redis_waits

    # -- Observer ------------------------------------------------------------------------

    def socket_opened(self, role: Role) -> None:
        self.sockets.labels(role.value).inc()

    def socket_closed(self, role: Role) -> None:
        self.sockets.labels(role.value).dec()

    def frame_sent(self, *, direct: bool = False) -> None:
        frames = self.frames
        frames.sent += 1
        if direct:
            frames.written_directly += 1

    def slow_consumer_dropped(self) -> None:
        self.slow_consumers.inc()

    def reply_recorded(self, record: CallRecord) -> None:
        if record.time_to_first_token_ms is not None:
            self.ttft.observe(record.time_to_first_token_ms / 1000)
        self.duration.observe(record.duration_ms / 1000)
        if record.outcome == "failed":
            self.provider_errors.labels(record.failure_code or "unknown").inc()

    def budget_refused(self) -> None:
        self.budget_refusals.inc()

    def session_expired(self, reason: str) -> None:
        self.expiries.labels(reason).inc()

    def replies_waiting(self, count: int) -> None:
        self.replies_waiting_gauge.set(count)

    def say_busy(self) -> None:
        self.busy_refusals.inc()

    # -- scrape --------------------------------------------------------------------------

    async def render(self) -> bytes:
        """The text exposition; state kept elsewhere is read now. Never raises for a slow
        or failing database: the sessions gauge is then left out."""
        snap = _Snapshot()
        if self._db is not None:
            try:
                async with asyncio.timeout(SQL_SCRAPE_SECONDS):
                    snap.sessions = await self._db.read(_sessions_by_status)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("metrics: no session counts (%s)", type(error).__name__)
            checked_out = getattr(self._db.engine.pool, "checkedout", None)
            if callable(checked_out):
                snap.pool_checked_out = int(checked_out())
            if (sql_waits := self._db.pool_waits) is not None:
                snap.pool_waits["sql"] = sql_waits.snapshot()
        if self._redis_waits is not None:
            snap.pool_waits["redis"] = self._redis_waits.snapshot()
        if self._lag is not None:
            snap.lag = self._lag()
        self._scraped.snapshot = snap
        return generate_latest(self.registry)


def allowed(request: Request, token: str | None) -> bool:
    """Loopback callers, or the bearer of ``token``. Behind a proxy on the same host,
    uvicorn's ``proxy_headers`` puts the real client's address here, so a scrape relayed
    from outside is not mistaken for a local one."""
    if token:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return True
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_of(request: Request) -> Metrics:
    metrics = request.app.state.metrics
    assert isinstance(metrics, Metrics)
    return metrics


async def metrics_response(request: Request, metrics: Metrics, token: str | None) -> Response:
    """``metrics`` rendered for a caller :func:`allowed` lets in; 404 for anyone else."""
    if not allowed(request, token):
        return JSONResponse(error_body("not_found", "Not found."), status_code=404)
    return Response(await metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def metrics_page(request: Request) -> Response:
    return await metrics_response(
        request, metrics_of(request), app_state(request).settings.metrics_token
    )


routes = [Route("/metrics", metrics_page, methods=["GET"], include_in_schema=False)]
