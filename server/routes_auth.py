"""Teacher login and logout, and the student join link."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from realtime.lifecycle import TERMINAL, SessionStatus
from server.auth import (
    STUDENT_COOKIE_MAX_AGE,
    TEACHER_COOKIE,
    TEACHER_COOKIE_MAX_AGE,
    set_cookie,
    student_cookie_name,
)
from server.errors import ApiError
from server.http import json_response, read_json, require_teacher, resource
from server.passwords import verify_password
from server.schemas import LoginIn, UserOut
from server.settings import limits_doc
from server.state import AppState, app_state
from storage.errors import NotFound
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


async def login(request: Request) -> Response:
    state = app_state(request)
    body = await read_json(request, LoginIn)
    email = user_repo.normalise_email(body.email)
    limits = [
        (f"login:email:{email}", state.settings.login_failures_per_email),
        (f"login:addr:{_client_address(request)}", state.settings.login_failures_per_address),
    ]
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
    set_cookie(
        response,
        TEACHER_COOKIE,
        state.signer.teacher_token(user.id),
        TEACHER_COOKIE_MAX_AGE,
        state.settings.cookie_secure,
    )
    return response


async def logout(request: Request) -> Response:
    response = JSONResponse({"ok": True})
    response.delete_cookie(TEACHER_COOKIE, path="/", httponly=True, samesite="lax")
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
            session = await session_repo.get_session_unscoped(db, claim.session_id)
    except NotFound:
        return HTMLResponse(INVALID_LINK, status_code=404)
    if session.join_nonce != claim.nonce or SessionStatus(session.status) in TERMINAL:
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
    resource("/api/me", get=me),
    Route("/join/{token}", join, methods=["GET"]),
]
