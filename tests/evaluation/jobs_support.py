"""A finished-looking session in SQL for the job tests: a teacher, the grief client's
profile and transcript (``examples.GRIEF``), a two-criterion rubric and the client-state
audit rows the live session would have flushed; plus grader answers, good and bad."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from realtime.control import SessionControl
from realtime.lifecycle import SessionAction
from storage.db import Database
from storage.models import ApiUsage, Evaluation, Session
from storage.repos import profiles as profile_repo
from storage.repos import rubrics as rubric_repo
from storage.repos import sessions as session_repo
from storage.repos import transcripts as transcript_repo
from storage.repos import users as user_repo
from tests.evaluation.examples import GRIEF, GRIEF_FACTS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CRITERIA: list[dict[str, Any]] = [
    {
        "name": "Empathy",
        "description": "Reflective listening",
        "weight": 1.0,
        "levels": [
            {"score": 3, "descriptor": "consistently"},
            {"score": 2, "descriptor": "sometimes"},
            {"score": 1, "descriptor": "rarely"},
        ],
    },
    {
        "name": "Open questions",
        "description": "",
        "weight": 1.0,
        "levels": [{"score": 2, "descriptor": "mostly open"}, {"score": 0, "descriptor": "closed"}],
    },
]


@dataclass(frozen=True)
class Seeded:
    teacher_id: uuid.UUID
    session_id: uuid.UUID


async def seed_session(db: Database, *, with_turns: bool = True, status: str = "active") -> Seeded:
    """The grief session, ``active`` (or as asked) with its transcript and client states."""
    async with db.session() as s:
        teacher = await user_repo.create_user(
            s,
            email=f"t-{uuid.uuid4().hex[:8]}@school.example",
            name="Teacher",
            role="teacher",
            password_hash="x",
        )
        facts = [
            {"fact": f.fact, "disclosure": "", "topics": list(f.topics), "trust_needed": 40}
            for f in GRIEF_FACTS
        ]
        profile = await profile_repo.create_profile(
            s, teacher.id, name="Jo", hidden_facts=facts, avoid=[]
        )
        rubric = await rubric_repo.create_rubric(
            s, teacher.id, name="Basics", description="", criteria=CRITERIA
        )
        session = await session_repo.create_session(
            s,
            teacher.id,
            profile_id=profile.id,
            rubric_id=rubric.id,
            student_name="Sam",
            student_email="sam@student.example",
            time_limit_seconds=600,
            token_budget=5000,
            join_nonce="nonce",
            status=status,
            tokens_used=1234,
            active_since=T0 if status == "active" else None,
            created_at=T0,
        )
        if with_turns:
            for turn in GRIEF:
                await transcript_repo.add_message(
                    s, session.id, seq=turn.seq, role=turn.role.value, text=turn.text
                )
            for seq, trust, disclosed in ((14, 45, {0: 9}), (15, 38, {0: 9, 2: 13})):
                states = [
                    {
                        "index": f.index,
                        "fact": f.fact,
                        "state": "disclosed" if f.index in disclosed else "locked",
                        "disclosed_seq": disclosed.get(f.index),
                    }
                    for f in GRIEF_FACTS
                ]
                data = {"trust": trust, "delta": 0, "reasons": [], "after_seq": 0, "facts": states}
                await session_repo.add_event(
                    s, session.id, "client_state", "system:client_state", data, seq=seq
                )
    return Seeded(teacher.id, session.id)


async def end(control: SessionControl, session_id: uuid.UUID) -> Session:
    return await control.transition(session_id, SessionAction.END, actor="teacher:t", reason="t")


async def evaluation_of(db: Database, session_id: uuid.UUID) -> Evaluation:
    async with db.session() as s:
        query = select(Evaluation).where(Evaluation.session_id == session_id)
        return (await s.execute(query)).scalar_one()


async def usage_rows(db: Database, teacher_id: uuid.UUID) -> list[ApiUsage]:
    async with db.session() as s:
        query = select(ApiUsage).where(ApiUsage.owner_id == teacher_id).order_by(ApiUsage.id)
        return list((await s.execute(query)).scalars())


async def tokens_used(db: Database, session_id: uuid.UUID) -> int:
    async with db.session() as s:
        return (await session_repo.get_session_unscoped(s, session_id)).tokens_used


def grader_answer(*, evidence_seq: int = 12, empathy: int = 2) -> str:
    """A grader's answer that passes every check (quotes copied from ``GRIEF``)."""
    texts = {turn.seq: turn.text for turn in GRIEF}
    return json.dumps(
        {
            "criteria": [
                {
                    "name": "Empathy",
                    "score": empathy,
                    "rationale": "You reflected the loss once, late in the interview.",
                    "evidence": [{"seq": evidence_seq, "quote": texts.get(evidence_seq, "x")[:40]}],
                },
                {
                    "name": "open questions",
                    "score": 0,
                    "rationale": "Most of your questions could be answered yes or no.",
                    "evidence": [{"seq": 4, "quote": "Do you feel sad?"}],
                },
            ],
            "alternatives": [
                {
                    "seq": 4,
                    "text": "What has this been like for you?",
                    "why": "An open question lets the client choose what to tell.",
                }
            ],
        }
    )
