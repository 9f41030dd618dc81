"""A loop's part in a deployment-wide duty (realtime/duty.py): what it reports, and that
it fails open, scanning, when the backend cannot say who holds the duty."""

from __future__ import annotations

import logging

import pytest

from realtime.backends import MemoryBackend
from realtime.backends.redis import RedisBackend
from realtime.duty import Duty


async def test_a_duty_is_held_by_one_loop_and_passed_on_when_given_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = MemoryBackend()
    first, second = Duty(backend, "flusher"), Duty(backend, "flusher")
    with caplog.at_level(logging.INFO, logger="realtime.duty"):
        assert await first.take(0.25) and (first.held, first.state) == (True, "held")
        assert not await second.take(0.25) and (second.held, second.state) == (False, "standby")
        assert await first.take(0.25)  # renewed: said once
        await first.give_up()
        assert (first.held, first.state) == (False, "standby")
        assert await second.take(0.25) and second.state == "held"
    said = [r.getMessage() for r in caplog.records]
    assert said == ["flusher: on duty", "flusher: on duty"], said


async def test_a_backend_that_cannot_answer_lets_the_loop_scan() -> None:
    """Fail open: nothing listens on port 1, so the duty cannot be taken nor refused;
    the loop scans as it did before duties (scanning twice is safe, not scanning is
    transcripts held up)."""
    backend = RedisBackend("redis://127.0.0.1:1/0", key_prefix="nowhere")
    try:
        duty = Duty(backend, "watchdog")
        assert await duty.take(0.5)
        assert (duty.held, duty.state) == (False, "unsure")
        await duty.give_up()  # nothing held: nothing to give up, no error
    finally:
        await backend.aclose()
