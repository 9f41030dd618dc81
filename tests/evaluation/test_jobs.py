"""The evaluation job against SQLite and PostgreSQL with the automatic grader: queued
when a session ends (exactly once per end), claimed by one worker, a dead worker's claim
taken over after the lease, and the migration that holds it all."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from evaluation.jobs import EvaluationJobs, JobPolicy
from realtime.control import SessionControl
from realtime.lifecycle import SessionAction
from storage.db import Database, make_engine
from storage.migrate import alembic_config, current_revision, upgrade
from storage.models import Base
from storage.repos import evaluations as evaluation_repo
from tests.evaluation.jobs_support import (
    T0,
    end,
    evaluation_of,
    seed_session,
    tokens_used,
    usage_rows,
)

POLICY = JobPolicy(lease_seconds=120.0, job_seconds=100.0, max_attempts=3)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def wired(
    db: Database, clock: Clock | None = None, worker: str = "w1"
) -> tuple[SessionControl, EvaluationJobs]:
    control = SessionControl(db)
    jobs = EvaluationJobs(db, POLICY, now=clock or Clock(T0), worker=worker)
    control.after_transition.append(jobs.session_ended)
    return control, jobs


async def test_an_ended_session_is_evaluated_once(database: Database) -> None:
    seeded = await seed_session(database)
    control, jobs = wired(database)

    ended = await end(control, seeded.session_id)

    queued = await evaluation_of(database, seeded.session_id)
    assert (queued.status, queued.attempts, queued.result) == ("pending", 0, None)
    assert queued.session_ended_at == ended.ended_at
    assert await jobs.run_once() is True
    assert await jobs.run_once() is False, "nothing left: one run per end"

    row = await evaluation_of(database, seeded.session_id)
    assert (row.status, row.grader, row.attempts, row.error) == ("done", "automatic", 1, None)
    assert (row.claimed_at, row.claimed_by) == (None, None)
    assert row.result is not None
    assert [c["name"] for c in row.result["criteria"]] == ["Empathy", "Open questions"]
    assert {c["automatic_score"] for c in row.result["criteria"]} <= {0, 1, 2, 3}
    assert "score" not in row.result["criteria"][0], "the review is merged in when served"
    assert row.result["metrics"]["open_question_share"]["value"] is not None
    # Disclosures come from the client-state audit rows: fact 0 at 9, fact 2 at 13.
    assert [c["disclosed_seq"] for c in row.result["coverage"]] == [9, None, 13, None]
    assert [c["name"] for c in row.rubric] == ["Empathy", "Open questions"]
    # No model was asked: nothing charged to the teacher, and never to the session.
    assert await usage_rows(database, seeded.teacher_id) == []
    assert await tokens_used(database, seeded.session_id) == 1234


async def test_the_same_end_twice_queues_one_evaluation(database: Database) -> None:
    seeded = await seed_session(database)
    control, jobs = wired(database)
    ended = await end(control, seeded.session_id)
    before = await evaluation_of(database, seeded.session_id)

    await jobs.session_ended(ended, SessionAction.END, "teacher")  # a replayed hook
    await jobs.sweep(force=True)  # and the sweep that finds ended sessions

    again = await evaluation_of(database, seeded.session_id)
    assert (again.id, again.version, again.status) == (before.id, before.version, "pending")


async def test_racing_workers_run_it_exactly_once(database: Database) -> None:
    seeded = await seed_session(database)
    control, first = wired(database, worker="w1")
    second = EvaluationJobs(database, POLICY, now=Clock(T0), worker="w2")
    await end(control, seeded.session_id)

    results = await asyncio.gather(first.run_once(), second.run_once())

    assert sorted(results) == [False, True]
    row = await evaluation_of(database, seeded.session_id)
    assert (row.status, row.attempts) == ("done", 1)


async def test_a_dead_workers_claim_is_taken_over_after_the_lease(database: Database) -> None:
    seeded = await seed_session(database)
    clock = Clock(T0)
    control, survivor = wired(database, clock, worker="survivor")
    await end(control, seeded.session_id)
    async with database.session() as s:  # a worker claims it, then dies mid-run
        dead = await evaluation_repo.claim_next(
            s, T0, lease_seconds=120, worker="dead", max_attempts=3
        )
    assert dead is not None
    running = await evaluation_of(database, seeded.session_id)
    assert (running.status, running.claimed_by, running.attempts) == ("running", "dead", 1)

    clock.at = T0 + timedelta(seconds=119)
    assert await survivor.run_once() is False, "a live claim is left alone"
    clock.at = T0 + timedelta(seconds=121)
    assert await survivor.run_once() is True

    row = await evaluation_of(database, seeded.session_id)
    assert (row.status, row.attempts) == ("done", 2)
    async with database.session() as s:  # the dead worker's late answer is dropped
        late = await evaluation_repo.finish(
            s, dead, T0, status="failed", grader="automatic", result=None, rubric=[], error="x"
        )
    assert late is False
    assert (await evaluation_of(database, seeded.session_id)).status == "done"


async def test_a_claim_that_keeps_dying_is_failed(database: Database) -> None:
    seeded = await seed_session(database)
    control, _ = wired(database)
    await end(control, seeded.session_id)
    at = T0
    for _ in range(POLICY.max_attempts):
        async with database.session() as s:
            assert await evaluation_repo.claim_next(
                s, at, lease_seconds=120, worker="dying", max_attempts=3
            )
        at += timedelta(seconds=121)

    async with database.session() as s:
        claim = await evaluation_repo.claim_next(
            s, at, lease_seconds=120, worker="next", max_attempts=3
        )

    assert claim is None
    row = await evaluation_of(database, seeded.session_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error and "gave up after 3 attempts" in row.error


async def test_a_session_reopened_and_ended_again_is_evaluated_again(database: Database) -> None:
    seeded = await seed_session(database)
    control, jobs = wired(database)
    await control.transition(seeded.session_id, SessionAction.EXPIRE, actor="w", reason="time")
    await jobs.run_once()
    first = await evaluation_of(database, seeded.session_id)
    assert first.status == "done"
    async with database.session() as s:
        row = await evaluation_repo.get(s, seeded.teacher_id, seeded.session_id)
        row.overrides = {"Empathy": {"score": 3, "comment": "Good", "by": "t", "at": "x"}}
        row.released_at = T0

    await control.transition(
        seeded.session_id, SessionAction.EXTEND, actor="t", add_seconds=60, add_tokens=0
    )
    assert (await evaluation_of(database, seeded.session_id)).status == "done"
    await end(control, seeded.session_id)

    again = await evaluation_of(database, seeded.session_id)
    assert (again.id, again.status, again.result, again.released_at) == (
        first.id,
        "pending",
        None,
        None,
    )
    assert again.overrides["Empathy"]["score"] == 3, "the teacher's review is kept"
    assert await jobs.run_once() is True
    assert (await evaluation_of(database, seeded.session_id)).status == "done"


async def test_the_sweep_queues_a_session_whose_hook_never_ran(database: Database) -> None:
    seeded = await seed_session(database)
    await end(SessionControl(database), seeded.session_id)  # no hook: its process "died"
    jobs = EvaluationJobs(database, POLICY, worker="w")

    assert await jobs.run_once() is False
    await jobs.sweep(force=True)

    assert await jobs.run_once() is True
    assert (await evaluation_of(database, seeded.session_id)).status == "done"


async def test_an_empty_session_gets_the_automatic_evaluation(database: Database) -> None:
    seeded = await seed_session(database, with_turns=False, status="created")
    control, jobs = wired(database)
    await end(control, seeded.session_id)

    assert await jobs.run_once() is True

    row = await evaluation_of(database, seeded.session_id)
    assert (row.status, row.grader) == ("done", "automatic")
    assert row.result is not None and len(row.result["criteria"]) == 2


# -- the migration ---------------------------------------------------------------------------


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def _tables_and_columns(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            columns: set[str] = set()
            if "evaluations" in tables:
                columns = await conn.run_sync(
                    lambda c: {col["name"] for col in inspect(c).get_columns("evaluations")}
                )
            return tables, columns
    finally:
        await engine.dispose()


async def test_0004_creates_and_drops_the_evaluations_table(empty_database_url: str) -> None:
    await upgrade(empty_database_url, "0003")
    assert "evaluations" not in (await _tables_and_columns(empty_database_url))[0]

    await upgrade(empty_database_url, "0004")
    assert await current_revision(empty_database_url) == "0004"
    _, columns = await _tables_and_columns(empty_database_url)
    assert columns == set(Base.metadata.tables["evaluations"].columns.keys())

    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade, "0003")
    finally:
        await engine.dispose()
    assert await current_revision(empty_database_url) == "0003"
    assert "evaluations" not in (await _tables_and_columns(empty_database_url))[0]
    await upgrade(empty_database_url)
    assert "evaluations" in (await _tables_and_columns(empty_database_url))[0]
