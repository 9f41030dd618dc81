"""The pure mapping from durable log events to SQL rows (no loop, no I/O)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from realtime.flushmap import AuditRow, MessageRow, insert_rows, message_uuid, plan, rows_of
from realtime.lifecycle import SessionStatus
from realtime.protocol import (
    BudgetEvent,
    ClientStateEvent,
    DirectionEvent,
    FactView,
    FlagView,
    MessageEvent,
    MessageRole,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ReplyFlagged,
    ReplyStart,
    ReplyStop,
    Role,
    SequencedEvent,
    StatusEvent,
    Usage,
    decode_event,
    payload_json,
)
from realtime.usage_events import CallUsage, ReplyUsage

M1, M2, M3 = (str(uuid.uuid4()) for _ in range(3))
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def at(seq: int, event: Any) -> SequencedEvent:
    """``event`` as the log hands it out: stored, then decoded with its seq."""
    return decode_event(payload_json(event), seq)


def test_student_message_becomes_a_message_row() -> None:
    event = at(4, MessageEvent(message_id=M1, role=MessageRole.STUDENT, text="Hi", client_id="c"))
    assert rows_of(event) == (
        [MessageRow(uuid.UUID(M1), 4, "student", "Hi", client_id="c")],
        [],
    )


def test_whisper_is_a_message_and_an_audit_event() -> None:
    event = at(7, MessageEvent(message_id=M1, role=MessageRole.WHISPER, text="Slow down"))
    messages, audits = rows_of(event)
    assert [(m.role, m.text, m.seq) for m in messages] == [("whisper", "Slow down", 7)]
    assert audits == [AuditRow(7, "whisper", "teacher", {"message_id": M1, "text": "Slow down"})]


def test_reply_done_carries_tokens_and_the_stopped_flag() -> None:
    done = ReplyDone(
        reply_id="r1",
        message_id=M2,
        text="Well, I",
        usage=Usage(input_tokens=900, output_tokens=3),
        stopped=True,
    )
    (message,), audits = rows_of(at(9, done))
    assert message == MessageRow(
        uuid.UUID(M2),
        9,
        "client",
        "Well, I",
        reply_id="r1",
        input_tokens=900,
        output_tokens=3,
        stopped=True,
    )
    assert audits == []


def test_failed_reply_with_text_is_a_failed_message_and_an_audit_event() -> None:
    error = ReplyError(
        reply_id="r2", code="interrupted", message="cut", message_id=M3, text="Partial answ"
    )
    (message,), (audit,) = rows_of(at(11, error))
    assert (message.failed, message.stopped, message.text) == (True, False, "Partial answ")
    assert (audit.kind, audit.data["code"], audit.data["message_id"]) == (
        "reply_failed",
        "interrupted",
        M3,
    )


def test_failed_reply_without_text_is_only_audited() -> None:
    error = ReplyError(reply_id="r3", code="unavailable", message="down", message_id=None, text="")
    messages, (audit,) = rows_of(at(12, error))
    assert messages == []
    assert audit.kind == "reply_failed" and audit.data["reply_id"] == "r3"


def test_stop_and_budget_warning_are_audited() -> None:
    stop = at(13, ReplyStop(reply_id="r4", by=Role.STUDENT))
    assert rows_of(stop) == (
        [],
        [AuditRow(13, "reply_stopped", "student", {"reply_id": "r4", "by": "student"})],
    )
    warning = at(
        14,
        BudgetEvent(
            tokens_used=16_100,
            token_budget=20_000,
            seconds_left=600,
            warning="tokens_low",
            percent=80,
        ),
    )
    (audit,) = rows_of(warning)[1]
    assert audit.kind == "budget_warning" and audit.actor == "system:budget"
    assert audit.data["budget"] == "tokens" and audit.data["percent"] == 80


def test_status_start_and_plain_budget_store_nothing() -> None:
    for event in (
        StatusEvent(status=SessionStatus.ACTIVE),
        ReplyStart(reply_id="r5"),
        BudgetEvent(tokens_used=1, token_budget=2, seconds_left=3),
    ):
        assert rows_of(at(1, event)) == ([], [])


def test_plan_covers_a_batch_and_reports_its_last_seq() -> None:
    events = [
        at(20, MessageEvent(message_id=M1, role=MessageRole.STUDENT, text="a", client_id="x")),
        at(21, ReplyStart(reply_id="r")),
        at(
            23,
            ReplyDone(
                reply_id="r", message_id=M2, text="b", usage=Usage(input_tokens=1, output_tokens=1)
            ),
        ),
    ]
    assert all(e.durable for e in events)
    assert not at(22, ReplyDelta(reply_id="r", text="b")).durable
    batch = plan(events)
    assert [m.seq for m in batch.messages] == [20, 23] and batch.upto == 23


def test_a_malformed_event_is_recorded_not_fatal() -> None:
    broken = decode_event('{"type": "reply.done", "text": "no ids"}', 30)
    batch = plan([broken, at(31, ReplyStop(reply_id="r", by=Role.TEACHER))])
    kinds = [a.kind for a in batch.audits]
    assert kinds == ["unreadable_event", "reply_stopped"] and batch.upto == 31
    assert json.loads(batch.audits[0].data["event"])["text"] == "no ids"


def test_message_ids_that_are_not_uuids_map_deterministically() -> None:
    assert message_uuid("m_41") == message_uuid("m_41") != message_uuid("m_42")
    assert message_uuid(M1) == uuid.UUID(M1)


def test_client_state_direction_and_flags_are_audited() -> None:
    state = ClientStateEvent(
        trust=42,
        delta=6,
        reasons=("complex reflection +6",),
        after_seq=3,
        facts=(FactView(index=0, fact="Lost the job.", state="unlocked"),),
    )
    (audit,) = rows_of(at(4, state))[1]
    assert (audit.kind, audit.actor, audit.data["trust"], audit.data["delta"]) == (
        "client_state",
        "system:client_state",
        42,
        6,
    )
    assert audit.data["facts"] == [
        {"index": 0, "fact": "Lost the job.", "state": "unlocked", "disclosed_seq": None}
    ]
    assert rows_of(at(5, DirectionEvent(text="Be more irritable."))) == (
        [],
        [AuditRow(5, "direction", "teacher", {"text": "Be more irritable."})],
    )
    flagged = ReplyFlagged(reply_id="r", flags=(FlagView(flag="ai_speak", reason="as an AI"),))
    (audit,) = rows_of(at(6, flagged))[1]
    assert audit.kind == "reply_flagged" and audit.data["flags"] == [
        {"flag": "ai_speak", "reason": "as an AI"}
    ]


def test_reply_usage_becomes_a_usage_row_and_the_batch_s_highest_token_count() -> None:
    owner = uuid.uuid4()
    call = CallUsage(
        provider="anthropic",
        model="claude-test",
        input_tokens=40,
        output_tokens=9,
        duration_ms=800,
        outcome="ok",
        cost_micros=None,
        currency="USD",
    )
    events = [
        at(5, ReplyUsage(reply_id="r1", owner_id=owner, tokens_used=49, call=call)),
        at(9, ReplyUsage(reply_id="r2", owner_id=owner, tokens_used=97)),  # unmetered
    ]
    assert all(e.durable and e.OBSERVERS_ONLY for e in events)
    batch = plan(events)
    assert (batch.messages, batch.audits, batch.upto, batch.tokens_used) == ((), (), 9, 97)
    (row,) = batch.usage
    columns = row.columns()
    assert (row.seq, row.owner_id, row.call) == (5, owner, call)
    assert {k: columns[k] for k in ("seq", "owner_id", "input_tokens", "output_tokens")} == {
        "seq": 5,
        "owner_id": owner,
        "input_tokens": 40,
        "output_tokens": 9,
    }
    assert columns["cost_micros"] is None and columns["time_to_first_token_ms"] is None

    sid, other = uuid.uuid4(), uuid.uuid4()
    inserts = insert_rows([(sid, batch), (other, plan([at(1, ReplyStart(reply_id="r"))]))], NOW)
    assert inserts.tokens_used == {sid: 97}, "no count for a batch without usage"
    assert [(r["session_id"], r["seq"], r["created_at"]) for r in inserts.usage] == [(sid, 5, NOW)]


def test_a_reply_usage_without_a_uuid_owner_is_unreadable_not_fatal() -> None:
    bad = '{"type": "reply.usage", "reply_id": "r", "owner_id": "nobody", "tokens_used": 3}'
    batch = plan([decode_event(bad, 4)])
    assert [a.kind for a in batch.audits] == ["unreadable_event"] and batch.usage == ()
