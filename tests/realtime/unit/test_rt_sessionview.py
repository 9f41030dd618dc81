"""The session fold, without I/O: laws over random valid logs, and what it derives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.lifecycle import SessionStatus
from realtime.protocol import (
    BudgetEvent,
    ClientStateEvent,
    DirectionEvent,
    MessageEvent,
    MessageRole,
    PresenceEvent,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ReplyErrorCode,
    ReplyStart,
    ReplyStop,
    Role,
    SequencedEvent,
    StatusEvent,
    Usage,
    decode_event,
    payload_json,
)
from realtime.sessionview import SessionView, fold


@dataclass
class Truth:
    """What the generator knows the log means, kept beside the events it writes."""

    open_texts: dict[str, str] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)
    ended: set[str] = field(default_factory=set)
    said: dict[str, int] = field(default_factory=dict)
    status: SessionStatus | None = None


@dataclass
class Log:
    events: list[SequencedEvent] = field(default_factory=list)
    truth: Truth = field(default_factory=Truth)

    def add(self, event: SequencedEvent) -> None:
        seq = len(self.events) + 1
        # Through the storage boundary, as every consumer sees events.
        self.events.append(decode_event(payload_json(event), seq))


STEPS = st.sampled_from(
    ["say", "delta", "delta", "delta", "stop", "done", "fail", "crash", "budget", "status",
     "presence", "whisper"]
)  # fmt: skip


@st.composite
def session_logs(draw: st.DrawFn) -> Log:
    """A valid log: one reply at a time, except that a crash leaves a reply open and the
    next say closes it as interrupted before starting its own (as the hub does)."""
    log = Log()
    truth = log.truth
    running: str | None = None
    for step in draw(st.lists(STEPS, min_size=1, max_size=60)):
        if step == "say" and running is None:
            for orphan, text in list(truth.open_texts.items()):
                log.add(_interrupted(orphan, text))
                del truth.open_texts[orphan]
                truth.ended.add(orphan)
            client_id = draw(st.sampled_from(["a", "b", "c", "d"]))
            log.add(
                MessageEvent(
                    message_id=str(uuid.uuid4()),
                    role=MessageRole.STUDENT,
                    text="hi",
                    client_id=client_id,
                )
            )
            truth.said.setdefault(client_id, len(log.events))
            running = uuid.uuid4().hex
            log.add(ReplyStart(reply_id=running))
            truth.open_texts[running] = ""
        elif step == "delta" and running is not None:
            text = draw(st.text(min_size=1, max_size=5))
            log.add(ReplyDelta(reply_id=running, text=text))
            truth.open_texts[running] += text
        elif step == "stop" and running is not None and running not in truth.stopped:
            log.add(ReplyStop(reply_id=running, by=draw(st.sampled_from(list(Role)))))
            truth.stopped.add(running)
        elif step in ("done", "fail") and running is not None:
            text = truth.open_texts.pop(running)
            log.add(_done(running, text) if step == "done" else _interrupted(running, text))
            truth.ended.add(running)
            running = None
        elif step == "crash":
            running = None  # the worker died: its reply stays open in the log
        elif step == "budget":
            log.add(BudgetEvent(tokens_used=draw(st.integers(0, 99)), token_budget=100))
        elif step == "status":
            truth.status = draw(st.sampled_from(list(SessionStatus)))
            log.add(StatusEvent(status=truth.status))
        elif step == "presence":
            log.add(PresenceEvent(student_online=draw(st.booleans()), observers=1))
        elif step == "whisper":
            log.add(MessageEvent(message_id="w", role=MessageRole.WHISPER, text="psst"))
    return log


def _done(reply_id: str, text: str) -> ReplyDone:
    usage = Usage(input_tokens=1, output_tokens=1)
    return ReplyDone(reply_id=reply_id, message_id=str(uuid.uuid4()), text=text, usage=usage)


def _interrupted(reply_id: str, text: str) -> ReplyError:
    return ReplyError(reply_id=reply_id, code=ReplyErrorCode.INTERRUPTED, message="cut", text=text)


@settings(max_examples=300, deadline=None)
@given(session_logs(), st.data())
def test_a_prefix_then_the_rest_equals_the_whole(log: Log, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(log.events)))
    assert fold(log.events[cut:], fold(log.events[:cut])) == fold(log.events)


@settings(max_examples=300, deadline=None)
@given(session_logs(), st.data())
def test_a_snapshot_plus_overlapping_events_equals_a_fresh_fold(
    log: Log, data: st.DataObject
) -> None:
    """A subscriber resuming from a snapshot may be handed events it already folded
    (a reconnect replays from its cursor): they change nothing."""
    cut = data.draw(st.integers(0, len(log.events)))
    back = data.draw(st.integers(0, cut))
    snapshot = fold(log.events[:cut])
    assert fold(log.events[back:], snapshot) == fold(log.events)


@settings(max_examples=300, deadline=None)
@given(session_logs())
def test_the_fold_derives_what_the_log_means(log: Log) -> None:
    view = fold(log.events)
    truth = log.truth
    assert {r.reply_id: r.text for r in view.open_replies} == truth.open_texts
    assert {r.reply_id for r in view.open_replies if r.stop_by} == (
        truth.stopped & set(truth.open_texts)
    )
    assert view.ended_replies == truth.ended
    assert {cid: said.seq for cid, said in view.said.items()} == truth.said
    assert view.status == truth.status
    assert view.last_seq == len(log.events)


def test_a_window_that_starts_mid_reply_keeps_the_text_it_saw() -> None:
    """A view folded from a trimmed window sees deltas whose start is gone."""
    view = fold(
        [
            ReplyDelta(reply_id="r", text="lo", seq=7),
            ReplyDelta(reply_id="r", text=" there", seq=8),
        ]
    )
    assert view.streaming is not None and view.streaming.text == "lo there"


def test_streaming_is_the_newest_open_reply_and_ends_with_its_end_event() -> None:
    view = fold(
        [
            ReplyStart(reply_id="old", seq=1),
            ReplyDelta(reply_id="old", text="half", seq=2),
            ReplyStart(reply_id="new", seq=3),
        ]
    )
    assert [r.reply_id for r in view.open_replies] == ["old", "new"]
    assert view.streaming is not None and view.streaming.reply_id == "new"
    view = view.apply(_interrupted("old", "half").model_copy(update={"seq": 4}))
    assert [r.reply_id for r in view.open_replies] == ["new"]
    assert view.has_ended("old") and not view.has_ended("new")


def test_late_deltas_of_an_ended_reply_do_not_reopen_it() -> None:
    view = fold(
        [
            ReplyStart(reply_id="r", seq=1),
            _done("r", "").model_copy(update={"seq": 2}),
            ReplyDelta(reply_id="r", text="x", seq=3),
        ]
    )
    assert view.open_replies == () and view.streaming is None


def test_an_empty_view() -> None:
    view = SessionView()
    assert view.streaming is None and view.last_seq == 0 and not view.said


def test_the_latest_client_state_and_three_directions_are_kept() -> None:
    states = [ClientStateEvent(trust=t, seq=n) for n, t in ((1, 20), (4, 26))]
    notes = [DirectionEvent(text=f"note {n}", seq=n + (2 if n < 2 else 3)) for n in range(4)]
    view = fold([states[0], *notes[:2], states[1], *notes[2:]])  # seqs 1, 2, 3, 4, 5, 6
    assert view.client_state == states[1]
    assert view.directions == ("note 1", "note 2", "note 3")
