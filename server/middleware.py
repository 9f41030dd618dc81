"""Cross-site request protection and security headers, as plain ASGI middleware."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import error_body
from server.origin import origin_allowed

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        b"style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
]


class OriginCheckMiddleware:
    """Refuse state-changing HTTP requests from other sites (403), on top of SameSite
    cookies. WebSocket handshakes are checked in the socket endpoint."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            if not origin_allowed(headers, scope.get("scheme", "http"), self.allowed):
                response = JSONResponse(
                    error_body("forbidden_origin", "Cross-site requests are not allowed."), 403
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                existing = {name.lower() for name, _ in message["headers"]}
                message["headers"] = list(message["headers"]) + [
                    (name, value) for name, value in SECURITY_HEADERS if name not in existing
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
