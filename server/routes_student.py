"""What a student may see of their own session (never the persona's hidden parts)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from realtime.control import clock_of
from server.auth import read_student_claim
from server.errors import ApiError
from server.http import json_response, path_uuid, resource
from server.state import app_state
from storage.errors import NotFound
from storage.models import Session
from storage.repos import attempts as attempt_repo
from storage.repos import profiles as profile_repo
from storage.repos import sessions as session_repo


async def student_session(request: Request) -> Session:
    """The session named in the path, if the caller holds its valid student cookie.

    Raises 401 (no cookie for this session) or 403 (the link was regenerated)."""
    state = app_state(request)
    session_id = path_uuid(request, kind="session")
    claim = read_student_claim(request, state.signer, session_id)
    if claim is None:
        raise ApiError(401, "unauthorized", "Open the session from your join link first.")
    try:
        async with state.db.session() as db:
            session = await session_repo.get_session_unscoped(db, session_id)
    except NotFound as error:
        raise ApiError(
            401, "unauthorized", "Open the session from your join link first."
        ) from error
    if session.join_nonce != claim.nonce:
        raise ApiError(403, "link_revoked", "Your teacher issued a new link; ask for it.")
    return session


async def my_session(request: Request) -> Response:
    session = await student_session(request)
    state = app_state(request)
    async with state.db.session() as db:
        profile = await profile_repo.get_profile(db, session.owner_id, session.profile_id)
        chain = await attempt_repo.series(db, attempt_repo.root_of(session))
    # Each attempt of this series, and whether this browser holds its valid cookie (the
    # page links only those it can open: an attempt reached by a later join holds none).
    attempts = [
        {
            "id": str(attempt.id),
            "attempt": attempt.attempt,
            "status": attempt.status,
            "readable": _holds_cookie(request, attempt),
        }
        for attempt in chain
    ]
    return json_response(
        {
            "id": str(session.id),
            "status": session.status,
            "end_reason": session.end_reason,
            "student_name": session.student_name,
            "client_name": profile.name,
            "time_limit_seconds": session.time_limit_seconds,
            "seconds_left": int(clock_of(session).seconds_left(datetime.now(UTC))),
            "token_budget": session.token_budget,
            "tokens_left": max(session.token_budget - session.tokens_used, 0),
            "attempt": session.attempt,
            "student_may_restart": session.student_may_restart,
            "latest_attempt_id": attempts[-1]["id"],
            "attempts": attempts,
        }
    )


def _holds_cookie(request: Request, session: Session) -> bool:
    claim = read_student_claim(request, app_state(request).signer, session.id)
    return claim is not None and claim.nonce == session.join_nonce


routes = [resource("/api/student/sessions/{id}", get=my_session)]
