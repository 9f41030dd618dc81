"""Attempts: restart a session (teacher, or its student when allowed), list a series'
attempts, and move a student's page to the latest attempt (docs/attempts.md)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from realtime.attempts import (
    AttemptLimitReached,
    Attempts,
    NotLatestAttempt,
    NotStarted,
    Restarted,
)
from realtime.vocabulary import Role
from server.access import signed_in_teacher
from server.attempt_schemas import (
    AttemptOut,
    AttemptPage,
    AttemptRef,
    AttemptUsageOut,
    NextAttemptOut,
    RestartOut,
)
from server.auth import (
    STUDENT_COOKIE_MAX_AGE,
    STUDENT_COOKIE_PREFIX,
    read_student_claim,
    set_cookie,
    student_cookie_name,
)
from server.errors import ApiError
from server.http import json_response, path_uuid, require_teacher, resource
from server.routes_sessions import actor, refuse_over_cap
from server.routes_student import student_session
from server.state import AppState, app_state
from storage.errors import Conflict, NotFound
from storage.models import Session
from storage.repos import attempts as attempt_repo
from storage.repos import sessions as session_repo

UNAUTHORIZED = "Log in, or open your join link first."


def _ref(session: Session) -> AttemptRef:
    return AttemptRef(
        id=session.id, attempt=session.attempt, status=session.status, end_reason=session.end_reason
    )


def set_student_cookie(response: Response, state: AppState, session: Session) -> None:
    """The student cookie of ``session`` (the join link's, for an attempt it reached)."""
    token = state.signer.student_token(session.id, session.join_nonce)
    cookie = student_cookie_name(session.id)
    set_cookie(response, cookie, token, STUDENT_COOKIE_MAX_AGE, state.settings.cookie_secure)


def holds_some_student_cookie(request: Request) -> bool:
    return any(name.startswith(STUDENT_COOKIE_PREFIX) for name in request.cookies)


async def _caller(request: Request, session_id: uuid.UUID) -> tuple[Role, str, Session]:
    """Who restarts: the owning teacher, else the session's student if it allows them.

    Raises 401 (neither), 404 (another teacher's session, no student cookie for it), 403
    (a regenerated link; the student may not restart)."""
    state = app_state(request)
    teacher = await signed_in_teacher(request, state)
    if teacher is not None:
        try:
            async with state.db.session() as db:
                owned = await session_repo.get_session(db, teacher.id, session_id)
            return Role.TEACHER, actor(teacher.id), owned
        except NotFound:
            pass
    if read_student_claim(request, state.signer, session_id) is None:
        # Someone known (a teacher, another session's student) is told nothing exists.
        if teacher is not None or holds_some_student_cookie(request):
            raise ApiError(404, "not_found", "That session does not exist.")
        raise ApiError(401, "unauthorized", UNAUTHORIZED)
    session = await student_session(request)
    if not session.student_may_restart:
        raise ApiError(
            403, "restart_not_allowed", "Your teacher has not allowed restarting this session."
        )
    return Role.STUDENT, "student", session


async def restart(request: Request) -> Response:
    state = app_state(request)
    if state.sockets is None:
        raise RuntimeError("the realtime parts are not built")
    session_id = path_uuid(request, kind="session")
    role, who, session = await _caller(request, session_id)
    await refuse_over_cap(state, session.owner_id)
    owner = session.owner_id if role is Role.TEACHER else None
    try:
        done: Restarted = await Attempts(state.db, state.control, state.sockets.log).restart(
            session_id, by=role, actor=who, owner_id=owner
        )
    except NotLatestAttempt as refused:
        raise ApiError(
            409,
            "not_latest_attempt",
            f"Attempt {refused.latest_attempt} already replaced this one; restart that one.",
            extra={"latest_attempt_id": str(refused.latest_id)},
        ) from refused
    except NotStarted as refused:
        raise ApiError(
            409, "not_started", "This attempt has not started yet, so there is nothing to restart."
        ) from refused
    except AttemptLimitReached as refused:
        raise ApiError(409, "attempt_limit", f"No more attempts: {refused}.") from refused
    except Conflict as refused:
        raise ApiError(409, "conflict", "The session changed at the same moment; try again.") from (
            refused
        )
    response = json_response(RestartOut(previous=_ref(done.previous), next=_ref(done.next)), 201)
    if role is Role.STUDENT:
        set_student_cookie(response, state, done.next)
    return response


async def list_attempts(request: Request) -> Response:
    teacher = await require_teacher(request)
    session_id = path_uuid(request, kind="session")
    async with app_state(request).db.session() as db:
        session = await session_repo.get_session(db, teacher.id, session_id)
        chain = await attempt_repo.series(db, attempt_repo.root_of(session))
        known = await attempt_repo.facts(db, [attempt.id for attempt in chain])
    items = []
    for attempt in chain:
        facts = known[attempt.id]
        usage = AttemptUsageOut(
            tokens_used=attempt.tokens_used,
            token_budget=attempt.token_budget,
            calls=facts.usage.calls,
            input_tokens=facts.usage.input_tokens,
            output_tokens=facts.usage.output_tokens,
            cost_micros=facts.usage.cost_micros,
            unpriced_calls=facts.usage.unpriced_calls,
        )
        items.append(
            AttemptOut(
                id=attempt.id,
                attempt=attempt.attempt,
                latest=attempt is chain[-1],
                status=attempt.status,
                end_reason=attempt.end_reason,
                created_at=attempt.created_at,
                started_at=attempt.started_at,
                ended_at=attempt.ended_at,
                time_limit_seconds=attempt.time_limit_seconds,
                messages=facts.messages,
                evaluation_status=facts.evaluation_status,
                evaluation_released=facts.released,
                usage=usage,
            )
        )
    return json_response(AttemptPage(items=items))


async def latest_of(state: AppState, session: Session) -> Session:
    """The latest attempt of ``session``'s series (only that series is read: a student
    never reaches another one)."""
    async with state.db.session() as db:
        return (await attempt_repo.series(db, attempt_repo.root_of(session)))[-1]


def same_link(latest: Session, claimed_nonce: str) -> bool:
    """Whether the join link behind ``claimed_nonce`` still reaches ``latest``: a new
    attempt keeps its predecessor's link until the teacher regenerates it."""
    return latest.join_nonce == claimed_nonce


async def next_attempt(request: Request) -> Response:
    """The student of an earlier attempt (its cookie) moves on to the latest attempt."""
    state = app_state(request)
    session = await student_session(request)
    latest = await latest_of(state, session)
    if latest.id == session.id:
        raise ApiError(409, "no_next_attempt", "No later attempt follows this one.")
    if not same_link(latest, session.join_nonce):
        raise ApiError(403, "link_revoked", "Your teacher issued a new link; ask for it.")
    response = json_response(
        NextAttemptOut(id=latest.id, attempt=latest.attempt, status=latest.status)
    )
    set_student_cookie(response, state, latest)
    return response


routes = [
    resource("/api/sessions/{id}/restart", post=restart),
    resource("/api/sessions/{id}/attempts", get=list_attempts),
    resource("/api/student/sessions/{id}/next-attempt", post=next_attempt),
]
