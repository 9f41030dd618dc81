"""Pure parts: CSV / Markdown renderings, and the flusher's backoff and lag report."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from realtime.backends import MemoryBackend
from realtime.flusher import Flusher, FlusherPolicy
from realtime.flushpolicy import Pending
from server.transcript_formats import safe_cell, to_csv, to_markdown


def document(*texts: str) -> dict[str, Any]:
    items = [
        {
            "seq": n + 1,
            "message_id": f"id{n}",
            "role": ("student", "client", "whisper")[n % 3],
            "text": text,
            "created_at": "2025-01-01T10:00:00+00:00",
            "input_tokens": 0,
            "output_tokens": 0,
            "stopped": n == 1,
            "failed": False,
            "client_id": None,
            "reply_id": None,
        }
        for n, text in enumerate(texts)
    ]
    session = {
        "id": "s1",
        "status": "completed",
        "end_reason": "teacher",
        "student_name": "Kim",
        "client_name": "Sam",
        "started_at": "2025-01-01T10:00:00+00:00",
        "ended_at": "2025-01-01T10:30:00+00:00",
        "tokens_used": 10,
        "token_budget": 100,
    }
    return {"session": session, "items": items}


def test_csv_quotes_properly_and_neutralises_formulas() -> None:
    texts = ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", 'Plain, with "quotes"\nand a newline']
    rows = list(csv.reader(io.StringIO(to_csv(document(*texts)))))
    assert rows[0][:4] == ["seq", "created_at", "role", "text"]
    cells = [row[3] for row in rows[1:]]
    assert cells == ["'" + t for t in texts[:4]] + [texts[4]]


def test_safe_cell_leaves_safe_values_alone() -> None:
    assert safe_cell("Hello") == "Hello" and safe_cell(5) == 5 and safe_cell("\tx") == "'\tx"


def test_markdown_has_header_roles_flags_and_quoted_lines() -> None:
    text = to_markdown(document("Hi there", "Well,\nI suppose", "Be gentle"))
    assert text.startswith("# Transcript: Kim with Sam")
    assert "**Student**" in text and "**Teacher (whisper)**" in text
    assert "**Client** (2025-01-01T10:00:00+00:00, #2) *(stopped)*" in text
    assert "> Well,\n> I suppose" in text


def flusher(now: list[float]) -> Flusher:
    policy = FlusherPolicy(interval_seconds=0.25, backoff_max_seconds=5.0, lag_alert_seconds=2.0)
    return Flusher(None, MemoryBackend(), policy, clock=lambda: now[0])  # type: ignore[arg-type]


def test_backoff_doubles_and_is_bounded() -> None:
    policy = flusher([0.0]).policy
    delays = [policy.backoff_seconds(failures) for failures in range(8)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_lag_reports_waiting_events_and_their_age() -> None:
    now = [100.0]
    f = flusher(now)
    assert f.lag()["status"] == "ok" and f.lag()["unflushed_events"] == 0
    f._pending[uuid.uuid4()] = Pending(oldest_seq=5, events=40, since=99.0)
    assert f.lag()["status"] == "ok"
    now[0] = 103.0
    lag = f.lag()
    assert (lag["status"], lag["unflushed_events"], lag["oldest_unflushed_seconds"]) == (
        "behind",
        40,
        4.0,
    )
    f._failures = 2
    assert f.lag()["status"] == "retrying"
