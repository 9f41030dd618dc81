"""``/openapi.json``, generated from the pydantic models the routes validate with, plus
the limits the routes check themselves (query parameters, the configured session
limits)."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from filestore.content import ACCEPTED_TYPES
from realtime.lifecycle import SessionStatus
from server.attempt_schemas import AttemptPage, NextAttemptOut, RestartOut, RestartPolicyIn
from server.evaluation_schemas import (
    AgreementOut,
    EvaluationOut,
    ProgressOut,
    ReviewIn,
    StudentEvaluationOut,
)
from server.file_schemas import FileOut, FilePage, StudentFilePage
from server.file_upload import response_media_type
from server.http import MAX_JSON_DEPTH, resource
from server.profile_schemas import ProfileIn, ProfileOut, ProfilePage
from server.routes_auth import PasswordIn
from server.routes_models import ModelCatalogOut
from server.routes_sessions import OFFSET_MAX, PAGE_MAX
from server.routes_usage import GROUPS
from server.schemas import (
    ErrorOut,
    EventPage,
    ExtendIn,
    LoginIn,
    RubricIn,
    RubricOut,
    RubricPage,
    SessionIn,
    SessionOut,
    SessionPage,
    UserOut,
)
from server.settings import Settings
from server.state import app_state
from server.usage_schemas import CapsIn, TeacherPage, TeacherUsageOut, UsageOut


class Operation(NamedTuple):
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None
    out: type[BaseModel] | None
    status: int
    query: tuple[dict[str, Any], ...] = ()
    #: Request or success content that is not JSON (a multipart upload, a download).
    form: dict[str, Any] | None = None
    download: dict[str, Any] | None = None


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_STATUS = "|".join(status.value for status in SessionStatus)
# Comma-separated statuses; the routes drop empty items ("active,," is "active").
STATUS_QUERY = _query(
    "status",
    {"type": "string", "pattern": f"^,*(?:(?:{_STATUS})(?:,+(?:{_STATUS}))*)?,*$"},
    "Comma-separated statuses; none means all.",
)
INSTANT = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}
SESSION_QUERY = (
    STATUS_QUERY,
    _query("limit", {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}, "Page size."),
    _query("offset", {"type": "integer", "minimum": 0, "maximum": OFFSET_MAX}, "Skip this many."),
)
USAGE_QUERY = (
    _query("from", INSTANT, "Start (UTC when no zone); default: the start of this month."),
    _query("to", INSTANT, "End, after `from` (UTC when no zone); default: now."),
    _query("group_by", {"type": "string", "enum": list(GROUPS)}, "Default: provider."),
)
EXPORT_QUERY = (
    STATUS_QUERY,
    _query("from", INSTANT, "Created at or after (UTC when no zone)."),
    _query("to", INSTANT, "Created before; a date includes that day (up to 9999-12-30)."),
)

UPLOAD_FORM = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "visible_to_students": {"type": "string", "enum": ["true", "false"]},
            },
        }
    }
}
DOWNLOAD = {
    response_media_type(media): {"schema": {"type": "string", "format": "binary"}}
    for media in ACCEPTED_TYPES
}
FILE_OPERATIONS = [
    Operation("get", "/api/profiles/{id}/files", "A profile's case files", None, FilePage, 200),
    Operation(
        "post",
        "/api/profiles/{id}/files",
        "Attach a case file (PDF, PNG, JPEG, GIF, WebP or UTF-8 text, judged by content)",
        None,
        FileOut,
        201,
        form=UPLOAD_FORM,
    ),
    Operation("get", "/api/files/{id}", "Download a case file", None, None, 200, download=DOWNLOAD),
    Operation("delete", "/api/files/{id}", "Delete a case file", None, None, 204),
    Operation(
        "get",
        "/api/student/sessions/{id}/files",
        "The visible case files of the student's session (join-link cookie)",
        None,
        StudentFilePage,
        200,
    ),
    Operation(
        "get",
        "/api/student/sessions/{id}/files/{file_id}",
        "Download a visible case file (join-link cookie)",
        None,
        None,
        200,
        download=DOWNLOAD,
    ),
]

OPERATIONS: list[Operation] = [
    Operation("post", "/api/auth/login", "Log in as a teacher", LoginIn, UserOut, 200),
    Operation(
        "post", "/api/auth/logout", "Log out everywhere (revokes every cookie)", None, None, 200
    ),
    Operation(
        "post",
        "/api/auth/password",
        "Change the password (signs out every other login)",
        PasswordIn,
        UserOut,
        200,
    ),
    Operation("get", "/api/me", "The logged-in teacher", None, UserOut, 200),
    Operation("get", "/api/profiles", "List client profiles", None, ProfilePage, 200),
    Operation("post", "/api/profiles", "Create a client profile", ProfileIn, ProfileOut, 201),
    Operation("get", "/api/profiles/{id}", "Get a client profile", None, ProfileOut, 200),
    Operation("put", "/api/profiles/{id}", "Replace a client profile", ProfileIn, ProfileOut, 200),
    Operation("get", "/api/models", "List the models on offer", None, ModelCatalogOut, 200),
    Operation("delete", "/api/profiles/{id}", "Delete an unused client profile", None, None, 204),
    Operation("get", "/api/rubrics", "List rubrics", None, RubricPage, 200),
    Operation("post", "/api/rubrics", "Create a rubric", RubricIn, RubricOut, 201),
    Operation("get", "/api/rubrics/{id}", "Get a rubric", None, RubricOut, 200),
    Operation("put", "/api/rubrics/{id}", "Replace a rubric", RubricIn, RubricOut, 200),
    Operation("delete", "/api/rubrics/{id}", "Delete an unused rubric", None, None, 204),
    Operation("get", "/api/sessions", "List sessions", None, SessionPage, 200, SESSION_QUERY),
    Operation("post", "/api/sessions", "Open a session for a student", SessionIn, SessionOut, 201),
    Operation(
        "get",
        "/api/sessions/{id}",
        "Get a session with time and tokens left",
        None,
        SessionOut,
        200,
    ),
    Operation(
        "patch",
        "/api/sessions/{id}",
        "Allow or forbid the student to restart (every attempt of the series)",
        RestartPolicyIn,
        SessionOut,
        200,
    ),
    Operation("post", "/api/sessions/{id}/start", "Start a session", None, SessionOut, 200),
    Operation("post", "/api/sessions/{id}/pause", "Pause a session", None, SessionOut, 200),
    Operation("post", "/api/sessions/{id}/resume", "Resume a session", None, SessionOut, 200),
    Operation("post", "/api/sessions/{id}/end", "End a session", None, SessionOut, 200),
    Operation("post", "/api/sessions/{id}/extend", "Add time or tokens", ExtendIn, SessionOut, 200),
    Operation(
        "post", "/api/sessions/{id}/join-link", "Regenerate the join link", None, SessionOut, 200
    ),
    Operation("get", "/api/sessions/{id}/events", "The audit trail", None, EventPage, 200),
    Operation(
        "post",
        "/api/sessions/{id}/restart",
        "Start the next attempt (the teacher; the student when the session allows it)",
        None,
        RestartOut,
        201,
    ),
    Operation(
        "get", "/api/sessions/{id}/attempts", "Every attempt of the series", None, AttemptPage, 200
    ),
    Operation(
        "post",
        "/api/student/sessions/{id}/next-attempt",
        "Move the student (earlier attempt's cookie) to the latest attempt",
        None,
        NextAttemptOut,
        200,
    ),
    Operation(
        "get",
        "/api/usage",
        "Tokens and cost (micros by currency; unpriced calls counted apart)",
        None,
        UsageOut,
        200,
        USAGE_QUERY,
    ),
    Operation(
        "get",
        "/api/admin/teachers",
        "Every teacher's usage this month and caps (admins only)",
        None,
        TeacherPage,
        200,
    ),
    Operation(
        "put",
        "/api/admin/teachers/{id}/caps",
        "Set a teacher's monthly caps: tokens, money in micros (admins only)",
        CapsIn,
        TeacherUsageOut,
        200,
    ),
    Operation("get", "/api/sessions/{id}/transcript", "Transcript (JSON)", None, None, 200),
    Operation("get", "/api/sessions/{id}/transcript.md", "Transcript (Markdown)", None, None, 200),
    Operation("get", "/api/sessions/{id}/transcript.csv", "Transcript (CSV)", None, None, 200),
    Operation("get", "/api/transcripts.zip", "Transcripts as a ZIP", None, None, 200, EXPORT_QUERY),
    Operation(
        "get", "/api/sessions/{id}/evaluation", "The session's evaluation", None, EvaluationOut, 200
    ),
    Operation("post", "/api/sessions/{id}/evaluation", "Evaluate again", None, EvaluationOut, 202),
    Operation(
        "patch",
        "/api/sessions/{id}/evaluation",
        "The teacher's scores and comments",
        ReviewIn,
        EvaluationOut,
        200,
    ),
    Operation(
        "post",
        "/api/sessions/{id}/evaluation/release",
        "Release the evaluation to the student",
        None,
        EvaluationOut,
        200,
    ),
    Operation(
        "get",
        "/api/student/sessions/{id}/evaluation",
        "The student's released evaluation (join-link cookie)",
        None,
        StudentEvaluationOut,
        200,
    ),
    Operation(
        "get", "/api/agreement", "Agreement with the automatic grader", None, AgreementOut, 200
    ),
    Operation(
        "get", "/api/progress", "Each student's skill metrics over time", None, ProgressOut, 200
    ),
]

UUID_SCHEMA = {"type": "string", "format": "uuid"}

ERRORS = {
    "400": f"Malformed JSON, or nested deeper than {MAX_JSON_DEPTH} levels",
    "401": "Not logged in",
    "403": (
        "Cross-site request, revoked join link, session not ended, feedback not released, "
        "a restart the session does not allow its student, or an admin route called by a "
        "teacher"
    ),
    "404": "Not found (or not yours); `no_evaluation` before a session has ended",
    "409": (
        "Conflict (object in use, illegal state transition, evaluation running or not done, "
        "not the latest attempt, an attempt not started, no next attempt, attempt limit)"
    ),
    "413": "Body too large, or a file over MAX_FILE_BYTES",
    "415": "Body not sent as application/json (multipart for files), or a refused file type",
    "422": "Validation failed; `fields` says what is wrong",
    "429": "Too many attempts, or a monthly cap (tokens or money) reached; see Retry-After",
    "503": "The file store is not answering (case files only)",
}

DESCRIPTION = (
    "No string in a request body may contain U+0000 (NUL) or an unpaired surrogate "
    "(U+D800 to U+DFFF): SQL cannot store them, so they are refused with 422. Request "
    'bodies are strict: `false` is not 0 and `"3"` is not 3.'
)


def _session_limits(definitions: dict[str, Any], settings: Settings) -> None:
    """The configured limits that SessionIn checks against its validation context."""
    properties = definitions["SessionIn"]["properties"]
    properties["time_limit_seconds"].update(
        minimum=settings.session_min_seconds, maximum=settings.session_max_seconds
    )
    properties["token_budget"].update(
        minimum=settings.token_budget_min, maximum=settings.token_budget_max
    )


def build_openapi(settings: Settings, extra: list[Operation] | None = None) -> dict[str, Any]:
    operations = OPERATIONS + FILE_OPERATIONS + (extra or [])
    models = {m for op in operations for m in (op.body, op.out) if m is not None} | {ErrorOut}
    refs, definitions = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = definitions.get("$defs", {})
    if "SessionIn" in schemas:
        _session_limits(schemas, settings)
    ref = {model: refs[(model, "validation")] for model in models}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        spec: dict[str, Any] = {"summary": op.summary, "responses": {}}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": UUID_SCHEMA}
            for name in re.findall(r"{(\w+)}", op.path)
        ] + list(op.query)
        if parameters:
            spec["parameters"] = parameters
        if op.body is not None:
            spec["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref[op.body]}},
            }
        if op.form is not None:
            spec["requestBody"] = {"required": True, "content": op.form}
        success: dict[str, Any] = {"description": "OK"}
        if op.out is not None:
            success["content"] = {"application/json": {"schema": ref[op.out]}}
        if op.download is not None:
            success["content"] = op.download
        spec["responses"][str(op.status)] = success
        for code, text in ERRORS.items():
            spec["responses"][code] = {
                "description": text,
                "content": {"application/json": {"schema": ref[ErrorOut]}},
            }
        paths.setdefault(op.path, {})[op.method] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": "Virtual Client API", "version": "0.1.0", "description": DESCRIPTION},
        "paths": paths,
        "components": {"schemas": schemas},
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(build_openapi(app_state(request).settings))


routes = [resource("/openapi.json", get=openapi)]
