"""When a say checks the teacher's monthly caps: on the way to the model only when no
check of the last second is trusted; in the trusted second's later half, after the
reply has started (in-process rig, the caps' clock driven)."""

from __future__ import annotations

import uuid

from realtime.capchecks import CAP_TRUST_SECONDS, CapChecks, sql_caps
from realtime.quota import CapState
from realtime.vocabulary import MessageRole
from tests.hub.rig import Rig, hub_of, new_session, say_and_wait
from tests.support.clock import DrivenClock


async def test_a_say_checks_the_caps_before_its_message_only_without_a_trusted_check(
    rig: Rig,
) -> None:
    sid = await new_session(rig)
    clock, stored_at_check = DrivenClock(), []
    in_sql = sql_caps(rig.db, None)

    async def load(owner_id: uuid.UUID) -> CapState:
        messages = await rig.log.messages(sid)
        stored_at_check.append(sum(m.role is MessageRole.STUDENT for m in messages))
        return await in_sql(owner_id)

    hub = hub_of(rig, caps=CapChecks(load, clock=clock))

    # Nothing trusted yet: checked before the message is stored.
    await say_and_wait(rig, sid, "Hello.", hub=hub)
    clock.now += CAP_TRUST_SECONDS * 0.25
    await say_and_wait(rig, sid, "How are you?", hub=hub)  # fresh: not checked at all
    clock.now += CAP_TRUST_SECONDS * 0.5
    # Trusted, and checked again once its reply started.
    await say_and_wait(rig, sid, "What brings you in?", hub=hub)
    clock.now += CAP_TRUST_SECONDS * 1.01
    # The trusted second is over: checked before, again.
    await say_and_wait(rig, sid, "Tell me more.", hub=hub)
    assert stored_at_check == [0, 3, 3]
