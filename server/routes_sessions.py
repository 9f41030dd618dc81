"""Interview sessions: create, list, inspect, drive through the lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from realtime.control import clock_of
from realtime.lifecycle import SessionAction, SessionStatus
from realtime.quota import CAP_MESSAGE, next_month_start, over_cap
from realtime.revocation import LinkRevoked, link_fingerprint
from server.access import close_revoked
from server.attempt_schemas import RestartPolicyIn
from server.auth import new_join_nonce
from server.errors import ApiError
from server.http import json_response, path_uuid, read_json, require_teacher, resource
from server.routes_models import session_model
from server.schemas import EventOut, EventPage, ExtendIn, SessionIn, SessionOut, SessionPage
from server.state import AppState, app_state
from storage.errors import NotFound
from storage.models import Session
from storage.repos import attempts as attempt_repo
from storage.repos import profiles as profile_repo
from storage.repos import rubrics as rubric_repo
from storage.repos import sessions as session_repo

PAGE_MAX = 200
# Far past any teacher's session count, and inside SQL's 64-bit OFFSET: a bigger number
# reached the database (PostgreSQL and SQLite refuse it, a 500).
OFFSET_MAX = 1_000_000_000


def join_url(request: Request, state: AppState, session: Session) -> str:
    token = state.signer.join_token(session.id, session.join_nonce)
    return str(request.url_for("join", token=token))


def session_out(
    request: Request, session: Session, latest_attempt_id: uuid.UUID, now: datetime | None = None
) -> SessionOut:
    """``latest_attempt_id``: the series' latest attempt (see :func:`sessions_out`)."""
    state = app_state(request)
    now = now or datetime.now(UTC)
    return SessionOut(
        id=session.id,
        status=session.status,
        end_reason=session.end_reason,
        profile_id=session.profile_id,
        rubric_id=session.rubric_id,
        student_name=session.student_name,
        student_email=session.student_email,
        time_limit_seconds=session.time_limit_seconds,
        token_budget=session.token_budget,
        tokens_used=session.tokens_used,
        tokens_left=max(session.token_budget - session.tokens_used, 0),
        seconds_left=int(clock_of(session).seconds_left(now)),
        model=session.model,
        instructions=session.instructions,
        join_url=join_url(request, state, session),
        created_at=session.created_at,
        started_at=session.started_at,
        ended_at=session.ended_at,
        attempt=session.attempt,
        attempt_of=session.attempt_of,
        latest_attempt_id=latest_attempt_id,
        student_may_restart=session.student_may_restart,
    )


async def sessions_out(request: Request, sessions: list[Session]) -> list[SessionOut]:
    """The sessions as the API shows them, each with its series' latest attempt (one query)."""
    async with app_state(request).db.session() as db:
        latest = await attempt_repo.latest_ids(db, sessions)
    return [session_out(request, session, latest[session.id]) for session in sessions]


async def one_session_out(request: Request, session: Session) -> SessionOut:
    return (await sessions_out(request, [session]))[0]


async def refuse_over_cap(state: AppState, teacher_id: uuid.UUID) -> None:
    """429 when the teacher's monthly token cap (if any) is used up."""
    now = datetime.now(UTC)
    if await over_cap(state.db, teacher_id, state.settings.teacher_monthly_token_cap, now):
        wait = int((next_month_start(now) - now).total_seconds()) + 1
        raise ApiError(429, "monthly_cap_reached", CAP_MESSAGE, headers={"Retry-After": str(wait)})


def actor(user_id: object) -> str:
    return f"teacher:{user_id}"


async def create_session(request: Request) -> Response:
    teacher = await require_teacher(request)
    state = app_state(request)
    body = await read_json(request, SessionIn, context={"settings": state.settings})
    await refuse_over_cap(state, teacher.id)
    async with state.db.session() as db:
        # Both must be the teacher's own: someone else's id is "not found", field-wise.
        fields: dict[str, str] = {}
        for name, getter, object_id in (
            ("profile_id", profile_repo.get_profile, body.profile_id),
            ("rubric_id", rubric_repo.get_rubric, body.rubric_id),
        ):
            try:
                await getter(db, teacher.id, object_id)
            except NotFound:
                fields[name] = "no such " + name.removesuffix("_id") + " in your library"
        model = await session_model(
            db, state.catalog, teacher.id, body.profile_id, body.model, fields
        )
        if fields:
            raise ApiError(422, "validation_failed", "Some fields are not valid.", fields=fields)
        session = await session_repo.create_session(
            db, teacher.id, join_nonce=new_join_nonce(), **(body.model_dump() | {"model": model})
        )
        await session_repo.add_event(db, session.id, "created", actor(teacher.id))
    return json_response(await one_session_out(request, session), 201)


async def list_sessions(request: Request) -> Response:
    teacher = await require_teacher(request)
    params = request.query_params
    statuses = [s for s in params.get("status", "").split(",") if s]
    fields: dict[str, str] = {}
    known = {s.value for s in SessionStatus}
    if any(s not in known for s in statuses):
        fields["status"] = "must be one of " + ", ".join(sorted(known))
    limit, offset = _int_param(params.get("limit"), 50), _int_param(params.get("offset"), 0)
    if limit is None or not 1 <= limit <= PAGE_MAX:
        fields["limit"] = f"must be a whole number from 1 to {PAGE_MAX}"
    if offset is None or not 0 <= offset <= OFFSET_MAX:
        fields["offset"] = f"must be a whole number from 0 to {OFFSET_MAX:,}"
    if fields:
        raise ApiError(422, "validation_failed", "Some parameters are not valid.", fields=fields)
    assert limit is not None and offset is not None
    async with app_state(request).db.session() as db:
        rows, total = await session_repo.list_sessions(
            db, teacher.id, statuses=statuses, limit=limit, offset=offset
        )
    items = await sessions_out(request, rows)
    return json_response(SessionPage(items=items, total=total, limit=limit, offset=offset))


def _int_param(raw: str | None, default: int) -> int | None:
    """ASCII digits only (``int()`` also takes " 5", "5_0", other scripts' digits); else None."""
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(OFFSET_MAX)):
        return None
    return int(raw)


async def get_session(request: Request) -> Response:
    teacher = await require_teacher(request)
    session_id = path_uuid(request, kind="session")
    async with app_state(request).db.session() as db:
        session = await session_repo.get_session(db, teacher.id, session_id)
    return json_response(await one_session_out(request, session))


def _transition(action: SessionAction) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        teacher = await require_teacher(request)
        session_id = path_uuid(request, kind="session")
        session = await app_state(request).control.transition(
            session_id,
            action,
            actor=actor(teacher.id),
            owner_id=teacher.id,
            reason="teacher" if action is SessionAction.END else None,
        )
        return json_response(await one_session_out(request, session))

    return endpoint


async def edit_session(request: Request) -> Response:
    """Change ``student_may_restart`` for the whole series (docs/attempts.md)."""
    teacher = await require_teacher(request)
    session_id = path_uuid(request, kind="session")
    body = await read_json(request, RestartPolicyIn)
    async with app_state(request).db.session() as db:
        session = await session_repo.get_session(db, teacher.id, session_id)
        for attempt in await attempt_repo.series(db, attempt_repo.root_of(session)):
            attempt.student_may_restart = body.student_may_restart
        await session_repo.add_event(
            db, session.id, "edited", actor(teacher.id), body.model_dump(mode="json")
        )
    return json_response(await one_session_out(request, session))


async def extend_session(request: Request) -> Response:
    teacher = await require_teacher(request)
    session_id = path_uuid(request, kind="session")
    body = await read_json(request, ExtendIn)
    if body.adds_nothing:
        raise ApiError(
            422,
            "validation_failed",
            "Add some time or some tokens.",
            fields={"add_seconds": "give add_seconds or add_tokens"},
        )
    await refuse_replaced(request, teacher.id, session_id)
    session = await app_state(request).control.transition(
        session_id,
        SessionAction.EXTEND,
        actor=actor(teacher.id),
        owner_id=teacher.id,
        add_seconds=body.add_seconds,
        add_tokens=body.add_tokens,
        data={"add_seconds": body.add_seconds, "add_tokens": body.add_tokens},
    )
    return json_response(await one_session_out(request, session))


async def refuse_replaced(request: Request, teacher_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """409 ``not_latest_attempt`` when a later attempt replaced this one: extending it
    would reopen an expired attempt beside the live one (docs/attempts.md)."""
    async with app_state(request).db.session() as db:
        session = await session_repo.get_session(db, teacher_id, session_id)
        latest = (await attempt_repo.latest_ids(db, [session]))[session.id]
    if latest != session.id:
        raise ApiError(
            409,
            "not_latest_attempt",
            "A later attempt replaced this one; change that attempt instead.",
            extra={"latest_attempt_id": str(latest)},
        )


async def regenerate_join_link(request: Request) -> Response:
    """A new join link: the old link and its student cookies stop working (every request
    and handshake compares the nonce), and the student's open sockets close with
    ``CloseCode.REVOKED`` on every worker."""
    teacher = await require_teacher(request)
    session_id = path_uuid(request, kind="session")
    state = app_state(request)
    async with state.db.session() as db:
        session = await session_repo.get_session(db, teacher.id, session_id)
        revoked = LinkRevoked(session.id, link_fingerprint(session.join_nonce))
        session.join_nonce = new_join_nonce()
        await session_repo.add_event(db, session.id, "join_link_regenerated", actor(teacher.id))
    await close_revoked(state, revoked)
    return json_response(await one_session_out(request, session))


async def list_events(request: Request) -> Response:
    teacher = await require_teacher(request)
    session_id = path_uuid(request, kind="session")
    async with app_state(request).db.session() as db:
        await session_repo.get_session(db, teacher.id, session_id)
        events = await session_repo.list_events(db, session_id)
    return json_response(EventPage(items=[EventOut.model_validate(e) for e in events]))


routes = [
    resource("/api/sessions", get=list_sessions, post=create_session),
    resource("/api/sessions/{id}", get=get_session, patch=edit_session),
    resource("/api/sessions/{id}/start", post=_transition(SessionAction.START)),
    resource("/api/sessions/{id}/pause", post=_transition(SessionAction.PAUSE)),
    resource("/api/sessions/{id}/resume", post=_transition(SessionAction.RESUME)),
    resource("/api/sessions/{id}/end", post=_transition(SessionAction.END)),
    resource("/api/sessions/{id}/extend", post=extend_session),
    resource("/api/sessions/{id}/join-link", post=regenerate_join_link),
    resource("/api/sessions/{id}/events", get=list_events),
]
