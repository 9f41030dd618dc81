"""Pure tests: the limits policy, the lifecycle table, active-time accounting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from realtime.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    SessionAction,
    SessionStatus,
    apply,
)
from realtime.timekeeping import ActiveClock, transition_values
from server.schemas import SessionIn
from tests.support.settings import make_settings

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _session(seconds: int, tokens: int) -> dict[str, object]:
    return {
        "profile_id": str(uuid.uuid4()),
        "rubric_id": str(uuid.uuid4()),
        "student_name": "Sam",
        "time_limit_seconds": seconds,
        "token_budget": tokens,
    }


def test_limits_policy_follows_settings(tmp_path: Path) -> None:
    strict = make_settings(
        tmp_path,
        session_min_seconds=60,
        session_max_seconds=120,
        token_budget_min=10,
        token_budget_max=20,
    )
    ok = SessionIn.model_validate(_session(60, 20), context={"settings": strict})
    assert (ok.time_limit_seconds, ok.token_budget) == (60, 20)
    with pytest.raises(ValidationError) as caught:
        SessionIn.model_validate(_session(300, 1000), context={"settings": strict})
    messages = {e["loc"][0]: e["msg"] for e in caught.value.errors()}
    assert "between 60 and 120" in str(messages["time_limit_seconds"])
    assert "between 10 and 20" in str(messages["token_budget"])


def test_settings_reject_inverted_bounds(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SESSION_MIN_SECONDS"):
        make_settings(tmp_path, session_min_seconds=500, session_max_seconds=400)


@pytest.mark.parametrize("action", list(SessionAction))
@pytest.mark.parametrize("status", list(SessionStatus))
def test_lifecycle_table(action: SessionAction, status: SessionStatus) -> None:
    allowed, to = TRANSITIONS[action]
    if status in allowed:
        assert apply(action, status) is to
    else:
        with pytest.raises(IllegalTransition) as caught:
            apply(action, status)
        assert caught.value.current is status


def test_terminal_states_have_no_exit_but_extend() -> None:
    for status in (SessionStatus.COMPLETED,):
        assert all(status not in TRANSITIONS[a][0] for a in SessionAction)
    exits = [a for a in SessionAction if SessionStatus.EXPIRED in TRANSITIONS[a][0]]
    assert exits == [SessionAction.EXTEND]


def test_active_clock_counts_only_active_time() -> None:
    running = ActiveClock(600, 100.0, T0)
    assert running.used(T0 + timedelta(seconds=50)) == 150
    assert running.seconds_left(T0 + timedelta(seconds=50)) == 450
    assert running.deadline() == T0 + timedelta(seconds=500)
    assert running.seconds_left(T0 + timedelta(seconds=10_000)) == 0
    paused = ActiveClock(600, 100.0, None)
    assert paused.seconds_left(T0 + timedelta(days=3)) == 500
    assert paused.deadline() is None


def test_transition_values_bank_time_on_pause_and_restart_on_resume() -> None:
    running = ActiveClock(600, 100.0, T0)
    paused = transition_values(
        SessionAction.PAUSE, SessionStatus.PAUSED, running, T0 + timedelta(seconds=30)
    )
    assert paused["active_seconds"] == 130 and paused["active_since"] is None
    assert paused["deadline_at"] is None
    later = T0 + timedelta(hours=1)
    resumed = transition_values(
        SessionAction.RESUME, SessionStatus.ACTIVE, ActiveClock(600, 130.0, None), later
    )
    assert resumed["active_since"] == later
    assert resumed["deadline_at"] == later + timedelta(seconds=470)


def test_extend_adds_time_and_reopens() -> None:
    expired = ActiveClock(600, 600.0, None)
    values = transition_values(
        SessionAction.EXTEND, SessionStatus.ACTIVE, expired, T0, add_seconds=120
    )
    assert values["status"] == "active" and values["time_limit_seconds"] == 720
    assert values["deadline_at"] == T0 + timedelta(seconds=120)
    assert values["ended_at"] is None and values["end_reason"] is None
