"""The session fold, without I/O: laws over random valid logs, and what it derives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.protocol import (
    ClientStateEvent,
    DirectionEvent,
    ReplyDelta,
    ReplyStart,
)
from realtime.sessionview import SessionView, fold
from tests.realtime.unit.sessionlog_support import Log, done, interrupted, session_logs


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
    view = view.apply(interrupted("old", "half").model_copy(update={"seq": 4}))
    assert [r.reply_id for r in view.open_replies] == ["new"]
    assert view.has_ended("old") and not view.has_ended("new")


def test_late_deltas_of_an_ended_reply_do_not_reopen_it() -> None:
    view = fold(
        [
            ReplyStart(reply_id="r", seq=1),
            done("r", "").model_copy(update={"seq": 2}),
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


@settings(max_examples=300, deadline=None)
@given(session_logs(), st.data())
def test_the_fold_equals_applying_each_event_in_turn(log: Log, data: st.DataObject) -> None:
    """fold skips the deltas of a reply that ends later in the same batch: from any
    snapshot, the result is what applying every event one at a time gives."""
    cut = data.draw(st.integers(0, len(log.events)))
    back = data.draw(st.integers(0, cut))
    stepped = snapshot = fold(log.events[:cut])
    for event in log.events[back:]:
        stepped = stepped.apply(event)
    assert fold(log.events[back:], snapshot) == stepped
