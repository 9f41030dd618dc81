"""Money: provider faults (issue 16). The real Anthropic SDK and our OpenAI-compatible client
against local servers speaking their wire formats, behind an in-process app on the Redis
backend (SQLite and PostgreSQL). Each fault ends in a clear state for the student (one
``reply.done`` or ``reply.error`` with a code, never two ends, never text twice), the
session stays usable, and the budget is settled: nothing left reserved in Redis, and the
charge is what the provider reported, or, when the final usage never came, the most the
call could have cost (the reported input plus ``REPLY_MAX_TOKENS``), never zero.
A spend-limit 429 is never retried."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from realtime.budgets.redis_store import RedisBudgetStore
from server.settings import Settings
from tests.api.conftest import ClientFactory, NewTeacher, make_session
from tests.hardening.money_fakes import (
    Broken,
    FaultyUpstream,
    Kind,
    RateLimited,
    SpendLimit,
    Step,
)
from tests.llm.llm_fake_http import HttpError, Reply, serving
from tests.support.asgi_socket import AsgiSocket
from tests.support.polling import polled
from tests.support.settings import make_settings

REPLY_MAX_TOKENS = 400
RETRIES = 2
#: The stalled stream's end: the provider's read timeout.
READ_TIMEOUT = 1.5
BUDGET = 50_000


@dataclass(frozen=True)
class Fault:
    name: str
    steps: tuple[Step, ...]
    end: str  # "done" or the reply.error code
    text: str
    charge: int  # tokens the settle must charge
    requests: int  # upstream calls (retries included)


UNKNOWN_USAGE = 50 + REPLY_MAX_TOKENS  # reported input + the most the reply could be
FAULTS = [
    Fault("529 before the stream", (HttpError(529, "overloaded_error"),), "unavailable", "", 0, 3),
    Fault(
        "429 with retry-after",
        (RateLimited(1), Reply(chunks=("Fine.",), input_tokens=60, output_tokens=2)),
        "done",
        "Fine.",
        62,
        2,
    ),
    Fault(
        "overloaded mid-stream",
        (Reply(chunks=("I ", "was "), input_tokens=50, error_after="overloaded_error"),),
        "interrupted",
        "I was ",
        UNKNOWN_USAGE,
        1,
    ),
    Fault("connection reset", (Broken("reset"),), "interrupted", "I was saying ", UNKNOWN_USAGE, 1),
    Fault("stalled stream", (Broken("stall"),), "interrupted", "I was saying ", UNKNOWN_USAGE, 1),
    Fault(
        "no final event", (Broken("truncated"),), "interrupted", "I was saying ", UNKNOWN_USAGE, 1
    ),
    Fault("unknown event types", (Broken("unknown"),), "done", "I was saying ", 53, 1),
    Fault("429 spend limit", (SpendLimit(),), "spend_limit", "", 0, 1),
]


@pytest.fixture(params=["anthropic", "openai"])
async def upstream(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FaultyUpstream, str]]:
    kind: Kind = request.param
    fake = FaultyUpstream(kind)
    async with serving(fake) as url:  # type: ignore[arg-type]  # any ASGI app serves
        yield fake, url


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    redis_prefix: str,
    upstream: tuple[FaultyUpstream, str],
) -> Settings:
    fake, url = upstream
    return make_settings(
        tmp_path,
        database_url,
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
        llm_provider=fake.kind,
        llm_model=f"{fake.kind}-test",
        anthropic_api_key="sk-test-not-real",
        anthropic_base_url=url,
        openai_api_key="sk-test-not-real",
        openai_base_url=url + "/v1",
        llm_timeout_seconds=READ_TIMEOUT,
        llm_max_retries=RETRIES,
        reply_max_tokens=REPLY_MAX_TOKENS,
        say_rate_count=1000,
    )


async def joined_student(
    teacher: httpx.AsyncClient, make_client: ClientFactory
) -> tuple[str, httpx.AsyncClient]:
    session = await make_session(teacher, token_budget=BUDGET)
    assert (await teacher.post(f"/api/sessions/{session['id']}/start")).status_code == 200
    student = make_client()
    joined = await student.get(session["join_url"].removeprefix("http://testserver"))
    assert joined.status_code == 303
    return str(session["id"]), student


@dataclass
class Turn:
    hold: int  # tokens reserved while the reply ran
    start: dict[str, Any]
    deltas: list[dict[str, Any]]
    ends: list[dict[str, Any]]
    seconds: float


async def say(sock: AsgiSocket, text: str, store: RedisBudgetStore, sid: str) -> Turn:
    """Say ``text`` and collect the reply up to the budget tick after its end."""
    began = time.monotonic()
    await sock.send(type="say", text=text, client_id=uuid.uuid4().hex)
    start: dict[str, Any] | None = None
    hold = 0
    deltas: list[dict[str, Any]] = []
    ends: list[dict[str, Any]] = []
    while True:
        event = await sock.recv(within=20)
        kind = event["type"]
        assert kind != "error", event
        if kind == "reply.start":
            assert start is None, "a second reply started for one say"
            start = event
            hold = (await store.snapshot(sid)).reserved
        elif kind == "reply.delta":
            deltas.append(event)
        elif kind in ("reply.done", "reply.error"):
            ends.append(event)
        elif kind == "budget" and ends:
            assert start is not None
            return Turn(hold, start, deltas, ends, time.monotonic() - began)


async def sql_caught_up(
    teacher: httpx.AsyncClient, sid: str, used: int, within: float = 10.0
) -> dict[str, Any]:
    """The session once SQL's token count equals ``used`` (the flusher stores the reply's
    ``reply.usage`` within about 0.25 s, so SQL trails the live counter by a moment)."""

    async def read() -> dict[str, Any]:
        session: dict[str, Any] = (await teacher.get(f"/api/sessions/{sid}")).json()
        return session

    session = await polled(read, lambda session: session["tokens_used"] == used, within)
    assert session["tokens_used"] == used, (session["tokens_used"], used)
    return session


async def used_so_far(store: RedisBudgetStore, sid: str) -> int:
    try:
        return (await store.snapshot(sid)).used
    except KeyError:  # no say yet: the ledger is made by the first one
        return 0


async def test_every_provider_fault_ends_clearly_and_settles_the_budget(
    app: Starlette,
    new_teacher: NewTeacher,
    make_client: ClientFactory,
    upstream: tuple[FaultyUpstream, str],
    redis_url: str,
    redis_prefix: str,
) -> None:
    fake, _ = upstream
    teacher = await new_teacher()
    sid, student = await joined_student(teacher, make_client)
    redis = Redis.from_url(redis_url)
    store = RedisBudgetStore(redis, redis_prefix)
    figures: list[str] = []
    try:
        async with AsgiSocket(app, f"/ws/sessions/{sid}", cookies=student.cookies) as sock:
            assert (await sock.recv())["type"] == "welcome"
            for fault in FAULTS:
                fake.play(*fault.steps)
                before = await used_so_far(store, sid)
                turn = await say(sock, f"Tell me about it ({fault.name}).", store, sid)
                after = await store.snapshot(sid)
                (end,) = turn.ends  # exactly one end: no duplicated reply
                assert end["reply_id"] == turn.start["reply_id"], fault.name
                assert all(d["reply_id"] == end["reply_id"] for d in turn.deltas)
                streamed = "".join(d["text"] for d in turn.deltas)
                assert streamed == end.get("text", "") == fault.text, fault.name
                if fault.end == "done":
                    assert end["type"] == "reply.done" and not end["stopped"], (fault.name, end)
                else:
                    assert end["type"] == "reply.error", (fault.name, end)
                    assert (end["code"], bool(end["message"])) == (fault.end, True), fault.name
                assert len(fake.requests) == fault.requests, fault.name
                assert after.reserved == 0, fault.name
                charged = after.used - before
                if fault.charge == UNKNOWN_USAGE:
                    # The most the call could cost: the reported (Anthropic) or estimated
                    # (OpenAI) input plus max_tokens, capped at the hold.
                    assert min(UNKNOWN_USAGE, turn.hold) <= charged <= turn.hold, (
                        fault.name,
                        charged,
                        turn.hold,
                    )
                    if fake.kind == "anthropic":
                        assert charged == UNKNOWN_USAGE, fault.name
                else:
                    assert charged == fault.charge, (fault.name, charged)
                figures.append(
                    f"{fault.name}: {end['type']} {end.get('code', '')} in "
                    f"{turn.seconds:.2f} s, {len(fake.requests)} call(s), {charged} tokens "
                    f"(hold {turn.hold})"
                )
            # The session still works after all that.
            fake.play(Reply(chunks=("Still ", "here."), input_tokens=40, output_tokens=2))
            last = await say(sock, "Are you still there?", store, sid)
            assert last.ends[0]["type"] == "reply.done"
        final = await store.snapshot(sid)
        assert final.reserved == 0
        session = await sql_caught_up(teacher, sid, final.used)
        assert session["status"] == "active"
    finally:
        await redis.aclose()
    print(f"HARDENING provider faults ({fake.kind}): " + "; ".join(figures))
