"""A started session in SQL, as the hub tests need one: a new teacher, a profile named
Sam, an empty rubric, a 10-minute session for Kim, moved to ``active``."""

from __future__ import annotations

import uuid
from typing import Any

from realtime.control import SessionControl
from realtime.lifecycle import SessionAction
from storage.db import Database
from storage.repos import profiles, rubrics, sessions, users


async def started_session(
    db: Database,
    control: SessionControl,
    *,
    token_budget: int = 20_000,
    hidden_facts: list[dict[str, Any]] | None = None,
    model: str | None = None,
) -> uuid.UUID:
    facts = {} if hidden_facts is None else {"hidden_facts": hidden_facts}
    async with db.session() as s:
        teacher = await users.create_user(
            s, email=f"{uuid.uuid4().hex}@x.example", name="T", role="teacher", password_hash="x"
        )
        profile = await profiles.create_profile(
            s, teacher.id, name="Sam", opening_line="Hi.", **facts
        )
        rubric = await rubrics.create_rubric(s, teacher.id, name="R", description="", criteria=[])
        session = await sessions.create_session(
            s,
            teacher.id,
            profile_id=profile.id,
            rubric_id=rubric.id,
            student_name="Kim",
            time_limit_seconds=600,
            token_budget=token_budget,
            join_nonce="n",
            model=model,
        )
    await control.transition(session.id, SessionAction.START, actor="t")
    return session.id
