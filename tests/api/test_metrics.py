"""``/metrics`` in process: a scripted say over the socket moves the counters, the output
parses as Prometheus text, only loopback callers or ``METRICS_TOKEN`` bearers see it, two
apps never share a count, and what the student said never reaches info-level logs."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from realtime.vocabulary import EventType
from server.app import create_app
from server.logging_setup import JsonFormatter
from server.metrics import Metrics
from server.settings import Settings
from tests.api.conftest import ClientFactory, NewTeacher, make_session
from tests.support.asgi_socket import AsgiSocket
from tests.support.settings import make_settings

SECRET_SAY = "my-unmistakable-secret-sentence-4711"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample by name and labels (parsing fails on malformed output)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_a_say_moves_the_counters_and_leaves_no_text_in_logs(
    app: Starlette,
    client: httpx.AsyncClient,
    make_client: ClientFactory,
    new_teacher: NewTeacher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    teacher = await new_teacher()
    session = await make_session(teacher)
    assert (await teacher.post(f"/api/sessions/{session['id']}/start")).status_code == 200
    student = make_client()
    joined = await student.get(session["join_url"].removeprefix("http://testserver"))
    assert joined.status_code == 303
    before = await scrape(client)
    assert before[("vclient_sockets", (("role", "student"),))] == 0
    caplog.set_level(logging.INFO)
    async with AsgiSocket(app, f"/ws/sessions/{session['id']}", cookies=student.cookies) as sock:
        assert (await sock.recv())["type"] == EventType.WELCOME
        during = await scrape(client)
        assert during[("vclient_sockets", (("role", "student"),))] == 1
        await sock.send(type="say", text=SECRET_SAY, client_id="c1")
        while (await sock.recv())["type"] not in (EventType.REPLY_DONE, EventType.REPLY_ERROR):
            pass
    after = await scrape(client)
    assert after[("vclient_frames_sent_total", ())] > 0
    assert after[("vclient_sockets", (("role", "student"),))] == 0
    assert after[("vclient_reply_time_to_first_token_seconds_count", ())] == 1
    assert after[("vclient_reply_duration_seconds_count", ())] == 1
    assert after[("vclient_sessions", (("state", "active"),))] == 1
    assert ("vclient_flush_pending_events", ()) in after
    formatter = JsonFormatter()
    for record in caplog.records:
        if record.levelno <= logging.INFO:
            assert SECRET_SAY not in formatter.format(record)
            assert "/join/" + session["join_url"].rsplit("/", 1)[-1] not in record.getMessage()


async def test_metrics_are_for_loopback_or_the_token_holder(
    make_client: ClientFactory, settings: Settings
) -> None:
    outside = make_client("203.0.113.7")
    assert (await outside.get("/metrics")).status_code == 404
    assert (await make_client("::1").get("/metrics")).status_code == 200
    guarded = create_app(settings.model_copy(update={"metrics_token": "scrape-me"}))
    transport = httpx.ASGITransport(app=guarded, client=("203.0.113.7", 50000))
    async with (
        guarded.router.lifespan_context(guarded),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as remote,
    ):
        assert (await remote.get("/metrics")).status_code == 404
        wrong = {"authorization": "Bearer nope"}
        assert (await remote.get("/metrics", headers=wrong)).status_code == 404
        right = {"authorization": "Bearer scrape-me"}
        response = await remote.get("/metrics", headers=right)
        assert response.status_code == 200
        assert "x-request-id" in response.headers


async def test_two_apps_count_apart(tmp_path: Path) -> None:
    first = create_app(make_settings(tmp_path / "a"))
    second = create_app(make_settings(tmp_path / "b"))
    one, two = first.state.metrics, second.state.metrics
    assert isinstance(one, Metrics) and isinstance(two, Metrics)
    one.frame_sent()
    assert one.registry.get_sample_value("vclient_frames_sent_total") == 1
    assert two.registry.get_sample_value("vclient_frames_sent_total") == 0


async def test_pool_waits_are_reported_for_postgresql_and_redis(
    tmp_path: Path, postgres_url: str, redis_url: str, redis_prefix: str
) -> None:
    app = create_app(
        make_settings(tmp_path, postgres_url, redis_url=redis_url, redis_key_prefix=redis_prefix)
    )
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        assert (await client.get("/readyz")).status_code == 200  # uses both pools
        seen = await scrape(client)
    for pool in ("sql", "redis"):
        assert seen[("vclient_pool_wait_seconds_count", (("pool", pool),))] > 0
        assert seen[("vclient_pool_wait_seconds_bucket", (("le", "+Inf"), ("pool", pool)))] > 0
        assert seen[("vclient_pool_wait_timeouts_total", (("pool", pool),))] == 0


async def test_pool_waits_are_left_out_without_a_pool(client: httpx.AsyncClient) -> None:
    seen = await scrape(client)  # in-process: no Redis pool; SQL (SQLite too): pooled
    pools = {dict(labels)["pool"] for name, labels in seen if name.startswith("vclient_pool_wait")}
    assert pools == {"sql"}
