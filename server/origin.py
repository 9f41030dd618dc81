"""Origin checks for browser writes and WebSocket handshakes (cross-site request
forgery and cross-site WebSocket hijacking)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers


def own_origin(headers: Mapping[str, str], scheme: str) -> str | None:
    host = headers.get("host")
    if not host:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return f"{scheme}://{host}"


def origin_allowed(headers: Headers, scheme: str, allowed: frozenset[str]) -> bool:
    """An ``Origin`` is allowed if it is the server's own or listed in ALLOWED_ORIGINS.

    Without an ``Origin`` header the request did not come from a browser page's script
    (browsers always send it on cross-origin requests and WebSocket handshakes), unless
    ``Sec-Fetch-Site`` says it is cross-site."""
    origin = headers.get("origin")
    if origin is None or origin == "null":
        if origin == "null":
            return False
        return headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}
    origin = origin.rstrip("/")
    return origin in allowed or origin == own_origin(headers, scheme)
