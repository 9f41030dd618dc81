"""``GET /metrics`` of a background process (``vclient watchdog``, ``vclient flusher``),
which serves no HTTP otherwise: its watchdog expiries, flush lag and pending events, and
pool waits had no samples anywhere once it ran apart from the web workers (the
Procfile's layout).

A minimal Starlette app under uvicorn in the process's own event loop, on a socket bound
before anything starts (a port in use is a clear error at start, not a dead task), with
the web's rules: loopback callers, or the bearer of ``METRICS_TOKEN``; 404 for anyone
else. uvicorn leaves the process's signals alone: SIGTERM stops the process as before.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.metrics import Metrics, metrics_response

__all__ = ["MetricsPortUnavailable", "bind_metrics_socket", "metrics_served"]


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn would take SIGTERM and SIGINT for itself (signal.signal) and restore
        # them only when it stops: the process's own stop_signal would never hear them.
        yield


class MetricsPortUnavailable(Exception):
    """``METRICS_PORT`` cannot be bound; ``str()`` says which and why."""


def bind_metrics_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound now. Raises MetricsPortUnavailable (a port in use, a
    bad host)."""
    try:
        return socket.create_server((host, port), reuse_port=False)
    except OSError as error:
        raise MetricsPortUnavailable(f"cannot serve metrics on port {port}: {error}") from error


@asynccontextmanager
async def metrics_served(
    metrics: Metrics, listening: socket.socket, token: str | None
) -> AsyncIterator[None]:
    """Serve ``metrics`` on ``listening`` until the block ends (the socket is closed
    then)."""

    async def page(request: Request) -> Response:
        return await metrics_response(request, metrics, token)

    app = Starlette(routes=[Route("/metrics", page, methods=["GET"])])
    config = uvicorn.Config(
        app, lifespan="off", log_config=None, access_log=False, proxy_headers=False
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]), name="metrics server")
    try:
        yield
    finally:
        server.should_exit = True
        await task
        listening.close()
