"""Small helpers shared by the JSON routes: bounded body reading, validation, ids."""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.auth import TEACHER_COOKIE
from server.errors import ApiError, validation_error
from server.state import app_state
from storage.models import User
from storage.repos import users as user_repo

M = TypeVar("M", bound=BaseModel)


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
    """Parse and validate a JSON body; 400 for broken JSON, 413 too big, 422 invalid."""
    state = app_state(request)
    raw = await read_body(request, state.settings.max_body_bytes)
    content_type = request.headers.get("content-type", "")
    if raw and "json" not in content_type:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "bad_json", f"The body is not valid JSON: {error}.") from error
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "The body must be a JSON object.")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise validation_error(error) from error


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
    """The logged-in teacher or admin; 401 otherwise."""
    state = app_state(request)
    user_id = state.signer.teacher_id(request.cookies.get(TEACHER_COOKIE))
    if user_id is not None:
        async with state.db.session() as db:
            user = await user_repo.get(db, user_id)
        if user is not None and user.role in ("teacher", "admin"):
            return user
    raise ApiError(401, "unauthorized", "Log in as a teacher first.")
