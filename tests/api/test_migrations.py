"""Migrations on SQLite and PostgreSQL: from an empty database, and 0003 turning old
string hidden facts into structured ones (and back)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from realtime.transcript import persona_of
from server.profile_schemas import ProfileOut
from storage.db import make_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.models import Base, ClientProfile
from storage.types import UTCDateTime, utcnow


async def test_upgrade_from_empty_creates_every_table(empty_database_url: str) -> None:
    assert await current_revision(empty_database_url) is None
    await upgrade(empty_database_url)
    await upgrade(empty_database_url)  # idempotent
    assert await current_revision(empty_database_url) == head_revision()
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            columns = await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("sessions")}
            )
    finally:
        await engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert set(Base.metadata.tables["sessions"].columns.keys()) == columns


OLD_FACTS = ["Lost their job.", "Drinks most nights.", "Father died.", "Owes money."]


def _at_0002() -> dict[str, sa.Table]:
    """The tables this test writes, as they stand at revision 0002 (not today's models)."""
    meta = sa.MetaData()
    column = sa.Column
    users = sa.Table(
        "users",
        meta,
        column("id", sa.Uuid()),
        column("email", sa.String()),
        column("name", sa.String()),
        column("role", sa.String()),
        column("password_hash", sa.String()),
        column("created_at", UTCDateTime()),
    )
    profiles = sa.Table(
        "client_profiles",
        meta,
        *(column(name, sa.Text()) for name in PROFILE_TEXTS),
        column("id", sa.Uuid()),
        column("owner_id", sa.Uuid()),
        column("age", sa.Integer()),
        column("hidden_facts", sa.JSON()),
        column("difficulty", sa.Integer()),
        column("created_at", UTCDateTime()),
        column("updated_at", UTCDateTime()),
    )
    rubrics = sa.Table(
        "rubrics",
        meta,
        *(column(name, sa.Text()) for name in ("name", "description")),
        column("id", sa.Uuid()),
        column("owner_id", sa.Uuid()),
        column("created_at", UTCDateTime()),
        column("updated_at", UTCDateTime()),
    )
    sessions = sa.Table(
        "sessions",
        meta,
        *(column(name, sa.Uuid()) for name in ("id", "owner_id", "profile_id", "rubric_id")),
        *(column(name, sa.Text()) for name in ("student_name", "instructions", "status")),
        *(column(name, sa.Integer()) for name in ("time_limit_seconds", "token_budget")),
        *(column(name, sa.Integer()) for name in ("version", "tokens_used")),
        column("join_nonce", sa.String()),
        column("active_seconds", sa.Float()),
        column("created_at", UTCDateTime()),
    )
    return {"users": users, "profiles": profiles, "rubrics": rubrics, "sessions": sessions}


PROFILE_TEXTS = (
    "name",
    "pronouns",
    "background",
    "presenting_problem",
    "personality",
    "communication_style",
    "goals",
    "opening_line",
)


async def _seed_0002(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A teacher with two profiles of old string facts (four and none), one of them used
    by a session, so the migration runs under real foreign keys."""
    tables = _at_0002()
    now = utcnow()
    teacher, rubric = uuid.uuid4(), uuid.uuid4()
    with_facts, without = uuid.uuid4(), uuid.uuid4()
    texts = dict.fromkeys(PROFILE_TEXTS, "")
    profile_rows = [
        {**texts, "id": pid, "owner_id": teacher, "name": name, "age": None}
        | {"hidden_facts": facts, "difficulty": 3, "created_at": now, "updated_at": now}
        for pid, name, facts in [(with_facts, "Sam", OLD_FACTS), (without, "Kim", [])]
    ]
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(tables["users"]).values(
                    id=teacher,
                    email="old@school.example",
                    name="Old",
                    role="teacher",
                    password_hash="x",
                    created_at=now,
                )
            )
            await conn.execute(sa.insert(tables["profiles"]), profile_rows)
            await conn.execute(
                sa.insert(tables["rubrics"]).values(
                    id=rubric,
                    owner_id=teacher,
                    name="R",
                    description="",
                    created_at=now,
                    updated_at=now,
                )
            )
            await conn.execute(
                sa.insert(tables["sessions"]).values(
                    id=uuid.uuid4(),
                    owner_id=teacher,
                    profile_id=with_facts,
                    rubric_id=rubric,
                    student_name="S",
                    instructions="",
                    status="created",
                    time_limit_seconds=600,
                    token_budget=5000,
                    version=1,
                    tokens_used=0,
                    join_nonce="n",
                    active_seconds=0.0,
                    created_at=now,
                )
            )
    finally:
        await engine.dispose()
    return with_facts, without


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def _downgrade_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade, revision)
    finally:
        await engine.dispose()


async def _profiles(url: str) -> dict[uuid.UUID, ClientProfile]:
    engine = make_engine(url)
    try:
        async with AsyncSession(engine) as session:
            rows = (await session.execute(sa.select(ClientProfile))).scalars()
            return {row.id: row for row in rows}
    finally:
        await engine.dispose()


async def _raw_facts(url: str) -> dict[uuid.UUID, Any]:
    engine = make_engine(url)
    profiles = _at_0002()["profiles"]
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sa.select(profiles.c.id, profiles.c.hidden_facts))
            return {row.id: row.hidden_facts for row in rows}
    finally:
        await engine.dispose()


async def _profile_columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("client_profiles")}
            )
    finally:
        await engine.dispose()


async def test_0003_structures_old_string_facts_and_downgrades(empty_database_url: str) -> None:
    await upgrade(empty_database_url, "0002")
    with_facts, without = await _seed_0002(empty_database_url)

    await upgrade(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()
    stored = await _profiles(empty_database_url)
    sam, kim = stored[with_facts], stored[without]
    # Four facts: trust 30 + 50 * i // 3, the old order kept.
    assert sam.hidden_facts == [
        {"fact": text, "disclosure": "", "topics": [], "trust_needed": trust}
        for text, trust in zip(OLD_FACTS, [30, 46, 63, 80], strict=True)
    ]
    assert (sam.style, sam.avoid, kim.hidden_facts, kim.style, kim.avoid) == (
        "plain",
        [],
        [],
        "plain",
        [],
    )
    # The API reads a migrated profile as any other, and the client gets every fact.
    out = ProfileOut.model_validate(sam).model_dump(mode="json")
    assert [f["trust_needed"] for f in out["hidden_facts"]] == [30, 46, 63, 80]
    persona = persona_of(sam, "")
    assert [f.fact for f in persona.hidden_facts] == OLD_FACTS
    assert persona.style == "plain" and persona.avoid == ()

    await _downgrade_to(empty_database_url, "0002")
    assert await current_revision(empty_database_url) == "0002"
    assert {"style", "avoid"}.isdisjoint(await _profile_columns(empty_database_url))
    assert await _raw_facts(empty_database_url) == {with_facts: OLD_FACTS, without: []}

    await upgrade(empty_database_url)
    again = await _profiles(empty_database_url)
    assert again[with_facts].hidden_facts == sam.hidden_facts


async def test_0005_old_sessions_are_first_attempts_and_downgrade_keeps_them(
    database_url: str,
) -> None:
    await upgrade(database_url, "0004")
    await _seed_0002(database_url)
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text("SELECT attempt, attempt_of, student_may_restart FROM sessions")
                )
            ).one()
            usage_columns = await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("api_usage")}
            )
    finally:
        await engine.dispose()
    assert (row.attempt, row.attempt_of, bool(row.student_may_restart)) == (1, None, False)
    assert {"model_id", "cost_micros", "currency"} <= usage_columns

    await _downgrade_to(database_url, "0004")
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            sessions = (await conn.execute(sa.text("SELECT count(*) FROM sessions"))).scalar()
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert sessions == 1 and "profile_files" not in tables


async def _usage_schema(url: str) -> tuple[set[str], dict[str, tuple[list[str], bool]]]:
    """api_usage's columns, and its indexes as name -> (columns, unique)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: (
                    {col["name"] for col in inspect(c).get_columns("api_usage")},
                    {
                        str(ix["name"]): ([str(c) for c in ix["column_names"]], bool(ix["unique"]))
                        for ix in inspect(c).get_indexes("api_usage")
                    },
                )
            )
    finally:
        await engine.dispose()


async def test_0006_keys_flushed_usage_by_seq_and_downgrades(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    columns, indexes = await _usage_schema(empty_database_url)
    assert columns == set(Base.metadata.tables["api_usage"].columns.keys())
    assert indexes["uq_api_usage_session_id_seq"] == (["session_id", "seq"], True)

    await _downgrade_to(empty_database_url, "0005")
    columns, indexes = await _usage_schema(empty_database_url)
    assert "seq" not in columns and "uq_api_usage_session_id_seq" not in indexes
