"""Where a reply's usage row comes from (issue 12): far from every monthly cap, only the
flusher writes it, from the ``reply.usage`` the reply's end put in the log (no
transaction of the reply's own); near a cap, the reply's end writes it at once, so the
next say's cap check counts it, and the flusher's replay of the same event adds nothing."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from realtime.flusher import Flusher
from storage.models import ApiUsage, Session, User
from tests.hub.rig import Rig, new_session


async def usage_rows(rig: Rig, sid: uuid.UUID) -> tuple[int, int]:
    """The session's usage rows and its token count in SQL."""
    async with rig.db.session() as s:
        rows = await s.scalar(select(func.count()).where(ApiUsage.session_id == sid))
        session = await s.get(Session, sid)
        assert session is not None
        return int(rows or 0), session.tokens_used


async def a_reply(rig: Rig, sid: uuid.UUID) -> None:
    """Say, then wait until the reply's task has done everything it does at its end."""
    assert await rig.hub.say(sid, "How have things been this week?", "c1") is None
    await rig.runner.aclose(grace=5)


async def cap_owner(rig: Rig, sid: uuid.UUID, cap: int) -> None:
    async with rig.db.session() as s:
        session = await s.get(Session, sid)
        assert session is not None
        owner = await s.get(User, session.owner_id)
        assert owner is not None
        owner.monthly_token_cap = cap


async def test_far_from_a_cap_the_flusher_alone_writes_the_usage_row(rig: Rig) -> None:
    sid = await new_session(rig)
    await a_reply(rig, sid)
    assert await usage_rows(rig, sid) == (0, 0)
    await Flusher(rig.db, rig.backend).flush_session(sid)
    rows, tokens_used = await usage_rows(rig, sid)
    assert rows == 1 and tokens_used > 0


async def test_near_a_cap_the_reply_writes_it_at_once_and_the_flusher_adds_nothing(
    rig: Rig,
) -> None:
    sid = await new_session(rig)
    await cap_owner(rig, sid, 10_000)  # under realtime.quota.FAR_TOKENS left: near
    await a_reply(rig, sid)
    rows, tokens_used = await usage_rows(rig, sid)
    assert rows == 1 and tokens_used > 0
    await Flusher(rig.db, rig.backend).flush_session(sid)
    assert await usage_rows(rig, sid) == (1, tokens_used)
