"""``create_app(settings)``: builds every part and hands it down through ``app.state``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from realtime.backends.redis_pool import pool_waits
from realtime.control import SessionControl
from realtime.metrics import NULL_OBSERVER
from server import (
    routes_admin,
    routes_attempts,
    routes_auth,
    routes_evaluation,
    routes_files,
    routes_health,
    routes_library,
    routes_models,
    routes_sessions,
    routes_student,
    routes_transcripts,
    routes_usage,
    ws_endpoint,
)
from server.auth import Signer
from server.composition import Lifetime, compose_realtime
from server.errors import EXCEPTION_HANDLERS
from server.file_store import compose_file_store
from server.heap import freeze_startup_heap, space_full_passes
from server.logging_setup import RequestIdMiddleware
from server.metrics import Metrics
from server.metrics import routes as metrics_routes
from server.middleware import OriginCheckMiddleware, SecurityHeadersMiddleware
from server.openapi import routes as openapi_routes
from server.ratelimit import FailureCounter, MemoryFailureCounter, RedisFailureCounter
from server.settings import Settings
from server.settings_map import database, redis_client
from server.socketcaps import SocketCaps
from server.state import AppState

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(_request: Request) -> Response:
        return FileResponse(WEB_DIR / name, headers={"cache-control": "no-cache"})

    return endpoint


def build_state(settings: Settings, lifetime: Lifetime, metrics: Metrics | None = None) -> AppState:
    """Every part of the web process, its opening and closing order added to ``lifetime``
    (see ``server.composition``); ``metrics`` observes the realtime parts."""
    db = database(settings)
    lifetime.close("database", db.aclose)
    redis = redis_client(settings)
    failures: FailureCounter = MemoryFailureCounter()
    if redis is not None:
        lifetime.close("redis", redis.aclose)
        failures = RedisFailureCounter(redis, settings.redis_key_prefix)
    state = AppState(
        settings=settings,
        db=db,
        signer=Signer(settings.resolved_secret_key()),
        failures=failures,
        control=SessionControl(db),
        files=compose_file_store(settings, lifetime),
        redis=redis,
        socket_caps=SocketCaps(
            settings.ws_max_sockets_per_user, settings.ws_max_sockets_per_address
        ),
    )
    realtime = compose_realtime(
        settings,
        db,
        redis,
        state.control,
        lifetime,
        serve_sockets=True,
        readiness=state.readiness,
        observer=metrics or NULL_OBSERVER,
    )
    if metrics is not None:
        metrics.watch(
            db,
            realtime.flusher.lag if settings.flusher_in_process else None,
            pool_waits(redis),
        )
    state.sockets = realtime.sockets
    state.revoker = realtime.revoker
    state.catalog = realtime.models.catalog if realtime.models is not None else None
    return state


class VirtualClientApp(Starlette):
    """The app, with session sockets served past the middleware (see
    :func:`server.ws_endpoint.serve_directly`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await ws_endpoint.serve_directly(self, scope, receive, send):
            await super().__call__(scope, receive, send)


def create_served_app() -> Starlette:
    """The app ``vclient serve`` runs (uvicorn's factory, once per worker process): what
    start-up made is frozen out of the garbage collector's full passes, which come ten
    times less often (:mod:`server.heap`). In-process tests build many apps in one process
    and use :func:`create_app`, which does neither (each freeze would keep a test's
    objects for the rest of the run)."""
    return create_app(freeze_heap=True)


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> Starlette:
    settings = settings or Settings()
    lifetime = Lifetime()
    metrics = Metrics()
    state = build_state(settings, lifetime, metrics)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with lifetime.running():
            if freeze_heap:
                freeze_startup_heap()
                space_full_passes()
            yield

    async def home(_request: Request) -> Response:
        return RedirectResponse("/teacher", status_code=302)

    routes = [
        *routes_health.routes,
        *metrics_routes,
        *openapi_routes,
        *routes_auth.routes,
        *routes_library.routes,
        *routes_models.routes,
        *routes_sessions.routes,
        *routes_attempts.routes,
        *routes_student.routes,
        *routes_files.routes,
        *routes_transcripts.routes,
        *routes_evaluation.routes,
        *routes_usage.routes,
        *routes_admin.routes,
        *ws_endpoint.routes,
        Route("/", home, methods=["GET"]),
        Route("/teacher", _page("teacher.html"), methods=["GET"]),
        Route("/admin", _page("admin.html"), methods=["GET"]),
        Route("/s/{id}", _page("student.html"), methods=["GET"]),
        Mount("/static", StaticFiles(directory=WEB_DIR, check_dir=False), name="static"),
    ]
    app = VirtualClientApp(
        routes=routes,
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(SecurityHeadersMiddleware),
            Middleware(OriginCheckMiddleware, allowed=settings.origins),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.vc = state
    app.state.metrics = metrics
    return app
