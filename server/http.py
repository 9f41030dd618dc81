"""Small helpers shared by the JSON routes: bounded body reading, validation, ids, and
one route per path."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from server.access import signed_in_teacher
from server.errors import ApiError, invalid_fields, validation_fields
from server.state import app_state
from storage.models import User
from storage.text import find_unstorable_text

M = TypeVar("M", bound=BaseModel)
Endpoint = Callable[[Request], Awaitable[Response]]

# Our deepest body nests 5 levels (rubric -> criteria -> criterion -> levels -> level).
# 32 leaves room to grow while keeping ``json.loads`` (one C-stack frame per level) and the
# checks that walk the result far from Python's recursion limit (1,000): "[" * 100_000
# raised RecursionError there, a 500.
MAX_JSON_DEPTH = 32

_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_A_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")


def json_nesting_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the JSON text ``raw`` opens more than ``limit`` arrays or objects inside
    one another, judged without parsing it (brackets inside strings do not count).
    Linear in ``len(raw)`` and non-recursive; broken JSON gives some answer, and the
    parser refuses it afterwards anyway."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_A_BRACKET)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object from a request body (empty means ``{}``).

    Raises ApiError 400 ``bad_json`` for broken JSON, a non-object, or nesting deeper than
    :data:`MAX_JSON_DEPTH`."""
    if json_nesting_exceeds(raw, MAX_JSON_DEPTH):
        raise ApiError(400, "bad_json", f"The body nests deeper than {MAX_JSON_DEPTH} levels.")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "bad_json", f"The body is not valid JSON: {error}.") from error
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "The body must be a JSON object.")
    return data


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refusing with 413 as soon as it passes ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"The request body is over {max_bytes:,} bytes.")


async def read_json(request: Request, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Parse and validate a JSON body: the one place every JSON body is read.

    Raises ApiError: 400 broken or too deeply nested JSON, 413 too big, 415 not JSON,
    422 invalid fields, including any string SQL cannot store (NUL, lone surrogates)."""
    state = app_state(request)
    raw = await read_body(request, state.settings.max_body_bytes)
    content_type = request.headers.get("content-type", "")
    if raw and "json" not in content_type:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    data = parse_json_object(raw)
    unstorable = find_unstorable_text(data)
    try:
        body = model.model_validate(data, context=context)
    except ValidationError as error:
        raise invalid_fields(validation_fields(error) | unstorable) from error
    if unstorable:
        raise invalid_fields(unstorable)
    return body


def path_uuid(request: Request, name: str = "id", kind: str = "object") -> uuid.UUID:
    """A UUID path parameter; a malformed one is simply not found."""
    try:
        return uuid.UUID(str(request.path_params[name]))
    except ValueError as error:
        raise ApiError(404, "not_found", f"That {kind} does not exist.") from error


def json_response(model: BaseModel | list[Any] | dict[str, Any], status: int = 200) -> JSONResponse:
    if isinstance(model, BaseModel):
        return JSONResponse(model.model_dump(mode="json"), status_code=status)
    return JSONResponse(model, status_code=status)


async def require_teacher(request: Request) -> User:
    """The logged-in teacher or admin (a cookie not revoked since, see
    :mod:`server.access`); 401 otherwise."""
    user = await signed_in_teacher(request, app_state(request))
    if user is None:
        raise ApiError(401, "unauthorized", "Log in as a teacher first.")
    return user


class _Resource:
    """The ASGI app behind :func:`resource`: answers OPTIONS, refuses other methods with
    405, hands the rest to the method's endpoint."""

    def __init__(self, handlers: dict[str, Endpoint]) -> None:
        self.handlers = handlers
        if "GET" in handlers:
            self.handlers.setdefault("HEAD", handlers["GET"])
        self.allow = ", ".join(sorted({*self.handlers, "OPTIONS"}))
        self.app = request_response(self.dispatch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": self.allow})
        handler = self.handlers.get(request.method)
        if handler is None:
            raise ApiError(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {self.allow}.",
                headers={"Allow": self.allow},
            )
        return await handler(request)


def resource(path: str, **handlers: Endpoint) -> Route:
    """One route for every method a path takes (``get=``, ``post=``, ...). A route per
    method would make the first one answer for the path: OPTIONS, or a 405's ``Allow``,
    would name only its methods. OPTIONS answers 204 with ``Allow``; HEAD follows GET."""
    table = {method.upper(): handler for method, handler in handlers.items()}
    return Route(path, _Resource(table), name=path)
