"""A session's catalog entry drives its reply in one process (SQLite, the in-process
backend, scripted providers): the entry's reply cap and context window plan the reply,
the entry's provider streams it, and the usage row carries the entry's id and cost."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from llm.base import ReplyEvent, ReplyRequest
from llm.catalog import Catalog, ModelEntry, cost_micros
from llm.registry import ModelRegistry
from llm.scripted import ScriptedProvider
from realtime.backends import MemoryBackend
from realtime.budgets import MemoryBudgetStore
from realtime.config import RealtimeConfig
from realtime.control import SessionControl
from realtime.conversation import ReplyRunner
from realtime.flusher import Flusher
from realtime.hub import Hub
from realtime.replyjob import ReplyJob
from realtime.sessionlog import SessionLog
from storage.db import Database
from storage.models import ApiUsage
from tests.hub.started import started_session
from tests.support.databases import sqlite_at_head

ROOMY = ModelEntry(
    id="roomy",
    name="Roomy",
    provider="scripted",
    model="roomy-1",
    context_window=100_000,
    max_reply_tokens=400,
)
SMALL = ModelEntry(
    id="small",
    name="Small",
    provider="scripted",
    model="small-1",
    context_window=2_000,
    max_reply_tokens=120,
    input_price_per_mtok=Decimal("1.5"),
    output_price_per_mtok=Decimal("4"),
)


class NamedScripted:
    """The scripted client under a model name of its own, counting its calls."""

    def __init__(self, model: str) -> None:
        self._inner = ScriptedProvider(0)
        self.model = model
        self.requests: list[ReplyRequest] = []

    @property
    def name(self) -> str:
        return self._inner.name

    def default_model(self) -> str:
        return self.model

    def stream(
        self, request: ReplyRequest
    ) -> AbstractAsyncContextManager[AsyncIterator[ReplyEvent]]:
        self.requests.append(request)
        return self._inner.stream(request)


@dataclass
class Rig:
    db: Database
    backend: MemoryBackend
    control: SessionControl
    runner: ReplyRunner
    hub: Hub
    providers: dict[str, NamedScripted]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    url = sqlite_at_head(tmp_path / "models.db")
    db = Database(url)
    backend = MemoryBackend()
    budgets = MemoryBudgetStore()
    control = SessionControl(db)
    config = RealtimeConfig()
    log = SessionLog(backend, db)
    providers = {"roomy": NamedScripted("roomy-1"), "small": NamedScripted("small-1")}
    models = ModelRegistry(Catalog((ROOMY, SMALL), currency="CHF"), providers)
    runner = ReplyRunner(
        log=log, budgets=budgets, provider=models, control=control, db=db, config=config
    )
    hub = Hub(db=db, log=log, budgets=budgets, runner=runner, control=control, config=config)
    yield Rig(db, backend, control, runner, hub, providers)
    await runner.aclose()
    await backend.aclose()
    await db.aclose()


async def new_session(rig: Rig, model: str | None) -> uuid.UUID:
    return await started_session(rig.db, rig.control, token_budget=50_000, model=model)


async def reply(rig: Rig, sid: uuid.UUID, text: str) -> ReplyJob:
    session = await rig.control.load(sid)
    reply_id = uuid.uuid4().hex
    assert await rig.backend.acquire_reply(str(sid), reply_id, 3.0)
    job = await rig.hub.prepare_reply(session, reply_id, text)
    assert isinstance(job, ReplyJob)
    await rig.runner.run(job)
    return job


async def usage_of(rig: Rig, sid: uuid.UUID) -> ApiUsage:
    """The session's one usage row, once the flusher has stored its ``reply.usage``."""
    await Flusher(rig.db, rig.backend).flush_session(sid)
    async with rig.db.session() as s:
        rows = (await s.execute(select(ApiUsage).where(ApiUsage.session_id == sid))).scalars()
        [row] = list(rows)
    return row


async def test_the_sessions_entry_plans_streams_and_prices_the_reply(rig: Rig) -> None:
    sid = await new_session(rig, "small")
    job = await reply(rig, sid, "How are you? " + "really " * 2_000)

    assert job.model_id == "small"
    assert job.request.model == "small-1"
    assert job.request.max_tokens == 120
    assert job.request.context_tokens == 2_000, "the entry's window, not the config's 100,000"
    assert len(job.request.history) == 1  # the latest message is kept whole
    assert [len(p.requests) for p in rig.providers.values()] == [0, 1]

    row = await usage_of(rig, sid)
    assert (row.provider, row.model, row.model_id, row.currency) == (
        "scripted",
        "small-1",
        "small",
        "CHF",
    )
    assert row.input_tokens > 0 and row.output_tokens > 0
    assert row.cost_micros == cost_micros(SMALL, row.input_tokens, row.output_tokens)
    assert row.cost_micros is not None and row.cost_micros > 0


@pytest.mark.parametrize("model", [None, "retired-model"])
async def test_no_model_or_a_retired_one_gets_the_default(rig: Rig, model: str | None) -> None:
    sid = await new_session(rig, model)
    job = await reply(rig, sid, "Hello?")
    assert (job.model_id, job.request.model, job.request.max_tokens) == ("roomy", "roomy-1", 400)
    assert [len(p.requests) for p in rig.providers.values()] == [1, 0]
    row = await usage_of(rig, sid)
    assert (row.model_id, row.cost_micros) == ("roomy", None)
