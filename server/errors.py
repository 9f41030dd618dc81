"""The one place domain errors become HTTP answers: ``{"error": {code, message, fields?}}``."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from realtime.lifecycle import IllegalTransition
from storage.errors import Duplicate, InUse, NotFound


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers
        self.extra = extra or {}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def error_response(error: ApiError) -> JSONResponse:
    body = error_body(error.code, error.message, error.fields)
    body["error"].update(error.extra)
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _plain(message: str) -> str:
    # pydantic's "Value error, must be ..." reads oddly to a teacher.
    return message.removeprefix("Value error, ")


def validation_fields(error: ValidationError) -> dict[str, str]:
    """``{"criteria.0.name": "plain words"}``, the first problem of each field."""
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        fields.setdefault(_location(item["loc"]), _plain(item["msg"]))
    return fields


def invalid_fields(fields: dict[str, str], message: str = "Some fields are not valid.") -> ApiError:
    return ApiError(422, "validation_failed", message, fields=fields)


def validation_error(error: ValidationError) -> ApiError:
    return invalid_fields(validation_fields(error))


STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = STATUS_CODES.get(exc.status_code, "error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _not_found(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFound)
    return JSONResponse(error_body("not_found", f"That {exc.kind} does not exist."), 404)


async def _in_use(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InUse)
    body = error_body(
        "in_use",
        f"This {exc.kind} is used by {len(exc.session_ids)} session(s); "
        "delete or reassign them first.",
    )
    body["error"]["sessions"] = [str(s) for s in exc.session_ids]
    return JSONResponse(body, 409)


async def _illegal_transition(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IllegalTransition)
    body = error_body("illegal_transition", str(exc).capitalize() + ".")
    body["error"]["status"] = exc.current.value
    return JSONResponse(body, 409)


async def _duplicate(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Duplicate)
    return JSONResponse(
        error_body("duplicate", f"That {exc.field} is already taken.", {exc.field: "taken"}), 409
    )


async def _validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return error_response(validation_error(exc))


async def _server_error(_request: Request, _exc: Exception) -> Response:
    return JSONResponse(error_body("internal", "Something went wrong on our side."), 500)


EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    ApiError: _api_error,
    HTTPException: _http_exception,
    NotFound: _not_found,
    InUse: _in_use,
    IllegalTransition: _illegal_transition,
    Duplicate: _duplicate,
    ValidationError: _validation,
    500: _server_error,
}
