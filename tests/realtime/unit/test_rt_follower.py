"""A student socket's :class:`Follower` folds the log only for which replies are open (the
heartbeat's sweep for a reply a dead worker left open), and skips the deltas that merely
grow the reply it sees streaming: it must still see exactly the open replies a full fold
sees, after every event of any log."""

from __future__ import annotations

from hypothesis import given, settings

from realtime.events import ReplyDelta, ReplyStart
from realtime.follower import Follower
from realtime.sessionview import SessionView, fold
from realtime.vocabulary import Role
from tests.realtime.unit.sessionlog_support import Log, session_logs


def _open(view: SessionView | None) -> list[str]:
    assert view is not None
    return [reply.reply_id for reply in view.open_replies]


@settings(max_examples=300, deadline=None)
@given(session_logs())
def test_a_student_follower_sees_the_open_replies_a_full_fold_sees(log: Log) -> None:
    follower = Follower(Role.STUDENT, live=True)
    follower.view = SessionView()
    for i, event in enumerate(log.events):
        assert follower.note(event) is event
        full = fold(log.events[: i + 1])
        assert _open(follower.view) == _open(full)
        assert (follower.open_reply_since() is not None) == bool(full.open_replies)
        assert follower.cursor == event.seq


def test_a_delta_whose_start_was_trimmed_opens_its_reply() -> None:
    follower = Follower(Role.STUDENT, live=True)
    follower.view = SessionView()
    assert follower.open_reply_since() is None
    follower.note(ReplyDelta(seq=7, reply_id="r1", text="hi"))
    assert _open(follower.view) == ["r1"]
    follower.note(ReplyDelta(seq=8, reply_id="r2", text="also"))  # a second, left open
    assert _open(follower.view) == ["r1", "r2"]
    follower.note(ReplyStart(seq=9, reply_id="r3"))
    assert follower.view is not None and follower.view.last_seq == 9
