"""Demo data for a first run: one teacher, one client profile, one rubric, one session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.auth import Signer, new_join_nonce
from server.passwords import hash_password
from server.profile_schemas import ProfileIn
from server.settings import Settings
from storage.db import Database
from storage.repos import profiles as profile_repo
from storage.repos import rubrics as rubric_repo
from storage.repos import sessions as session_repo
from storage.repos import users as user_repo

DEMO_EMAIL = "teacher@example.org"
# Printed at start-up for the local demo only; `vclient create-user` makes real accounts.
DEMO_PASSWORD = "demo-teacher-password"

# Hidden facts from the least to the most guarded: what the student can earn early (the
# warning letter), then the drinking, then the grief underneath it all.
DEMO_PROFILE: dict[str, Any] = {
    "name": "Sam Rivera",
    "age": 34,
    "pronouns": "they/them",
    "background": (
        "Warehouse shift lead, recently moved to the city for work. Lives alone; "
        "sister lives two hours away. Referred by their GP after missing several shifts."
    ),
    "presenting_problem": "Trouble sleeping, feeling flat, missing work.",
    "personality": "Polite, guarded, uses humour to deflect; warms up when listened to.",
    "communication_style": "Short answers at first; longer once they feel heard.",
    "goals": "Keep the job; be able to sleep; not be 'a burden'.",
    "hidden_facts": [
        {
            "fact": "They are afraid of being fired because a warning letter arrived last week.",
            "disclosure": (
                "Honestly? I got a warning letter last week. One more missed shift and "
                "I think that's it for me there."
            ),
            "topics": ["work", "job", "shifts", "boss", "manager", "warning", "fired"],
            "trust_needed": 35,
        },
        {
            "fact": "They have been drinking most nights to get to sleep.",
            "disclosure": (
                "I've been having a few drinks most nights. It's the only way I get "
                "any sleep. I know, I know."
            ),
            "topics": ["sleep", "nights", "evenings", "drinking", "alcohol", "coping"],
            "trust_needed": 60,
        },
        {
            "fact": "Their father died four months ago and they did not go to the funeral.",
            "disclosure": (
                "My dad died in the spring. I didn't go to the funeral. I still can't "
                "really say why, and I haven't told anyone that."
            ),
            "topics": ["father", "dad", "family", "funeral", "grief", "loss", "home"],
            "trust_needed": 80,
        },
    ],
    "difficulty": 3,
    "opening_line": "Hi. My doctor said I should talk to someone, so... here I am.",
    "style": "reserved",
    "avoid": ["their sister", "moving back home"],
}

DEMO_RUBRIC = {
    "name": "First interview basics",
    "description": "Engagement and exploration in a first meeting.",
    "criteria": [
        {
            "name": "Rapport",
            "description": "Warmth, reflective listening, pacing.",
            "weight": 2.0,
            "levels": [
                {"score": 3, "descriptor": "Consistently reflects feelings and meaning"},
                {"score": 2, "descriptor": "Some reflections; occasionally rushes"},
                {"score": 1, "descriptor": "Mostly closed questions; little reflection"},
            ],
        },
        {
            "name": "Exploration",
            "description": "Open questions that uncover the client's situation.",
            "weight": 1.0,
            "levels": [
                {"score": 3, "descriptor": "Uncovers most hidden concerns"},
                {"score": 2, "descriptor": "Uncovers some concerns"},
                {"score": 1, "descriptor": "Stays on the surface"},
            ],
        },
    ],
}


@dataclass(frozen=True)
class DemoResult:
    created: bool
    email: str
    password: str | None
    join_path: str | None


async def seed_demo(db: Database, settings: Settings) -> DemoResult:
    """Create the demo data if the database has no users yet; otherwise do nothing."""
    async with db.session() as s:
        if await user_repo.count(s) > 0:
            return DemoResult(False, DEMO_EMAIL, None, None)
        teacher = await user_repo.create_user(
            s,
            email=DEMO_EMAIL,
            name="Demo Teacher",
            role="teacher",
            password_hash=await hash_password(DEMO_PASSWORD),
        )
        # Through the API's rules, so the demo can never hold what a teacher could not.
        fields = ProfileIn.model_validate(DEMO_PROFILE).model_dump()
        profile = await profile_repo.create_profile(s, teacher.id, **fields)
        rubric = await rubric_repo.create_rubric(s, teacher.id, **DEMO_RUBRIC)  # type: ignore[arg-type]
        session = await session_repo.create_session(
            s,
            teacher.id,
            profile_id=profile.id,
            rubric_id=rubric.id,
            student_name="Demo Student",
            time_limit_seconds=max(settings.session_min_seconds, 1_800),
            token_budget=max(settings.token_budget_min, 20_000),
            join_nonce=new_join_nonce(),
        )
        await session_repo.add_event(s, session.id, "created", f"teacher:{teacher.id}")
    token = Signer(settings.resolved_secret_key()).join_token(session.id, session.join_nonce)
    return DemoResult(True, DEMO_EMAIL, DEMO_PASSWORD, f"/join/{token}")
