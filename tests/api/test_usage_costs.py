"""Usage in tokens and money, and the monthly caps, on SQLite and PostgreSQL in process:
sums by student and by session with cost in micros per currency (an unpriced call is
counted as such, never as 0), the caps' precedence (a teacher's own token cap over
TEACHER_MONTHLY_TOKEN_CAP; a money cap only when set), 429 for a new session past a
money cap, and the socket refusing a say past it.

Usage rows are written through the repository, as the reply runner writes them, with the
costs a catalog would give, so these tests do not depend on the catalog's code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from realtime.quota import MonthlyCaps, effective_token_cap, month_start, over_cap
from realtime.vocabulary import ErrorCode, EventType
from server.settings import Settings
from storage.repos import flushing as flush_repo
from storage.repos import sessions as session_repo
from storage.repos import usage as usage_repo
from storage.repos import users as user_repo
from tests.api.conftest import ClientFactory, NewTeacher, make_session, state_of
from tests.support.asgi_socket import AsgiSocket
from tests.support.settings import make_settings

#: TEACHER_MONTHLY_TOKEN_CAP here: far above what these tests spend, unless said.
SITE_TOKEN_CAP = 1_000_000


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url, teacher_monthly_token_cap=SITE_TOKEN_CAP)


async def me(client: httpx.AsyncClient) -> uuid.UUID:
    return uuid.UUID((await client.get("/api/me")).json()["id"])


async def spend(
    app: Starlette,
    owner: uuid.UUID,
    session_id: str | None,
    *,
    tokens: tuple[int, int] = (100, 20),
    micros: int | None = None,
    currency: str = "USD",
    when: datetime | None = None,
) -> None:
    """One provider call as the reply runner records it (``micros`` None: unpriced)."""
    fields: dict[str, Any] = {}
    if when is not None:
        fields["created_at"] = when
    async with state_of(app).db.session() as db:
        await usage_repo.record_call(
            db,
            owner,
            session_id=None if session_id is None else uuid.UUID(session_id),
            provider="anthropic",
            model="claude-sonnet-4-5",
            model_id="claude-sonnet",
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            duration_ms=5,
            outcome="ok",
            cost_micros=micros,
            currency=currency,
            **fields,
        )


async def set_own_caps(
    app: Starlette, owner: uuid.UUID, tokens: int | None, micros: int | None
) -> None:
    async with state_of(app).db.session() as db:
        user = await user_repo.get(db, owner)
        assert user is not None
        await user_repo.set_caps(db, user, token_cap=tokens, cost_micros_cap=micros)


async def test_usage_by_student_and_session_in_tokens_and_micros(
    app: Starlette, new_teacher: NewTeacher
) -> None:
    teacher = await new_teacher()
    other = await new_teacher()
    owner = await me(teacher)
    kim_1 = await make_session(teacher, student_name="Kim", student_email="kim@uni.example")
    kim_2 = await make_session(teacher, student_name="Kim", student_email="KIM@uni.example")
    lee = await make_session(teacher, student_name="Lee")
    await spend(app, owner, kim_1["id"], micros=1_500)
    await spend(app, owner, kim_1["id"], micros=None)  # no price: unknown, not free
    await spend(app, owner, kim_2["id"], tokens=(10, 5), micros=2_000_000)
    await spend(app, owner, lee["id"], tokens=(1, 1), micros=7, currency="EUR")
    await spend(app, owner, lee["id"], tokens=(1, 1), micros=3)
    await spend(app, owner, None, tokens=(4, 0), micros=None)  # a deleted session's call
    await spend(app, await me(other), None, micros=999)  # another teacher's: never counted
    last_month = month_start(datetime.now(UTC)) - timedelta(days=2)
    await spend(app, owner, lee["id"], micros=50, when=last_month)

    now = datetime.now(UTC)
    async with state_of(app).db.session() as db:
        rows = await usage_repo.summarize(
            db, owner, month_start(now), now + timedelta(seconds=1), "student"
        )
    by_key = {row.key: row for row in rows}
    assert set(by_key) == {"", "kim@uni.example", "Lee"}
    kim = by_key["kim@uni.example"]
    assert (kim.label, kim.calls, kim.input_tokens, kim.output_tokens) == ("Kim", 3, 210, 45)
    assert kim.cost_micros == {"USD": 2_001_500}
    assert (kim.unpriced_calls, kim.cost_complete) == (1, False)
    assert by_key["Lee"].cost_micros == {"EUR": 7, "USD": 3}
    assert by_key["Lee"].cost_complete
    orphan = by_key[""]
    assert (orphan.label, orphan.cost_micros, orphan.unpriced_calls) == ("(no session)", {}, 1)

    report = (await teacher.get("/api/usage?group_by=student")).json()
    assert [item["key"] for item in report["items"]] == ["Lee", "kim@uni.example", ""]
    kim_out = report["items"][1]
    assert kim_out["cost_micros"] == {"USD": 2_001_500}
    assert (kim_out["unpriced_calls"], kim_out["cost_complete"]) == (1, False)
    assert report["total"]["cost_micros"] == {"USD": 2_001_503, "EUR": 7}
    assert report["total"]["unpriced_calls"] == 2
    assert report["total"]["calls"] == 6 and not report["total"]["cost_complete"]
    # Kim 120 + 120 + 15, Lee 2 + 2, no session 4; last month's call is not this month's.
    assert report["month"]["tokens_used"] == report["total"]["total_tokens"] == 263
    assert report["month"]["cap"] == SITE_TOKEN_CAP
    assert report["month"]["cost_micros_cap"] is None and not report["month"]["cap_reached"]

    sessions = (await teacher.get("/api/usage?group_by=session")).json()["items"]
    assert {item["key"]: item["calls"] for item in sessions} == {
        "": 1,
        kim_1["id"]: 2,
        kim_2["id"]: 1,
        lee["id"]: 2,
    }
    only_unpriced = next(i for i in sessions if i["key"] == "")
    # Unpriced only: no cost at all, and flagged incomplete (a page shows "unknown").
    assert only_unpriced["cost_micros"] == {} and not only_unpriced["cost_complete"]
    bad = await teacher.get("/api/usage?group_by=teacher")
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {
        "group_by": "must be one of provider, model, session, student"
    }
    theirs = (await other.get("/api/usage?group_by=student")).json()
    assert theirs["total"]["cost_micros"] == {"USD": 999} and theirs["total"]["calls"] == 1


def test_caps_precedence_is_pure() -> None:
    assert effective_token_cap(None, 500) == 500
    assert effective_token_cap(10_000, 500) == 10_000  # their own wins, even when larger
    assert effective_token_cap(0, None) == 0
    assert effective_token_cap(None, None) is None
    caps = MonthlyCaps(tokens=100, cost_micros=1_000)
    assert not caps.reached(99, 999)
    assert caps.reached(100, 0) and caps.reached(0, 1_000)
    assert not MonthlyCaps(None, None).reached(10**12, 10**12)
    assert not MonthlyCaps(None, 5).reached(None, None)  # not measured: not reached
    assert MonthlyCaps(0, None).reached(0, None)  # a cap of 0 allows nothing


async def test_own_token_cap_wins_over_the_site_cap_and_money_caps_apply(
    app: Starlette, new_teacher: NewTeacher
) -> None:
    db = state_of(app).db
    owner = await me(await new_teacher())
    now = datetime.now(UTC)
    await spend(app, owner, None, tokens=(150, 0), micros=400)
    assert not await over_cap(db, owner, None, now)
    assert await over_cap(db, owner, 150, now)  # the site's cap alone
    await set_own_caps(app, owner, 10_000, None)
    assert not await over_cap(db, owner, 150, now)  # their own, larger, wins
    await set_own_caps(app, owner, 100, None)
    assert await over_cap(db, owner, 1_000_000, now)  # their own, smaller, wins
    await set_own_caps(app, owner, None, 500)
    assert not await over_cap(db, owner, None, now)  # 400 of 500 micros
    await spend(app, owner, None, tokens=(1, 0), micros=None)  # unpriced: adds nothing
    assert not await over_cap(db, owner, None, now)
    await spend(app, owner, None, tokens=(1, 0), micros=100, currency="EUR")
    assert await over_cap(db, owner, None, now)  # 500 micros: reached
    # Last month's spending does not count this month.
    assert not await over_cap(db, owner, None, now + timedelta(days=40))
    assert not await over_cap(db, uuid.uuid4(), 0, now)  # no such teacher: no cap


async def test_new_session_past_a_money_cap_is_429(app: Starlette, new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    owner = await me(teacher)
    await set_own_caps(app, owner, None, 2_000_000)  # 2 USD
    await spend(app, owner, None, micros=1_999_999)
    await make_session(teacher)  # just under: allowed
    await spend(app, owner, None, micros=1)
    profile = (await teacher.get("/api/profiles")).json()["items"][0]
    rubric = (await teacher.get("/api/rubrics")).json()["items"][0]
    refused = await teacher.post(
        "/api/sessions",
        json={
            "profile_id": profile["id"],
            "rubric_id": rubric["id"],
            "student_name": "Late",
            "time_limit_seconds": 600,
            "token_budget": 5000,
        },
    )
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "monthly_cap_reached" and "cost" in error["message"]
    assert int(refused.headers["retry-after"]) > 0
    usage = (await teacher.get("/api/usage")).json()["month"]
    assert usage["cost_micros"] == {"USD": 2_000_000}
    assert (usage["cost_micros_cap"], usage["cap_reached"]) == (2_000_000, True)
    assert usage["cap_currency"] == "USD"  # no catalog: the usage rows' default


async def test_the_socket_refuses_a_say_past_the_money_cap(
    app: Starlette, new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    """The cap is met before the socket's first say: a worker may remember a teacher's
    cap check for a few seconds (the say path's memo), so this never depends on a cap
    met between two says being seen at once."""
    teacher = await new_teacher()
    owner = await me(teacher)
    session = await make_session(teacher)
    assert (await teacher.post(f"/api/sessions/{session['id']}/start")).status_code == 200
    await set_own_caps(app, owner, None, 1_000)
    await spend(app, owner, session["id"], micros=1_000)
    student = make_client()
    joined = await student.get(session["join_url"].removeprefix("http://testserver"))
    assert joined.status_code == 303
    async with AsgiSocket(app, f"/ws/sessions/{session['id']}", cookies=student.cookies) as sock:
        assert (await sock.recv())["type"] == EventType.WELCOME
        await sock.send(type="say", text="Hello there.", client_id="c1")
        while (event := await sock.recv())["type"] != EventType.ERROR:
            assert event["type"] not in (EventType.MESSAGE, EventType.REPLY_START), event
        assert event["code"] == ErrorCode.MONTHLY_CAP_REACHED
        assert "monthly allowance" in event["message"]


async def test_a_reply_raises_the_sessions_token_count_and_never_lowers_it(
    app: Starlette, new_teacher: NewTeacher
) -> None:
    """``raise_tokens_used``, as the flusher (and a reply near a monthly cap) calls it
    with each reply's settled count: one UPDATE that keeps the larger count (replies may
    settle out of order), and a session that is gone skipped, not the others."""
    teacher = await new_teacher()
    session_id = uuid.UUID((await make_session(teacher))["id"])
    db = state_of(app).db

    async def tokens_after(count: int) -> int:
        async with db.session() as s:
            await flush_repo.raise_tokens_used(s, {session_id: count})
        async with db.session() as s:
            return (await session_repo.get_session_unscoped(s, session_id)).tokens_used

    assert await tokens_after(120) == 120
    assert await tokens_after(80) == 120
    assert await tokens_after(300) == 300
    async with db.session() as s:
        await flush_repo.raise_tokens_used(s, {uuid.uuid4(): 10, session_id: 450})
    async with db.session() as s:
        assert (await session_repo.get_session_unscoped(s, session_id)).tokens_used == 450
