"""``create_app(settings)``: builds every part and hands it down through ``app.state``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import cast

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from realtime.control import SessionControl
from server import (
    routes_auth,
    routes_health,
    routes_library,
    routes_sessions,
    routes_student,
    routes_transcripts,
    routes_usage,
    ws_endpoint,
)
from server.auth import Signer
from server.errors import EXCEPTION_HANDLERS
from server.middleware import OriginCheckMiddleware, SecurityHeadersMiddleware
from server.openapi import routes as openapi_routes
from server.ratelimit import FailureCounter, MemoryFailureCounter, RedisFailureCounter
from server.settings import Settings
from server.state import AppState
from server.wiring import attach_realtime
from storage.db import Database

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(_request: Request) -> Response:
        return FileResponse(WEB_DIR / name, headers={"cache-control": "no-cache"})

    return endpoint


def build_state(settings: Settings) -> AppState:
    db = Database(settings.effective_database_url)
    redis = None
    failures: FailureCounter = MemoryFailureCounter()
    if settings.redis_url:
        from redis.asyncio import Redis

        from realtime.backends.redis import redis_client

        # redis+cluster:// gives a RedisCluster: it serves every command sent through
        # this client (single-key or single-slot scripts and pipelines, PING) alike.
        redis = cast(Redis, redis_client(settings.redis_url, decode_responses=True))
        failures = RedisFailureCounter(redis, settings.redis_key_prefix)
    return AppState(
        settings=settings,
        db=db,
        signer=Signer(settings.resolved_secret_key()),
        failures=failures,
        control=SessionControl(db),
        redis=redis,
    )


@asynccontextmanager
async def running(state: AppState) -> AsyncIterator[None]:
    """The parts' lifetime: background services run inside it, in order, and stop in
    reverse; the database and Redis connections close last. Shared by the web app's
    lifespan and the headless processes."""
    async with AsyncExitStack() as stack:
        stack.push_async_callback(state.db.aclose)
        if state.redis is not None:
            stack.push_async_callback(state.redis.aclose)
        for service in state.services:
            await stack.enter_async_context(service())
        yield


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    state = build_state(settings)
    attach_realtime(state, watchdog=settings.watchdog_in_process)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with running(state):
            yield

    async def home(_request: Request) -> Response:
        return RedirectResponse("/teacher", status_code=302)

    routes = [
        *routes_health.routes,
        *openapi_routes,
        *routes_auth.routes,
        *routes_library.routes,
        *routes_sessions.routes,
        *routes_student.routes,
        *routes_transcripts.routes,
        *routes_usage.routes,
        *ws_endpoint.routes,
        Route("/", home, methods=["GET"]),
        Route("/teacher", _page("teacher.html"), methods=["GET"]),
        Route("/s/{id}", _page("student.html"), methods=["GET"]),
        Mount("/static", StaticFiles(directory=WEB_DIR, check_dir=False), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(OriginCheckMiddleware, allowed=settings.origins),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.vc = state
    return app
