"""Pure tests of restarting: what a restart does from each status and for each caller, and
the ``session.restarted`` event on the wire and in the fold."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from realtime.attempts import NotStarted, RestartPlan, plan_restart
from realtime.lifecycle import SessionStatus
from realtime.protocol import EventType, SessionRestarted, decode_event, encode, payload_json
from realtime.sessionview import SessionView, fold
from realtime.vocabulary import Role

S = SessionStatus


@pytest.mark.parametrize(
    ("status", "by", "end_current", "start_next"),
    [
        # A live attempt: end it, and the class goes on at once.
        (S.ACTIVE, Role.TEACHER, True, True),
        (S.PAUSED, Role.TEACHER, True, True),
        (S.ACTIVE, Role.STUDENT, True, True),
        # An ended attempt: nothing to end; the teacher's new attempt waits for Start,
        # the student's (who is on the page) starts.
        (S.COMPLETED, Role.TEACHER, False, False),
        (S.EXPIRED, Role.TEACHER, False, False),
        (S.COMPLETED, Role.STUDENT, False, True),
        (S.EXPIRED, Role.STUDENT, False, True),
    ],
)
def test_plan_by_status_and_caller(
    status: SessionStatus, by: Role, end_current: bool, start_next: bool
) -> None:
    assert plan_restart(status, True, by) == RestartPlan(end_current, start_next)


@pytest.mark.parametrize("by", [Role.TEACHER, Role.STUDENT])
def test_an_attempt_that_never_started_has_nothing_to_restart(by: Role) -> None:
    with pytest.raises(NotStarted):
        plan_restart(S.CREATED, False, by)


def test_the_event_round_trips_and_leaves_the_fold_alone() -> None:
    event = SessionRestarted(seq=7, next_session_id="8b0c", attempt=2)
    assert event.type is EventType.SESSION_RESTARTED
    assert '"type":"session.restarted"' in encode(event)
    assert decode_event(payload_json(event), 7) == event
    assert not event.durable and not event.OBSERVERS_ONLY  # the student gets it too
    # Only the cursor moves: no status, reply or budget comes from it.
    assert fold([event]) == SessionView(last_seq=7)


def test_attempt_one_is_never_a_restart() -> None:
    with pytest.raises(ValidationError):
        SessionRestarted(next_session_id="8b0c", attempt=1)
