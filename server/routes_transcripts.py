"""Transcripts, read from SQL only (the system of record; the flusher keeps it within
~2 s of the live log): JSON for the session's teacher and, once it has ended, its
student; Markdown, CSV and a ZIP of many for teachers. JSON, Markdown and each session
of the ZIP carry the session's evaluation (the student's JSON only once released)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from evaluation.loading import Audience
from realtime.lifecycle import TERMINAL, SessionStatus
from server.access import signed_in_teacher
from server.auth import read_student_claim
from server.errors import ApiError
from server.http import json_response, path_uuid, require_teacher, resource
from server.routes_student import student_session
from server.state import AppState, app_state
from server.transcript_formats import evaluation_view, to_csv, to_markdown, transcript_document
from storage.errors import NotFound
from storage.models import Session
from storage.repos import evaluations as evaluation_repo
from storage.repos import exports as export_repo
from storage.repos import sessions as session_repo
from storage.repos import transcripts as transcript_repo


async def _document(
    state: AppState, session: Session, audience: Audience = "teacher"
) -> dict[str, object]:
    """The session's transcript with its evaluation as ``audience`` may see it."""
    async with state.db.session() as db:
        rows = await transcript_repo.list_messages(db, session.id)
        names = await export_repo.client_names(db, [session.profile_id])
        evaluation = await evaluation_repo.get_unscoped(db, session.id)
    return transcript_document(
        session, names.get(session.profile_id, ""), rows, evaluation_view(evaluation, audience)
    )


async def _teachers_session(request: Request) -> Session:
    """The path's session if the logged-in teacher owns it; 401 / 404 otherwise."""
    teacher = await require_teacher(request)
    session_id = path_uuid(request, kind="session")
    async with app_state(request).db.session() as db:
        return await session_repo.get_session(db, teacher.id, session_id)


async def _owned_by_caller(request: Request, session_id: uuid.UUID) -> Session | None:
    state = app_state(request)
    teacher = await signed_in_teacher(request, state)
    if teacher is None:
        return None
    async with state.db.session() as db:
        try:
            return await session_repo.get_session(db, teacher.id, session_id)
        except NotFound:
            return None


async def transcript(request: Request) -> Response:
    """The session's teacher at any time; its student (join-link cookie) once it ended."""
    state = app_state(request)
    session_id = path_uuid(request, kind="session")
    session = await _owned_by_caller(request, session_id)
    audience: Audience = "teacher"
    if session is None:
        if read_student_claim(request, state.signer, session_id) is None:
            if await signed_in_teacher(request, state) is not None:
                raise ApiError(404, "not_found", "That session does not exist.")
            raise ApiError(401, "unauthorized", "Log in, or open your join link first.")
        session = await student_session(request)
        if SessionStatus(session.status) not in TERMINAL:
            raise ApiError(
                403,
                "session_not_ended",
                "The transcript is available once the session has ended.",
                extra={"status": session.status},
            )
        audience = "student"
    return json_response(await _document(state, session, audience))


def _attachment(name: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"}


async def transcript_markdown(request: Request) -> Response:
    session = await _teachers_session(request)
    body = to_markdown(await _document(app_state(request), session))
    return Response(
        body,
        media_type="text/markdown; charset=utf-8",
        headers=_attachment(f"transcript-{session.id}.md"),
    )


async def transcript_csv(request: Request) -> Response:
    session = await _teachers_session(request)
    # The BOM makes spreadsheet programs read the file as UTF-8.
    body = "\ufeff" + to_csv(await _document(app_state(request), session))
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"transcript-{session.id}.csv"),
    )


BOUND_MESSAGE = (
    "must be a date like 2025-01-31 or an ISO date and time, from 0001-01-01 to 9999-12-30"
)


def _parse_bound(raw: str, *, upper: bool) -> datetime:
    """An ISO date or datetime (UTC when no zone), in UTC. A bare date as ``to`` includes
    that day.

    Raises ValueError, also when the bound leaves Python's years 1 to 9999 (``to`` as
    9999-12-31 ends after it; year 1 at +01:00 starts before it, in UTC)."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start + timedelta(days=1) if upper else start
        value = datetime.fromisoformat(raw)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError as error:
        raise ValueError(f"{raw} is out of range") from error


class _Sink(io.RawIOBase):
    """A write-only byte buffer that ``zipfile`` streams into (it is not seekable, so
    entries carry data descriptors); :meth:`take` hands over what was written."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(data)  # type: ignore[call-overload]
        self._chunks.append(chunk)
        self._size += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._size

    def take(self) -> bytes:
        out, self._chunks = b"".join(self._chunks), []
        return out


async def transcripts_zip(request: Request) -> Response:
    """``?status=completed,expired&from=2025-01-01&to=2025-01-31`` (``from``/``to`` on the
    creation time; ``to`` as a date includes that day): one JSON transcript per session."""
    teacher = await require_teacher(request)
    state = app_state(request)
    params = request.query_params
    statuses = [s for s in params.get("status", "").split(",") if s]
    fields: dict[str, str] = {}
    known = {s.value for s in SessionStatus}
    if any(s not in known for s in statuses):
        fields["status"] = "must be one of " + ", ".join(sorted(known))
    bounds: dict[str, datetime | None] = {"from": None, "to": None}
    for name in bounds:
        raw = params.get(name, "")
        if raw:
            try:
                bounds[name] = _parse_bound(raw, upper=name == "to")
            except ValueError:
                fields[name] = BOUND_MESSAGE
    if fields:
        raise ApiError(422, "validation_failed", "Some parameters are not valid.", fields=fields)
    most = state.settings.transcript_export_max_sessions
    async with state.db.session() as db:
        sessions = await export_repo.sessions_for_export(
            db,
            teacher.id,
            statuses=statuses,
            created_from=bounds["from"],
            created_before=bounds["to"],
            limit=most + 1,
        )
    if len(sessions) > most:
        raise ApiError(
            422,
            "too_many_sessions",
            f"More than {most} sessions match; narrow the status or dates and export in parts.",
            fields={"from": f"at most {most} sessions per archive"},
        )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        _zip_stream(state, sessions),
        media_type="application/zip",
        headers=_attachment(f"transcripts-{stamp}.zip"),
    )


async def _zip_stream(state: AppState, sessions: list[Session]) -> AsyncIterator[bytes]:
    """One session in memory at a time: read, compress, hand the bytes on."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for session in sessions:
            document = await _document(state, session)
            data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
            archive.writestr(f"transcript-{session.id}.json", data)
            yield sink.take()
    yield sink.take()


routes = [
    resource("/api/sessions/{id}/transcript", get=transcript),
    resource("/api/sessions/{id}/transcript.md", get=transcript_markdown),
    resource("/api/sessions/{id}/transcript.csv", get=transcript_csv),
    resource("/api/transcripts.zip", get=transcripts_zip),
]
