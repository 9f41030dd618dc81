"""A transcript as JSON, Markdown and CSV (pure: rows in, text out).

The JSON document is the one shape: ``{"session": {...}, "items": [...]}``; Markdown and
CSV are renderings of it. CSV cells that a spreadsheet would run as a formula (starting
with ``= + - @``, or a tab / carriage return) get a leading ``'`` (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from storage.models import Message, Session

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


def transcript_document(
    session: Session, client_name: str, rows: Iterable[Message]
) -> dict[str, Any]:
    return {
        "session": session_summary(session, client_name),
        "items": [message_item(row) for row in rows],
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
        lines.extend("> " + line if line else ">" for line in text.splitlines() or [""])
        lines.append("")
    return "\n".join(lines)
