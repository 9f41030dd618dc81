"""Feedback on ended sessions: the evaluation (read, run again, the teacher's scores and
comments, release), the student's released copy, and the teacher's figures across
sessions (agreement with the automatic grader, each student's progress).

An evaluation is queued when its session ends (``evaluation.jobs``); before that the
teacher's ``GET`` answers 404 ``no_evaluation`` (another teacher's session is a plain 404
``not_found``). The student sees it only once it is done and released (403
``not_released`` before, also while there is none).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from evaluation.agreement import ReviewedScore, agreement_by_criterion
from evaluation.loading import review_problems, reviewed_scores
from evaluation.progress import SessionRecord, line_chart_svg, progress_by_student
from evaluation.transcript import criteria_from_api
from server.errors import ApiError, invalid_fields
from server.evaluation_schemas import (
    AgreementOut,
    ProgressOut,
    ReviewIn,
)
from server.http import json_response, path_uuid, read_json, require_teacher, resource
from server.routes_sessions import actor
from server.routes_student import student_session
from server.state import app_state
from server.transcript_formats import evaluation_view
from storage.errors import Conflict
from storage.models import Evaluation, Session, User
from storage.repos import evaluations as evaluation_repo
from storage.repos import rubrics as rubric_repo
from storage.repos import sessions as session_repo
from storage.repos.flushing import ENDED_STATUSES

#: Evaluations read for the agreement and progress figures, newest first: a teacher's
#: whole year is a few hundred; this bounds one request's work (~2,000 small JSON rows).
FIGURES_MAX_EVALUATIONS = 2_000
#: Size of each progress chart (px): two fit side by side on the review page.
CHART_WIDTH, CHART_HEIGHT = 480, 200

NO_EVALUATION = "This session has no evaluation yet: it is made when the session ends."


def teacher_json(row: Evaluation) -> dict[str, Any]:
    view = evaluation_view(row, "teacher")
    assert view is not None
    return view


async def _owned(request: Request) -> tuple[User, Session]:
    """The logged-in teacher and the path's session, theirs; 401 / 404 otherwise."""
    teacher = await require_teacher(request)
    session_id = path_uuid(request, kind="session")
    async with app_state(request).db.session() as db:
        return teacher, await session_repo.get_session(db, teacher.id, session_id)


async def get_evaluation(request: Request) -> Response:
    teacher, session = await _owned(request)
    async with app_state(request).db.session() as db:
        row = await evaluation_repo.find(db, teacher.id, session.id)
    if row is None:
        raise ApiError(404, "no_evaluation", NO_EVALUATION, extra={"status": session.status})
    return json_response(teacher_json(row))


async def run_again(request: Request) -> Response:
    """A new pending evaluation: result and release cleared, the teacher's scores and
    comments kept. 409 while one runs, or before the session has ended."""
    teacher, session = await _owned(request)
    if session.status not in ENDED_STATUSES:
        raise ApiError(
            409,
            "session_not_ended",
            "A session is evaluated once it has ended.",
            extra={"status": session.status},
        )
    now = datetime.now(UTC)
    try:
        async with app_state(request).db.session() as db:
            row = await evaluation_repo.request_again(db, teacher.id, session, now)
            await session_repo.add_event(db, session.id, "evaluation_requested", actor(teacher.id))
    except Conflict as error:
        raise ApiError(
            409,
            "evaluation_running",
            "The evaluation is running; ask again once it has finished.",
            extra={"status": "running"},
        ) from error
    return json_response(teacher_json(row), 202)


async def review(request: Request) -> Response:
    """The teacher's scores and comments, per criterion; each change is audited
    (``evaluation_override``) with the automatic score beside the new one."""
    teacher, session = await _owned(request)
    body = await read_json(request, ReviewIn)
    now = datetime.now(UTC)
    async with app_state(request).db.session() as db:
        row = await evaluation_repo.get(db, teacher.id, session.id)
        if row.status not in ("done", "failed") or row.result is None:
            raise ApiError(
                409,
                "evaluation_not_ready",
                "The evaluation is still being made; change it once it is done.",
                extra={"status": row.status},
            )
        changes = [
            (item.name, item.score if "score" in item.model_fields_set else None)
            for item in body.criteria
        ]
        problems = review_problems(row.rubric, changes)
        if problems:
            raise invalid_fields(problems)
        automatic = {c["name"]: c["automatic_score"] for c in row.result.get("criteria", [])}
        overrides = {name: dict(review) for name, review in row.overrides.items()}
        for item in body.criteria:
            before = overrides.get(item.name, {})
            after = {**before, "by": actor(teacher.id), "at": now.isoformat()}
            for field in ("score", "comment"):
                if field in item.model_fields_set:
                    after[field] = getattr(item, field)
            overrides[item.name] = after
            await session_repo.add_event(
                db,
                session.id,
                "evaluation_override",
                actor(teacher.id),
                {
                    "criterion": item.name,
                    "automatic_score": automatic.get(item.name),
                    "previous_score": before.get("score"),
                    "score": after.get("score"),
                    "previous_comment": before.get("comment"),
                    "comment": after.get("comment"),
                },
                at=now,
            )
        row.overrides = overrides
        row.updated_at = now
    return json_response(teacher_json(row))


async def release(request: Request) -> Response:
    """The student may read it from now on (409 unless done). Releasing again keeps the
    first release time."""
    teacher, session = await _owned(request)
    now = datetime.now(UTC)
    async with app_state(request).db.session() as db:
        row = await evaluation_repo.get(db, teacher.id, session.id)
        if row.status != "done":
            raise ApiError(
                409,
                "evaluation_not_done",
                "Only a finished evaluation can be released.",
                extra={"status": row.status},
            )
        if row.released_at is None:
            row.released_at = now
            row.updated_at = now
            await session_repo.add_event(
                db, session.id, "evaluation_released", actor(teacher.id), at=now
            )
    return json_response(teacher_json(row))


async def student_evaluation(request: Request) -> Response:
    """The student's copy (join-link cookie): final scores and comments, no review
    bookkeeping; 403 ``not_released`` until the teacher releases it."""
    session = await student_session(request)
    async with app_state(request).db.session() as db:
        row = await evaluation_repo.get_unscoped(db, session.id)
    view = evaluation_view(row, "student")
    if view is None:
        raise ApiError(
            403, "not_released", "Your teacher has not released feedback on this session yet."
        )
    return json_response(view)


async def _evaluated(request: Request) -> tuple[User, list[tuple[Evaluation, Session]]]:
    teacher = await require_teacher(request)
    async with app_state(request).db.session() as db:
        rows = await evaluation_repo.with_results(db, teacher.id, limit=FIGURES_MAX_EVALUATIONS)
    return teacher, rows


async def agreement(request: Request) -> Response:
    """Per rubric (its current criteria) and criterion, across the teacher's reviewed
    sessions: the share of automatic scores kept, the mean absolute difference and
    Cohen's linearly weighted kappa."""
    teacher, rows = await _evaluated(request)
    reviews: dict[uuid.UUID, list[ReviewedScore]] = {}
    sessions: dict[uuid.UUID, int] = {}
    for row, session in rows:
        pairs = reviewed_scores(row.result, row.overrides, released=row.released_at is not None)
        reviews.setdefault(session.rubric_id, []).extend(pairs)
        sessions[session.rubric_id] = sessions.get(session.rubric_id, 0) + bool(pairs)
    async with app_state(request).db.session() as db:
        rubrics = [r for r in await rubric_repo.list_rubrics(db, teacher.id) if r.id in reviews]
    out = []
    for rubric in rubrics:
        criteria = criteria_from_api(
            [
                {"name": c.name, "description": c.description, "levels": c.levels}
                for c in rubric.criteria
            ]
        )
        figures = agreement_by_criterion(reviews[rubric.id], criteria)
        out.append(
            {
                "rubric_id": rubric.id,
                "name": rubric.name,
                "sessions": sessions[rubric.id],
                "criteria": [
                    {
                        "criterion": a.criterion,
                        "n": a.n,
                        "kept_share": a.kept_share,
                        "mean_abs_difference": a.mean_abs_difference,
                        "kappa": a.kappa,
                        "kappa_note": a.kappa_note,
                    }
                    for a in figures
                ],
            }
        )
    return json_response(AgreementOut.model_validate({"rubrics": out}))


async def progress(request: Request) -> Response:
    """Per student (by email, else name), each session's % open questions,
    reflections per question and % complex reflections beside their thresholds, with
    each series also drawn as an SVG line chart."""
    _, rows = await _evaluated(request)
    records = [
        SessionRecord(
            session_id=str(session.id),
            at=session.ended_at or session.created_at,
            student_name=session.student_name,
            student_email=session.student_email,
            metrics=(row.result or {}).get("metrics", {}),
        )
        for row, session in rows
    ]
    students = []
    for student in progress_by_student(records):
        series = []
        for line in student.series:
            points = [(p.at.date().isoformat(), p.value) for p in line.points]
            series.append(
                {
                    "metric": line.spec.metric,
                    "label": line.spec.label,
                    "thresholds": line.thresholds,
                    "points": [
                        {"session_id": p.session_id, "at": p.at, "value": p.value}
                        for p in line.points
                    ],
                    "svg": line_chart_svg(
                        points, line.thresholds, CHART_WIDTH, CHART_HEIGHT, line.spec.label
                    ),
                }
            )
        students.append(
            {"key": student.key, "name": student.name, "email": student.email, "series": series}
        )
    return json_response(ProgressOut.model_validate({"students": students}))


routes = [
    resource("/api/sessions/{id}/evaluation", get=get_evaluation, post=run_again, patch=review),
    resource("/api/sessions/{id}/evaluation/release", post=release),
    resource("/api/student/sessions/{id}/evaluation", get=student_evaluation),
    resource("/api/agreement", get=agreement),
    resource("/api/progress", get=progress),
]
