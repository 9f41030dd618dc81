"""The hub and the watchdog wired to real parts in one process (SQLite, the in-process
backend and budget store, the scripted provider): no sockets, injected clocks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from llm.scripted import ScriptedProvider
from llm.window import OMITTED_MARKER
from realtime.clientstate import reply_stems
from realtime.config import RealtimeConfig
from realtime.lifecycle import SessionAction
from realtime.presence import PresenceBoard
from realtime.protocol import (
    BudgetEvent,
    ErrorEvent,
    MessageEvent,
    MessageRole,
    PresenceEvent,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    SequencedEvent,
)
from realtime.replyjob import ReplyJob
from realtime.vocabulary import Role
from realtime.watchdog import Watchdog, WatchdogPolicy
from skills import client_side, code_turn
from storage.repos import sessions as session_repo
from tests.hub.rig import Rig, hub_of, new_session, runner_of, say_and_wait
from tests.support.polling import polled


async def long_history(rig: Rig, session_id: uuid.UUID, turns: int) -> None:
    events = [
        MessageEvent(
            message_id=str(uuid.uuid4()),
            role=MessageRole.STUDENT if n % 2 == 0 else MessageRole.CLIENT,
            text=f"turn {n} " + "words " * 60,
        )
        for n in range(turns)
    ]
    await rig.log.publish(session_id, events)


async def prepare(rig: Rig, session_id: uuid.UUID, text: str) -> ReplyJob | ErrorEvent:
    session = await rig.control.load(session_id)
    return await rig.hub.prepare_reply(session, uuid.uuid4().hex, text)


async def test_history_fits_a_large_budget_whole(rig: Rig) -> None:
    sid = await new_session(rig)
    await long_history(rig, sid, 10)
    job = await prepare(rig, sid, "What happened next?")
    assert isinstance(job, ReplyJob)
    texts = [t.text for t in job.request.history]
    assert OMITTED_MARKER not in texts and len(texts) == 11
    assert job.request.max_tokens == RealtimeConfig().reply_max_tokens
    assert not job.request.wind_down


async def test_client_winds_down_near_the_end_of_the_budget(rig: Rig) -> None:
    sid = await new_session(rig, token_budget=20_000)
    # Earlier replies spent 95.25% of the budget, and no tick of it reached the log (nor
    # the row): the say plans from those, the reservation tells it where the ledger
    # stands, and it plans again from that.
    await rig.budgets.reserve(str(sid), "earlier", 0, 19_050, 1)
    await rig.budgets.settle(str(sid), "earlier", 0, 19_050)
    job = await prepare(rig, sid, "Shall we go on?")
    assert isinstance(job, ReplyJob) and job.request.wind_down
    # The first plan's hold was given back: only the second one holds tokens.
    held = (await rig.budgets.snapshot(str(sid))).reserved
    assert held == job.input_estimate + job.request.max_tokens


async def test_history_is_windowed_to_the_budget_left(rig: Rig) -> None:
    sid = await new_session(rig, token_budget=1_500)
    await long_history(rig, sid, 40)  # ~3,600 tokens of history
    latest = "And how did that feel? " + "really " * 100
    job = await prepare(rig, sid, latest)
    assert isinstance(job, ReplyJob)
    history = job.request.history
    assert history[0].text == OMITTED_MARKER
    assert history[-1].text == latest  # never truncated
    snapshot = await rig.budgets.snapshot(str(sid))
    assert snapshot.reserved == job.input_estimate + job.request.max_tokens
    assert snapshot.reserved <= 1_500


async def test_refused_when_not_even_the_latest_message_fits(rig: Rig) -> None:
    sid = await new_session(rig, token_budget=1_000)
    answer = await rig.hub.say(sid, "word " * 3_000, "too-long")
    assert isinstance(answer, ErrorEvent) and answer.code == "budget_exhausted"
    session = await rig.control.load(sid)
    assert (session.status, session.end_reason) == ("expired", "tokens")
    assert (await rig.budgets.snapshot(str(sid))).reserved == 0
    # The session ended with the say's lock given up: no stop of a reply that never
    # started (expiring under the lock stopped the say's own reply and waited 5 s for it).
    types = [e.type for e in await rig.backend.read(str(sid), 0, 100)]
    assert "reply.stop" not in types and "reply.start" not in types, types
    assert await rig.backend.current_reply(str(sid)) is None


async def test_watchdog_idle_expiry_and_time_warnings_once(rig: Rig) -> None:
    sid = await new_session(rig)
    start = datetime.now(UTC)
    now = [start]
    policy = WatchdogPolicy(idle_seconds=590)
    dogs = [
        Watchdog(
            rig.db,
            rig.control,
            rig.budgets,
            policy,
            warn=rig.report.time_warning,
            now=lambda: now[0],
        )
        for _ in range(2)
    ]
    now[0] = start + timedelta(seconds=490)  # 82% of the 600 s limit, not idle yet
    for dog in dogs:
        assert await dog.scan() == []
    now[0] = start + timedelta(seconds=575)  # 96%
    for dog in dogs:
        assert await dog.scan() == []
    log = await rig.backend.read(str(sid), 0, 100)
    warnings = [e.percent for e in log if isinstance(e, BudgetEvent) and e.warning]
    assert warnings == [80, 95]  # each once, although two watchdogs saw them
    # Idle: no student activity since the start for longer than idle_seconds (the
    # 600 s time limit is not reached yet).
    now[0] = start + timedelta(seconds=592)
    results = [await dog.scan() for dog in dogs]
    assert sorted(results, key=len) == [[], [(sid, "idle")]]
    session = await rig.control.load(sid)
    assert (session.status, session.end_reason) == ("expired", "idle")


def said(log: list[SequencedEvent], client_id: str) -> list[MessageEvent]:
    return [e for e in log if isinstance(e, MessageEvent) and e.client_id == client_id]


async def test_a_say_whose_first_attempt_died_is_neither_lost_nor_doubled(rig: Rig) -> None:
    sid = await new_session(rig)
    key = str(sid)
    # Attempt 1 of "lost" claimed its client_id and died before appending anything.
    await rig.backend.claim_once(key, "say:lost", 60)
    # Attempt 1 of "kept" appended its message and died before recording the claim.
    await rig.backend.claim_once(key, "say:kept", 60)
    await rig.log.publish(
        sid,
        [
            MessageEvent(
                message_id=str(uuid.uuid4()),
                role=MessageRole.STUDENT,
                text="kept",
                client_id="kept",
            )
        ],
    )
    assert await rig.hub.say(sid, "lost", "lost") is None
    await rig.log.wait_ended(sid, (await rig.backend.current_reply(key)) or "", 5)
    assert await rig.hub.say(sid, "kept", "kept") is None
    assert await rig.hub.say(sid, "lost", "lost") is None  # a retry after success
    log = await rig.backend.read(key, 0, 1_000)
    assert len(said(log, "lost")) == 1
    assert len(said(log, "kept")) == 1
    assert (await rig.backend.claim(key, "say:kept", 60) or "").endswith(
        said(log, "kept")[0].message_id
    )


async def test_a_warm_say_reads_no_profile_or_transcript_and_writes_activity_rarely(
    rig: Rig,
) -> None:
    """The say path's SQL, counted: once a worker has served a session, a say reads the
    session row and the month's usage, and nothing else (the profile is memoised for
    5 s, the transcript and the recent log are caught up from the live log, the idle
    timer is written at most every 10 s)."""
    sid = await new_session(rig)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()).lower())

    await say_and_wait(rig, sid, "Hello, how are you today?")
    event.listen(rig.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        await say_and_wait(rig, sid, "What brings you in?")
        say_statements = [s for s in statements if "api_usage" not in s or "select" in s]
    finally:
        event.remove(rig.db.engine.sync_engine, "before_cursor_execute", count)
    reads = [s for s in say_statements if s.startswith("select")]
    assert not [s for s in reads if "from client_profiles" in s], reads
    assert not [s for s in reads if "from messages" in s], reads
    # No activity write: the first say wrote it under 10 s ago.
    assert not [s for s in say_statements if s.startswith("update sessions set last_activity")]
    # What is left: the month's usage and the session row, both at the reply's end (the
    # say itself trusts its copy of the row: no state change was logged since).
    assert len([s for s in reads if "from sessions" in s]) <= 2, reads
    assert len(reads) <= 4, reads
    history = await rig.log.messages(sid)
    assert [m.text for m in history if m.role is MessageRole.STUDENT] == [
        "Hello, how are you today?",
        "What brings you in?",
    ]


async def test_a_say_writes_the_idle_timer_in_one_update_without_loading_the_row(
    rig: Rig,
) -> None:
    """The activity write sets one column in one statement; a session gone meanwhile is
    no error."""
    sid = await new_session(rig)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()).lower())

    before = datetime.now(UTC)
    event.listen(rig.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        await say_and_wait(rig, sid, "Hello, how are you today?")
    finally:
        event.remove(rig.db.engine.sync_engine, "before_cursor_execute", count)
    writes = [s for s in statements if s.startswith("update sessions set last_activity_at")]
    # Not after a load of the row (the ORM's way: select the row, then update it).
    assert not statements[statements.index(writes[0]) - 1].startswith("select sessions.")
    assert len(writes) == 1 and writes[0].startswith(
        "update sessions set last_activity_at=? where sessions.id = ?"
    ), writes
    async with rig.db.session() as s:
        row = await session_repo.get_session_unscoped(s, sid)
        assert row.last_activity_at is not None and row.last_activity_at >= before
        await session_repo.touch_activity(s, uuid.uuid4(), datetime.now(UTC))


async def test_a_say_finds_the_reply_it_answers_already_read(rig: Rig) -> None:
    """The coder's view of a reply and its stems are made as the reply ends
    (``clientturns.after_reply``), not on the way of the say that answers it."""
    for memo in (code_turn, client_side, reply_stems):
        memo.cache_clear()  # the scripted replies repeat: earlier tests made the same ones
    sid = await new_session(rig)
    sides, stems = client_side.cache_info(), reply_stems.cache_info()
    await say_and_wait(rig, sid, "Hello, how are you today?")

    async def made() -> tuple[int, int]:  # by the reply's task, just after its end
        return client_side.cache_info().misses, reply_stems.cache_info().misses

    # Two each: the first say read the client's opening line, which no reply ended with;
    # then the reply's end read the reply.
    expected = (sides.misses + 2, stems.misses + 2)
    assert await polled(made, lambda m: m >= expected) == expected
    sides, stems = client_side.cache_info(), reply_stems.cache_info()
    # The say's own work, on the log as the say reads it and on words never coded before.
    session = await rig.control.load(sid)
    _, view = await rig.log.view(sid)
    text = f"What brings you in, {uuid.uuid4().hex}?"
    job = await rig.hub.prepare_reply(session, uuid.uuid4().hex, text, view)
    assert isinstance(job, ReplyJob)
    assert client_side.cache_info().misses == sides.misses
    assert client_side.cache_info().hits == sides.hits + 1
    assert reply_stems.cache_info().misses == stems.misses
    assert reply_stems.cache_info().hits > stems.hits


async def test_presence_announcements_coalesce_under_a_join_storm(rig: Rig) -> None:
    """50 observers joining at once: a handful of announcements (each one SQL read),
    the last of which counts all 50."""
    sid = await new_session(rig)
    board = PresenceBoard(rig.log, rig.control, ttl_seconds=30)
    before = (await rig.log.ensure(sid)).last_seq

    async def join(n: int) -> None:
        await board.touch(sid, f"conn{n}", Role.TEACHER)
        await board.announce(sid)

    await asyncio.gather(*(join(n) for n in range(50)))
    await board.settle()
    await board.aclose()
    events = await rig.backend.read(str(sid), before, 1_000)
    announced = [e for e in events if isinstance(e, PresenceEvent)]
    print(f"presence: 50 joins, {len(announced)} announcements")
    assert 1 <= len(announced) <= 3
    assert announced[-1].observers == 50


async def test_a_welcome_storm_on_a_session_new_to_the_worker_reads_its_row_a_few_times(
    rig: Rig,
) -> None:
    """100 sockets welcomed at once, the worker's first look at the session: the ones that
    miss its log and its row together share each read (at most one of each in flight).
    Each read was one of theirs before: 100 transcript and 34-50 row reads here, up to the
    pool's size at once."""
    sid = await new_session(rig)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()).lower())

    event.listen(rig.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        snapshots = await asyncio.gather(*(rig.hub.snapshot(sid) for _ in range(100)))
    finally:
        event.remove(rig.db.engine.sync_engine, "before_cursor_execute", count)
    rows = [s for s in statements if s.startswith("select") and "from sessions" in s]
    transcripts = [s for s in statements if s.startswith("select") and "from messages" in s]
    print(f"welcome storm: 100 snapshots, {len(rows)} row and {len(transcripts)} transcript reads")
    assert 1 <= len(rows) <= 2, rows
    assert 1 <= len(transcripts) <= 2, transcripts
    assert {session.id for _, session in snapshots} == {sid}
    assert {session.status for _, session in snapshots} == {"active"}


async def test_a_graceful_close_lets_a_streaming_reply_finish_and_cuts_it_after_grace(
    rig: Rig,
) -> None:
    """SIGTERM's drain: the runner waits up to ``grace`` for replies, then cuts them."""
    sid = await new_session(rig)

    async def stream_and_close(grace: float) -> list[SequencedEvent]:
        # A reply of ~30 words takes ~0.75 s.
        runner = runner_of(rig, provider=ScriptedProvider(40))
        hub = hub_of(rig, runner=runner)
        after = (await rig.log.ensure(sid)).last_seq
        async with rig.log.subscribe(sid, after) as events:
            assert await hub.say(sid, "How have you been sleeping?", uuid.uuid4().hex) is None
            async with asyncio.timeout(5):
                async for event in events:
                    if isinstance(event, ReplyDelta):
                        break
            await runner.aclose(grace=grace)
        return await rig.backend.read(str(sid), after, 1_000)

    drained = await stream_and_close(grace=10)
    assert [type(e) for e in drained if isinstance(e, ReplyDone | ReplyError)] == [ReplyDone]
    cut = await stream_and_close(grace=0)
    ends = [e for e in cut if isinstance(e, ReplyDone | ReplyError)]
    assert [type(e) for e in ends] == [ReplyError]
    assert isinstance(ends[0], ReplyError) and ends[0].code == "interrupted"


async def test_a_warm_say_sees_every_state_change_at_once(rig: Rig) -> None:
    """The row a worker keeps for the say path is dropped by each logged state change:
    paused refuses the very next say, resumed accepts it, an extension raises the
    budget the next reply is planned against."""
    sid = await new_session(rig, token_budget=2_000)
    await say_and_wait(rig, sid, "Hello there.")
    await rig.control.transition(sid, SessionAction.PAUSE, actor="t")
    refused = await rig.hub.say(sid, "Are you there?", uuid.uuid4().hex)
    assert isinstance(refused, ErrorEvent) and refused.code == "not_active"
    await rig.control.transition(sid, SessionAction.RESUME, actor="t")
    await say_and_wait(rig, sid, "Are you there?")
    await rig.control.transition(sid, SessionAction.EXTEND, actor="t", add_tokens=3_000)
    snapshot = await rig.budgets.snapshot(str(sid))
    assert snapshot.budget == 5_000
    await say_and_wait(rig, sid, "Thank you for waiting.")
    await rig.control.transition(sid, SessionAction.END, actor="t", reason="teacher")
    ended = await rig.hub.say(sid, "One more thing.", uuid.uuid4().hex)
    assert isinstance(ended, ErrorEvent) and ended.code == "not_active"
