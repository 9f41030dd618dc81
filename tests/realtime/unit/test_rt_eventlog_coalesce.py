"""Pure tests of the resume rules and the delta coalescer (injected time, no loop)."""

from __future__ import annotations

import pytest

from realtime.coalesce import DeltaCoalescer
from realtime.eventlog import (
    LogGapError,
    LogInfo,
    Replay,
    ResumeGap,
    UpToDate,
    check_continuity,
    decide_resume,
    parse_after,
)

LOG = LogInfo(epoch="e1", last_seq=100, first_seq=51)


@pytest.mark.parametrize(
    ("after", "epoch", "decision"),
    [
        (100, "e1", UpToDate(100)),
        (100, None, UpToDate(100)),
        (50, "e1", Replay(50, 100)),  # oldest kept is 51: exactly reachable
        (99, None, Replay(99, 100)),
        (49, "e1", ResumeGap("trimmed", 49, 51, 100, "e1")),
        (0, None, ResumeGap("trimmed", 0, 51, 100, "e1")),
        (101, "e1", ResumeGap("ahead", 101, 51, 100, "e1")),
        (60, "e0", ResumeGap("epoch_changed", 60, 51, 100, "e1")),
    ],
)
def test_resume_rules(after: int, epoch: str | None, decision: object) -> None:
    assert decide_resume(after, epoch, LOG) == decision


def test_empty_and_rebuilt_logs() -> None:
    fresh = LogInfo("e1", last_seq=0, first_seq=1)
    assert decide_resume(0, None, fresh) == UpToDate(0)
    # Rebuilt from SQL at floor 40 with nothing retained yet.
    rebuilt = LogInfo("e2", last_seq=40, first_seq=41)
    assert decide_resume(40, "e2", rebuilt) == UpToDate(40)
    assert isinstance(decide_resume(39, None, rebuilt), ResumeGap)
    gap = decide_resume(45, "e1", rebuilt)
    assert isinstance(gap, ResumeGap) and gap.reason == "epoch_changed"
    assert "reload" in gap.message


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError):
        decide_resume(-1, None, LOG)
    with pytest.raises(ValueError):
        LogInfo("e", last_seq=5, first_seq=7)
    with pytest.raises(ValueError):
        LogInfo("e", last_seq=5, first_seq=0)


@pytest.mark.parametrize("raw", ["-1", "1.5", "abc", "", "1" * 19, "١٢"])
def test_parse_after_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_after(raw)


def test_parse_after_accepts() -> None:
    assert parse_after(None) is None
    assert parse_after("0") == 0
    assert parse_after("123") == 123


def test_continuity_check() -> None:
    check_continuity(5, 5)
    with pytest.raises(LogGapError) as trimmed:
        check_continuity(5, 9)
    assert trimmed.value.reason == "trimmed" and trimmed.value.after == 4
    with pytest.raises(LogGapError):
        check_continuity(5, 3)


def test_first_delta_flushes_at_once_then_once_per_window() -> None:
    c = DeltaCoalescer(window=0.025, max_pending_chars=100)
    assert c.feed("Hel", now=10.0) == "Hel"
    assert c.feed("lo", now=10.005) is None
    assert c.feed(",", now=10.010) is None
    assert c.deadline() == pytest.approx(10.025)
    assert c.due(10.020) is None
    assert c.due(10.025) == "lo,"
    assert c.deadline() is None
    # A slow stream: a delta after the window has passed goes out at once.
    assert c.feed(" wor", now=10.2) == " wor"
    assert c.feed("ld", now=10.21) is None
    assert c.finish() == "ld"
    assert c.text == "Hello, world"
    assert c.finished


def test_size_threshold_flushes_early() -> None:
    c = DeltaCoalescer(window=1.0, max_pending_chars=5)
    assert c.feed("a", now=0.0) == "a"
    assert c.feed("bc", now=0.001) is None
    assert c.pending == "bc"
    assert c.feed("def", now=0.002) == "bcdef"
    assert c.text == "abcdef"


def test_empty_deltas_and_finish() -> None:
    c = DeltaCoalescer()
    assert c.feed("", now=0.0) is None
    assert c.deadline() is None
    assert c.finish() is None
    assert c.text == ""
    with pytest.raises(RuntimeError):
        c.feed("late", now=1.0)
    with pytest.raises(ValueError):
        DeltaCoalescer(max_pending_chars=0)
