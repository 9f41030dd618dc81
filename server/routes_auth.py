"""Teacher login, logout and password change, and the student join link.

Logout and a password change revoke server-side: they bump the teacher's
``session_version`` (every cookie issued before stops working at once, on every worker:
``server.access`` checks it) and close the teacher's open sockets everywhere. Logout
therefore signs the teacher out on every device.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import StringConstraints
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from realtime.lifecycle import TERMINAL, SessionStatus
from realtime.revocation import UserRevoked
from server.access import close_revoked, signed_in_teacher
from server.auth import (
    PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS,
    STUDENT_COOKIE_MAX_AGE,
    TEACHER_COOKIE,
    TEACHER_COOKIE_MAX_AGE,
    set_cookie,
    student_cookie_name,
)
from server.errors import ApiError
from server.http import json_response, read_json, require_teacher, resource
from server.passwords import hash_password, verify_password
from server.schemas import Input, LoginIn, UserOut
from server.settings import limits_doc
from server.state import AppState, app_state
from storage.errors import NotFound
from storage.repos import attempts as attempt_repo
from storage.repos import sessions as session_repo
from storage.repos import users as user_repo


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _throttled(state: AppState, keys: list[tuple[str, int]]) -> None:
    for key, limit in keys:
        window = await state.failures.peek(key)
        if window.count >= limit:
            raise ApiError(
                429,
                "rate_limited",
                "Too many failed logins. Wait a little and try again.",
                headers={"Retry-After": str(window.retry_after)},
                extra={"retry_after": window.retry_after},
            )


class PasswordIn(Input):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX_CHARS)]
    new_password: Annotated[
        str, StringConstraints(min_length=PASSWORD_MIN_CHARS, max_length=PASSWORD_MAX_CHARS)
    ]


def _failure_limits(state: AppState, request: Request, email: str) -> list[tuple[str, int]]:
    """Failed logins and failed password changes count together, per account and per
    address: a stolen cookie gets no more guesses at the password than a login form."""
    return [
        (f"login:email:{email}", state.settings.login_failures_per_email),
        (f"login:addr:{_client_address(request)}", state.settings.login_failures_per_address),
    ]


def _set_teacher_cookie(
    response: Response, state: AppState, user_id: uuid.UUID, version: int
) -> None:
    token = state.signer.teacher_token(user_id, version)
    set_cookie(
        response, TEACHER_COOKIE, token, TEACHER_COOKIE_MAX_AGE, state.settings.cookie_secure
    )


async def login(request: Request) -> Response:
    state = app_state(request)
    body = await read_json(request, LoginIn)
    email = user_repo.normalise_email(body.email)
    limits = _failure_limits(state, request, email)
    await _throttled(state, limits)
    async with state.db.session() as db:
        user = await user_repo.get_by_email(db, email)
    ok = await verify_password(user.password_hash if user else None, body.password)
    if not ok or user is None:
        for key, _ in limits:
            await state.failures.hit(key, state.settings.login_window_seconds)
        raise ApiError(401, "invalid_credentials", "Wrong email or password.")
    await state.failures.reset(limits[0][0])
    response = json_response(UserOut.model_validate(user))
    _set_teacher_cookie(response, state, user.id, user.session_version)
    return response


async def logout(request: Request) -> Response:
    """Revoke every cookie of the caller (if still valid) and close their sockets."""
    state = app_state(request)
    teacher = await signed_in_teacher(request, state)
    if teacher is not None:
        async with state.db.session() as db:
            version = await user_repo.revoke_sessions(db, teacher.id)
        if version is not None:
            await close_revoked(state, UserRevoked(teacher.id, below=version))
    response = JSONResponse({"ok": True})
    response.delete_cookie(TEACHER_COOKIE, path="/", httponly=True, samesite="lax")
    return response


async def change_password(request: Request) -> Response:
    """Set a new password: every other cookie and socket of the teacher is revoked, and
    the caller gets a fresh cookie. A wrong current password counts as a failed login.

    Raises ApiError 401 (not logged in), 422 (wrong current password, or a new one that
    is too short), 429 (too many failures)."""
    state = app_state(request)
    teacher = await require_teacher(request)
    body = await read_json(request, PasswordIn)
    limits = _failure_limits(state, request, teacher.email)
    await _throttled(state, limits)
    if not await verify_password(teacher.password_hash, body.current_password):
        for key, _ in limits:
            await state.failures.hit(key, state.settings.login_window_seconds)
        raise ApiError(
            422,
            "validation_failed",
            "Your current password is not right.",
            fields={"current_password": "is not your current password"},
        )
    await state.failures.reset(limits[0][0])
    password_hash = await hash_password(body.new_password)
    async with state.db.session() as db:
        version = await user_repo.revoke_sessions(db, teacher.id, password_hash=password_hash)
    if version is None:  # deleted meanwhile
        raise ApiError(401, "unauthorized", "Log in as a teacher first.")
    await close_revoked(state, UserRevoked(teacher.id, below=version))
    response = json_response(UserOut.model_validate(teacher))
    _set_teacher_cookie(response, state, teacher.id, version)
    return response


async def me(request: Request) -> Response:
    """The teacher, plus the limits policy so forms can validate before submitting."""
    user = await require_teacher(request)
    body = UserOut.model_validate(user).model_dump(mode="json")
    body["limits"] = limits_doc(app_state(request).settings)
    return json_response(body)


INVALID_LINK = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>Link not valid</title><body><main><h1>This link is not valid</h1>
<p>The session has ended or your teacher created a new link. Ask your teacher for the
current one.</p></main></body></html>"""


async def join(request: Request) -> Response:
    """A valid join link sets the student cookie for its one session and opens the chat."""
    state = app_state(request)
    claim = state.signer.read_join_token(str(request.path_params["token"]))
    if claim is None:
        return HTMLResponse(INVALID_LINK, status_code=404)
    try:
        async with state.db.session() as db:
            named = await session_repo.get_session_unscoped(db, claim.session_id)
            # A restarted session's link leads to its latest attempt while that attempt
            # keeps the link's nonce (docs/attempts.md); never outside its own series.
            session = (await attempt_repo.series(db, attempt_repo.root_of(named)))[-1]
    except NotFound:
        return HTMLResponse(INVALID_LINK, status_code=404)
    if named.join_nonce != claim.nonce or session.join_nonce != claim.nonce:
        return HTMLResponse(INVALID_LINK, status_code=404)
    if SessionStatus(session.status) in TERMINAL:
        return HTMLResponse(INVALID_LINK, status_code=404)
    response = RedirectResponse(f"/s/{session.id}", status_code=303)
    set_cookie(
        response,
        student_cookie_name(session.id),
        state.signer.student_token(session.id, session.join_nonce),
        STUDENT_COOKIE_MAX_AGE,
        state.settings.cookie_secure,
    )
    return response


routes = [
    resource("/api/auth/login", post=login),
    resource("/api/auth/logout", post=logout),
    resource("/api/auth/password", post=change_password),
    resource("/api/me", get=me),
    Route("/join/{token}", join, methods=["GET"]),
]
