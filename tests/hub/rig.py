"""The hub rig: the hub, the reply runner and the watchdog's parts wired to real
in-process parts (SQLite, the in-process backend and budget store, the scripted provider),
shared by the hub tests. The ``rig`` fixture itself is in this folder's conftest."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from llm.base import Provider
from llm.scripted import ScriptedProvider
from realtime.backends import MemoryBackend
from realtime.budgetreport import BudgetReport
from realtime.budgets import MemoryBudgetStore
from realtime.capchecks import CapChecks
from realtime.config import RealtimeConfig
from realtime.control import SessionControl
from realtime.conversation import ReplyRunner
from realtime.hub import Hub
from realtime.sessionlog import SessionLog
from realtime.transitions import TransitionHooks
from storage.db import Database
from tests.hub.started import started_session
from tests.support.databases import sqlite_at_head
from tests.support.sqlite_threads import aiosqlite_threads_done

__all__ = ["Rig", "built_rig", "hub_of", "new_session", "runner_of", "say_and_wait"]


@dataclass
class Rig:
    db: Database
    backend: MemoryBackend
    budgets: MemoryBudgetStore
    control: SessionControl
    log: SessionLog
    report: BudgetReport
    runner: ReplyRunner
    hub: Hub


async def built_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A rig on a fresh SQLite file in ``tmp_path``, closed after the test."""
    url = sqlite_at_head(tmp_path / "hub.db")
    db = Database(url)
    backend = MemoryBackend()
    budgets = MemoryBudgetStore()
    control = SessionControl(db)
    config = RealtimeConfig()
    log = SessionLog(backend, db)
    report = BudgetReport(budgets, log, control)
    hooks = TransitionHooks(log, report, config.stop_grace_seconds)
    control.before_terminal.append(hooks.before_terminal)
    control.after_transition.append(hooks.after_transition)
    runner = ReplyRunner(
        log=log,
        budgets=budgets,
        provider=ScriptedProvider(0),
        control=control,
        db=db,
        config=config,
    )
    hub = Hub(db=db, log=log, budgets=budgets, runner=runner, control=control, config=config)
    yield Rig(db, backend, budgets, control, log, report, runner, hub)
    # Replies still settling (a usage row, an expiry) finish rather than being cut
    # mid-query: a cancelled aiosqlite call's thread would outlive this test's loop.
    await runner.aclose(grace=5)
    await backend.aclose()
    await db.aclose()
    await aiosqlite_threads_done()


def runner_of(
    rig: Rig, *, provider: Provider | None = None, config: RealtimeConfig | None = None
) -> ReplyRunner:
    """A second reply runner over the rig's parts (another worker's, or other settings):
    the scripted client without delay unless ``provider``. The caller closes it."""
    return ReplyRunner(
        log=rig.log,
        budgets=rig.budgets,
        provider=provider or ScriptedProvider(0),
        control=rig.control,
        db=rig.db,
        config=config or RealtimeConfig(),
    )


def hub_of(
    rig: Rig,
    *,
    runner: ReplyRunner | None = None,
    config: RealtimeConfig | None = None,
    caps: CapChecks | None = None,
) -> Hub:
    """A second hub over the rig's parts, with its own runner, settings or cap checks."""
    return Hub(
        db=rig.db,
        log=rig.log,
        budgets=rig.budgets,
        runner=runner or rig.runner,
        control=rig.control,
        config=config or RealtimeConfig(),
        caps=caps,
    )


async def new_session(rig: Rig, token_budget: int = 20_000) -> uuid.UUID:
    facts = [{"fact": "A secret.", "disclosure": "", "topics": [], "trust_needed": 30}]
    return await started_session(rig.db, rig.control, token_budget=token_budget, hidden_facts=facts)


async def say_and_wait(
    rig: Rig, sid: uuid.UUID, text: str, client_id: str | None = None, *, hub: Hub | None = None
) -> None:
    """A say the hub (default: the rig's) accepts, and its reply's end in the log."""
    assert await (hub or rig.hub).say(sid, text, client_id or uuid.uuid4().hex) is None
    running = await rig.backend.current_reply(str(sid))
    assert await rig.log.wait_ended(sid, running or "", 5)
