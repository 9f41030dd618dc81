"""What a warm say costs on Redis before the model is called: counted at the socket
(every command or pipeline sent is one round trip), not timed."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from llm.scripted import ScriptedProvider
from realtime.backends.redis import RedisBackend
from realtime.budgetreport import BudgetReport
from realtime.budgets.redis_store import RedisBudgetStore
from realtime.config import RealtimeConfig
from realtime.control import SessionControl
from realtime.conversation import ReplyRunner
from realtime.hub import Hub
from realtime.sessionlog import SessionLog
from realtime.transitions import TransitionHooks
from storage.db import Database
from tests.hub.hooked import HookedProvider
from tests.hub.started import started_session
from tests.support.redis_writes import as_if_warm, redis_writes

pytestmark = pytest.mark.redis


async def test_a_warm_say_reaches_the_model_in_few_round_trips(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str, redis_url: str, redis_prefix: str
) -> None:
    db = Database(postgres_url)
    backend = RedisBackend(redis_url, key_prefix=redis_prefix)
    redis = Redis.from_url(redis_url, decode_responses=True)
    budgets = RedisBudgetStore(redis, redis_prefix)
    config = RealtimeConfig()
    control = SessionControl(db)
    log = SessionLog(backend, db)
    hooks = TransitionHooks(log, BudgetReport(budgets, log, control), config.stop_grace_seconds)
    control.before_terminal.append(hooks.before_terminal)
    control.after_transition.append(hooks.after_transition)
    sent: list[str] = []  # the say's writes (its own task's: not the reader's, the lease's)
    at_call: list[list[str]] = []  # the writes made when each reply was asked for
    provider = HookedProvider(ScriptedProvider(0), on_call=lambda: at_call.append([*sent]))
    runner = ReplyRunner(
        log=log, budgets=budgets, provider=provider, control=control, db=db, config=config
    )
    hub = Hub(db=db, log=log, budgets=budgets, runner=runner, control=control, config=config)
    try:
        sid = await started_session(db, control)
        with redis_writes(monkeypatch, task=asyncio.current_task()) as sent:
            for text in ("Hello, how are you today?", "What brings you in?"):
                sent.clear()
                assert await hub.say(sid, text, uuid.uuid4().hex) is None
                running = await backend.current_reply(str(sid))
                assert await log.wait_ended(sid, running or "", 5)
        warm = as_if_warm(at_call[-1])
        print(f"warm say: {len(warm)} round trips before the model: {warm}")
        # Three in turn: the say's opening (the lock, the log under it: where it stands
        # and what is new, and the say's claim, one script), the reservation (which sets
        # the budget up: the plan comes from the row and the log), the message with the
        # reply's start. Then, as the reply starts and not waited for on the way to the
        # model, the client state (the say's task sends it before the reply's task runs,
        # so it is counted), and after it the claim's result (15 went out before the say
        # path was folded, 13 of them in turn; 8 before the lock came first, 7 before the
        # opening was one script, 5 before the budget's set-up went into the reservation).
        # Under three, the count missed writes (tests.support.redis_writes patches redis-py's
        # AbstractConnection.send_packed_command: a connection class overriding it would
        # write uncounted, and a bare upper bound would still pass).
        assert 3 <= len(warm) <= 4, warm
    finally:
        await runner.aclose(grace=5)
        await backend.aclose()
        await redis.aclose()
        await db.aclose()
