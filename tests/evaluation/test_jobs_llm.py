"""The evaluation job with an LLM grader, against the local fake Anthropic and
OpenAI-compatible servers (real SDK and HTTP code) and SQLite and PostgreSQL: a valid
answer, a refused one retried once, a provider failure, usage charged to the teacher
and never to the session, and a session's end that never waits for grading."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from evaluation.jobs import EvaluationJobs, JobPolicy, LLMGrader
from llm.catalog import parse_catalog
from llm.completion import make_completer
from llm.retry import RetryPolicy
from realtime.control import SessionControl
from storage.db import Database
from storage.models import Session
from storage.repos import evaluations as evaluation_repo
from tests.evaluation.jobs_support import (
    end,
    evaluation_of,
    grader_answer,
    seed_session,
    tokens_used,
    usage_rows,
)
from tests.llm.fake_anthropic import FakeAnthropic
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.llm_fake_http import FakeApp, HttpError, Reply, serving

# Seconds a test waits for something that happens within milliseconds.
EVENT_TIMEOUT = 5.0


@dataclass
class Grading:
    kind: str
    fake: FakeApp
    grader: LLMGrader


async def _no_sleep(_seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture(params=["anthropic", "openai"])
async def grading(request: pytest.FixtureRequest) -> AsyncIterator[Grading]:
    kind: str = request.param
    fake: FakeApp = FakeAnthropic() if kind == "anthropic" else FakeOpenAI()
    async with serving(fake) as url:
        if kind == "anthropic":
            completer = make_completer("anthropic", anthropic_api_key="k", anthropic_base_url=url)
        else:
            completer = make_completer("openai", openai_base_url=url + "/v1")
        grader = LLMGrader(completer, "grader-model", 900, RetryPolicy(max_retries=1))
        try:
            yield Grading(kind, fake, grader)
        finally:
            await completer.aclose()


def answer(text: str, input_tokens: int = 500) -> Reply:
    """The grader's answer in three chunks, with 3 output tokens."""
    third = len(text) // 3
    chunks = (text[:third], text[third : 2 * third], text[2 * third :])
    return Reply(chunks=chunks, input_tokens=input_tokens)


def wired(
    db: Database, grading: Grading, policy: JobPolicy | None = None
) -> tuple[SessionControl, EvaluationJobs]:
    control = SessionControl(db)
    jobs = EvaluationJobs(db, policy, grading.grader, sleep=_no_sleep, worker="w")
    control.after_transition.append(jobs.session_ended)
    return control, jobs


def messages_sent(grading: Grading, index: int) -> tuple[str, list[dict[str, str]]]:
    body = grading.fake.requests[index].body
    if grading.kind == "anthropic":
        return body["system"], body["messages"]
    return body["messages"][0]["content"], body["messages"][1:]


async def test_a_valid_answer_is_stored_and_charged_to_the_teacher(
    database: Database, grading: Grading
) -> None:
    seeded = await seed_session(database)
    grading.fake.script = [answer(grader_answer(empathy=2), input_tokens=700)]
    control, jobs = wired(database, grading)
    await end(control, seeded.session_id)

    assert await jobs.run_once() is True

    row = await evaluation_of(database, seeded.session_id)
    assert (row.status, row.grader, row.error) == ("done", "llm", None)
    assert row.result is not None
    assert [(c["name"], c["automatic_score"]) for c in row.result["criteria"]] == [
        ("Empathy", 2),
        ("Open questions", 0),  # the rubric's spelling, not the model's
    ]
    assert row.result["criteria"][1]["evidence"] == [{"seq": 4, "quote": "Do you feel sad?"}]
    assert row.result["alternatives"][0]["text"] == "What has this been like for you?"
    assert row.result["metrics"]["open_question_share"]["value"] is not None
    system, messages = messages_sent(grading, 0)
    assert "Answer with one JSON object" in system
    assert [m["role"] for m in messages] == ["user"]
    assert "[12] Student: It sounds like losing your dad" in messages[0]["content"]
    assert grading.fake.requests[0].body["model"] == "grader-model"
    [usage] = await usage_rows(database, seeded.teacher_id)
    assert (usage.session_id, usage.provider, usage.model, usage.outcome) == (
        seeded.session_id,
        grading.kind,
        "grader-model",
        "ok",
    )
    assert (usage.input_tokens, usage.output_tokens) == (700, 3)
    assert await tokens_used(database, seeded.session_id) == 1234, "never the session's"


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        ("Sure! Here is my assessment: it went well.", "not valid JSON"),
        (grader_answer(evidence_seq=99), "evidence seq 99 is not a turn"),
    ],
    ids=["not-json", "unknown-evidence-seq"],
)
async def test_a_refused_answer_is_asked_for_once_more(
    database: Database, grading: Grading, first: str, reason: str
) -> None:
    seeded = await seed_session(database)
    grading.fake.script = [answer(first), answer(grader_answer(empathy=3))]
    control, jobs = wired(database, grading)
    await end(control, seeded.session_id)

    assert await jobs.run_once() is True

    row = await evaluation_of(database, seeded.session_id)
    assert (row.status, row.grader) == ("done", "llm")
    assert row.result is not None and row.result["criteria"][0]["automatic_score"] == 3
    assert len(grading.fake.requests) == 2
    _, retried = messages_sent(grading, 1)
    assert [m["role"] for m in retried] == ["user", "assistant", "user"]
    assert retried[1]["content"] == first
    assert "could not be used" in retried[2]["content"] and reason in retried[2]["content"]
    assert len(await usage_rows(database, seeded.teacher_id)) == 2


async def test_refused_twice_fails_and_keeps_the_automatic_result(
    database: Database, grading: Grading
) -> None:
    seeded = await seed_session(database)
    grading.fake.script = [answer(grader_answer(evidence_seq=99))]
    control, jobs = wired(database, grading)
    await end(control, seeded.session_id)

    assert await jobs.run_once() is True

    row = await evaluation_of(database, seeded.session_id)
    assert row.status == "failed"
    assert row.error and "refused twice" in row.error and "seq 99" in row.error
    assert row.result is not None and row.result["grader"] == "automatic"
    assert [c["name"] for c in row.result["criteria"]] == ["Empathy", "Open questions"]
    assert "open_question_share" in row.result["metrics"]
    assert len(grading.fake.requests) == 2, "one retry, no more"


async def test_a_provider_failure_fails_it_and_asking_again_works(
    database: Database, grading: Grading
) -> None:
    seeded = await seed_session(database)
    grading.fake.script = [HttpError(400, "invalid_request_error", "prompt is too long")]
    control, jobs = wired(database, grading)
    await end(control, seeded.session_id)

    assert await jobs.run_once() is True

    row = await evaluation_of(database, seeded.session_id)
    assert row.status == "failed"
    assert row.error and "bad_request" in row.error and "prompt is too long" in row.error
    assert row.result is not None and row.result["grader"] == "automatic"
    [usage] = await usage_rows(database, seeded.teacher_id)
    assert (usage.outcome, usage.input_tokens, usage.output_tokens) == ("failed", 0, 0)

    grading.fake.script = [*grading.fake.script, answer(grader_answer())]
    async with database.session() as s:
        session = await s.get(Session, row.session_id)
        assert session is not None
        again = await evaluation_repo.request_again(s, seeded.teacher_id, session, row.updated_at)
    assert (again.status, again.error, again.attempts) == ("pending", None, 0)
    assert await jobs.run_once() is True
    done = await evaluation_of(database, seeded.session_id)
    assert (done.status, done.grader, done.attempts) == ("done", "llm", 1)


@pytest.mark.timing
async def test_the_end_never_waits_for_the_grader(database: Database, grading: Grading) -> None:
    seeded = await seed_session(database)
    grading.fake.script = [Reply(chunks=('{"criteria": [',), hang=True)]
    control, jobs = wired(database, grading, JobPolicy(job_seconds=1.0, lease_seconds=120))
    stop = asyncio.Event()

    async with asyncio.TaskGroup() as group:
        group.create_task(jobs.run(stop))
        started = time.monotonic()
        await end(control, seeded.session_id)
        ended_in = time.monotonic() - started
        await asyncio.wait_for(grading.fake.streaming.wait(), EVENT_TIMEOUT)  # grading now
        stop.set()  # the job in hand runs into its 1 s limit, is given back, the loop ends

    assert ended_in < 1.0
    row = await evaluation_of(database, seeded.session_id)
    assert (row.status, row.attempts, row.claimed_by) == ("pending", 1, None)
    assert row.error and "TimeoutError" in row.error
    assert grading.fake.client_closed.is_set(), "the hung grader call was closed"


async def test_a_grader_call_is_priced_by_the_catalog_entry_of_its_model(
    database: Database, grading: Grading
) -> None:
    catalog = parse_catalog(
        f"""
currency = "EUR"
[[models]]
id = "grader"
name = "Grader"
provider = "{grading.kind}"
model = "grader-model"
base_url = "http://127.0.0.1:1/v1"
api_key_env = "UNUSED"
context_window = 100000
max_reply_tokens = 400
input_price_per_mtok = 3.0
output_price_per_mtok = 15.0
"""
    )
    grading.grader = dataclasses.replace(grading.grader, catalog=catalog)
    seeded = await seed_session(database)
    grading.fake.script = [answer(grader_answer(empathy=2), input_tokens=700)]
    control, jobs = wired(database, grading)
    await end(control, seeded.session_id)

    assert await jobs.run_once() is True

    [usage] = await usage_rows(database, seeded.teacher_id)
    # 700 x 3.0 + 3 x 15.0 = 2,145 millionths of a euro.
    assert (usage.model_id, usage.cost_micros, usage.currency) == ("grader", 2_145, "EUR")
