"""The say path's checks of a teacher's monthly caps, on a driven clock."""

from __future__ import annotations

import logging
import uuid

import pytest

from realtime.capchecks import CAP_TRUST_SECONDS, CapChecks
from realtime.quota import CapState
from tests.support.clock import DrivenClock

FAR = CapState(reached=False, far=True)
NEAR = CapState(reached=False, far=False)
OWNER = uuid.uuid4()


class Answers:
    """What SQL answers, one check at a time; an exception is raised."""

    def __init__(self, *answers: CapState | Exception) -> None:
        self.answers = list(answers)
        self.asked = 0

    async def __call__(self, owner_id: uuid.UUID) -> CapState:
        assert owner_id == OWNER
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_far_from_a_cap_a_check_is_trusted_for_a_second_and_renewed_after_the_say() -> None:
    clock, sql = DrivenClock(), Answers(FAR, FAR, FAR)
    caps = CapChecks(sql, clock=clock)
    assert await caps.check(OWNER) == FAR
    clock.now += CAP_TRUST_SECONDS / 2 - 0.01  # fresh: neither the say nor after it asks
    assert await caps.check(OWNER) == FAR
    await caps.refresh(OWNER)
    assert sql.asked == 1
    clock.now += 0.02  # the second half: the say trusts it, and it is renewed after
    assert await caps.check(OWNER) == FAR
    assert sql.asked == 1
    await caps.refresh(OWNER)
    assert sql.asked == 2
    clock.now += CAP_TRUST_SECONDS  # no say renewed it for a second: the say asks
    assert await caps.check(OWNER) == FAR
    assert sql.asked == 3


async def test_near_a_cap_every_say_asks_and_nothing_is_asked_after_it() -> None:
    clock, sql = DrivenClock(), Answers(NEAR, CapState(reached=True, far=False))
    caps = CapChecks(sql, clock=clock)
    assert await caps.check(OWNER) == NEAR
    await caps.refresh(OWNER)  # nothing trusted to renew
    assert (await caps.check(OWNER)).reached
    assert sql.asked == 2


async def test_a_failed_renewal_is_logged_and_the_say_asks_once_the_second_is_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, sql = DrivenClock(), Answers(FAR, OSError("database down"), NEAR)
    caps = CapChecks(sql, clock=clock)
    await caps.check(OWNER)
    clock.now += CAP_TRUST_SECONDS * 0.75
    with caplog.at_level(logging.WARNING, logger="realtime.capchecks"):
        await caps.refresh(OWNER)  # must not fail the say whose reply has started
    assert "could not check the monthly caps" in caplog.text
    assert await caps.check(OWNER) == FAR  # still within the trusted second
    clock.now += CAP_TRUST_SECONDS * 0.25
    assert await caps.check(OWNER) == NEAR
    assert sql.asked == 3
