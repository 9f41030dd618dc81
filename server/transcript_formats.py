"""A transcript as JSON, Markdown and CSV (pure: rows in, text out).

The JSON document is the one shape: ``{"session": {...}, "items": [...], "evaluation":
{...} | null}``; Markdown (with a Feedback section) and CSV (messages only) are renderings
of it. The evaluation is the API's (``GET /api/sessions/{id}/evaluation``) for the
teacher, and the student's released copy for the student (null until released).

CSV cells that a spreadsheet would run as a formula (starting with ``= + - @``, or a tab /
carriage return) get a leading ``'`` (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from evaluation.loading import Audience, served
from server.evaluation_schemas import EvaluationOut, StudentEvaluationOut
from storage.models import Evaluation, Message, Session

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    "seq",
    "created_at",
    "role",
    "text",
    "stopped",
    "failed",
    "input_tokens",
    "output_tokens",
    "message_id",
    "client_id",
    "reply_id",
)

ROLE_TITLES = {"student": "Student", "client": "Client", "whisper": "Teacher (whisper)"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def session_summary(session: Session, client_name: str) -> dict[str, Any]:
    """What both the teacher and the student may see (no persona, no instructions)."""
    return {
        "id": str(session.id),
        "status": session.status,
        "end_reason": session.end_reason,
        "student_name": session.student_name,
        "client_name": client_name,
        "time_limit_seconds": session.time_limit_seconds,
        "token_budget": session.token_budget,
        "tokens_used": session.tokens_used,
        "created_at": _iso(session.created_at),
        "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at),
    }


def message_item(row: Message) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "message_id": str(row.id),
        "role": row.role,
        "text": row.text,
        "created_at": _iso(row.created_at),
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "stopped": row.stopped,
        "failed": row.failed,
        "client_id": row.client_id,
        "reply_id": row.reply_id,
    }


def evaluation_view(row: Evaluation | None, audience: Audience) -> dict[str, Any] | None:
    """The evaluation as ``audience`` sees it: for the teacher all of it with the review
    and the failure reason; for the student the final scores and comments, only once it
    is done and released (None before, and when there is none). Checked against the
    documented models, so every route and export serves one shape."""
    if row is None:
        return None
    if audience == "student" and (row.released_at is None or row.status != "done"):
        return None
    data = served(
        row.result,
        status=row.status,
        grader=row.grader,
        overrides=row.overrides,
        released_at=row.released_at,
        audience=audience,
    )
    data["rubric"] = row.rubric
    if audience == "student":
        return StudentEvaluationOut.model_validate(data).model_dump(mode="json")
    data["error"] = row.error
    return EvaluationOut.model_validate(data).model_dump(mode="json")


def transcript_document(
    session: Session,
    client_name: str,
    rows: Iterable[Message],
    evaluation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "session": session_summary(session, client_name),
        "items": [message_item(row) for row in rows],
        "evaluation": evaluation,
    }


def safe_cell(value: object) -> object:
    """Neutralise a spreadsheet formula; non-strings pass through."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(document: dict[str, Any]) -> str:
    """One row per message, RFC 4180 quoting, formula-safe text cells."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in document["items"]:
        writer.writerow([safe_cell(item[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def _flags(item: dict[str, Any]) -> str:
    if item["failed"]:
        return " *(cut off: the reply failed)*"
    if item["stopped"]:
        return " *(stopped)*"
    return ""


def to_markdown(document: dict[str, Any]) -> str:
    """A readable transcript: a header, then each message as a quoted block."""
    session = document["session"]
    lines = [
        f"# Transcript: {session['student_name']} with {session['client_name']}",
        "",
        f"- Session: `{session['id']}`",
        f"- Status: {session['status']}"
        + (f" ({session['end_reason']})" if session["end_reason"] else ""),
        f"- Started: {session['started_at'] or 'not started'}",
        f"- Ended: {session['ended_at'] or 'not ended'}",
        f"- Tokens used: {session['tokens_used']} of {session['token_budget']}",
        "",
    ]
    for item in document["items"]:
        title = ROLE_TITLES.get(item["role"], item["role"])
        lines.append(f"**{title}** ({item['created_at']}, #{item['seq']}){_flags(item)}")
        lines.append("")
        text = item["text"] or "(no text)"
        lines.extend(_quoted(text))
        lines.append("")
    if document.get("evaluation"):
        lines.extend(feedback_markdown(document["evaluation"]))
    return "\n".join(lines)


def _quoted(text: str) -> list[str]:
    return ["> " + line if line else ">" for line in text.splitlines() or [""]]


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return "n/a" if value is None else str(value)


def feedback_markdown(evaluation: dict[str, Any]) -> list[str]:
    """The Feedback section: scores (the teacher's beside the automatic one), the
    rationale, evidence and comments; metrics; hidden facts; replies to try."""
    released = evaluation.get("released_at")
    lines = [
        "## Feedback",
        "",
        f"- Status: {evaluation['status']} (scores proposed by the {evaluation['grader']} grader)",
        f"- Released to the student: {released or 'not yet'}",
    ]
    if evaluation.get("error"):
        lines.append(f"- Failed: {evaluation['error']}")
    lines += ["", "### Scores", ""]
    for criterion in evaluation["criteria"]:
        automatic = criterion.get("automatic_score")
        changed = automatic is not None and automatic != criterion["score"]
        note = f" (automatic: {automatic})" if changed else ""
        lines += [f"**{criterion['name']}**: {criterion['score']}{note}", ""]
        lines += [criterion["rationale"], ""]
        for evidence in criterion["evidence"]:
            lines += [*_quoted(f"{evidence['quote']} (#{evidence['seq']})"), ""]
        if criterion.get("comment"):
            lines += [f"Teacher's comment: {criterion['comment']}", ""]
    lines += ["### Skill metrics", ""]
    for name, metric in evaluation["metrics"].items():
        level = f" ({metric['level']})" if metric.get("level") else ""
        lines.append(f"- {name}: {_number(metric.get('value'))}{level}")
    lines += ["", "### Hidden facts", ""]
    for fact in evaluation["coverage"]:
        if fact["disclosed_seq"] is not None:
            lines.append(f"- {fact['fact']}: disclosed at #{fact['disclosed_seq']}")
        else:
            lines.append(
                f"- {fact['fact']}: not disclosed. {fact.get('suggestion') or ''}".rstrip()
            )
    lines += ["", "### Replies to try", ""]
    for alternative in evaluation["alternatives"]:
        lines.append(f"- At #{alternative['seq']}: {alternative['text']} ({alternative['why']})")
    lines.append("")
    return lines
