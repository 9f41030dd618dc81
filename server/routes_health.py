"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.state import app_state

# A probe that takes longer than this is as good as down for a load balancer.
PROBE_TIMEOUT_SECONDS = 2.0


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _check(probe: Callable[[], Awaitable[object]]) -> str:
    try:
        await asyncio.wait_for(probe(), PROBE_TIMEOUT_SECONDS)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


async def readyz(request: Request) -> Response:
    state = app_state(request)
    # Database.reachable, not a bare ping: what the probe learns, the worker acts on. A
    # worker that never touches SQL between says (the flusher on duty on another worker,
    # its memos fresh) learns of a lost database from its probe and refuses says as if it
    # had asked, instead of acknowledging what SQL cannot record yet.
    database = "ok" if await state.db.reachable() else "error: unreachable"
    checks: dict[str, object] = {"database": database}
    if state.redis is not None:
        redis = state.redis
        checks["redis"] = await _check(lambda: redis.ping())
    for name, probe in state.readiness.items():
        checks[name] = await probe()
    ready = all(v == "ok" for k, v in checks.items() if k in ("database", "redis"))
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
