"""The retry layer and error table against an in-memory provider (our own protocol)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

import pytest

from llm import (
    CallRecord,
    Done,
    Failed,
    Persona,
    ReplyEvent,
    ReplyRequest,
    RetryingProvider,
    RetryPolicy,
    TextDelta,
    Turn,
    Usage,
    measure,
)
from llm.errors import code_for_status, failure
from tests.llm.conftest import EVENT_TIMEOUT, RecordedSleeps

REQUEST = ReplyRequest(persona=Persona(name="P"), history=(Turn("student", "Hi"),), max_tokens=50)


class ListProvider:
    """Plays one scripted list of events per attempt; ``None`` blocks forever."""

    def __init__(self, *attempts: list[ReplyEvent | None]) -> None:
        self.attempts = list(attempts)
        self.opened = 0
        self.closed = 0

    @property
    def name(self) -> str:
        return "list"

    def default_model(self) -> str:
        return "list-model"

    @asynccontextmanager
    async def stream(self, request: ReplyRequest) -> AsyncIterator[AsyncIterator[ReplyEvent]]:
        script = self.attempts[min(self.opened, len(self.attempts) - 1)]
        self.opened += 1
        try:
            yield self._play(script)
        finally:
            self.closed += 1

    async def _play(self, script: list[ReplyEvent | None]) -> AsyncGenerator[ReplyEvent, None]:
        for event in script:
            if event is None:
                await asyncio.Event().wait()
            else:
                yield event


def wrap(inner: ListProvider, sleeps: RecordedSleeps, retries: int = 2) -> RetryingProvider:
    return RetryingProvider(inner, RetryPolicy(max_retries=retries), sleep=sleeps, rand=lambda: 1.0)


async def run(provider: RetryingProvider) -> tuple[list[ReplyEvent], CallRecord]:
    records: list[CallRecord] = []
    async with measure(provider, REQUEST, on_record=records.append) as events:
        collected = [event async for event in events]
    return collected, records[0]


OVERLOADED = failure("unavailable", "529")


async def test_usage_of_failed_attempts_is_added_not_invented() -> None:
    inner = ListProvider(
        [Usage(10, 0), OVERLOADED],
        [OVERLOADED],  # reported nothing: charged nothing
        [TextDelta("ok"), Usage(12, 1), Done()],
    )
    events, record = await run(wrap(inner, RecordedSleeps()))
    assert events == [TextDelta("ok"), Usage(22, 1), Done()]
    assert (record.attempts, record.input_tokens, record.output_tokens) == (3, 22, 1)


async def test_failure_after_text_is_not_retried() -> None:
    interrupted = failure("interrupted", "cut")
    inner = ListProvider([TextDelta("Part"), Usage(5, 1), interrupted], [TextDelta("Never")])
    events, record = await run(wrap(inner, RecordedSleeps()))
    assert events == [TextDelta("Part"), Usage(5, 1), interrupted]
    assert inner.opened == 1 and record.outcome == "failed"


async def test_retryable_failure_after_text_is_not_retried_either() -> None:
    inner = ListProvider([TextDelta("Part"), OVERLOADED], [TextDelta("Never"), Done()])
    events, _ = await run(wrap(inner, RecordedSleeps()))
    assert events == [TextDelta("Part"), OVERLOADED]


async def test_non_retryable_failure_passes_through() -> None:
    bad = failure("bad_request", "400")
    inner = ListProvider([bad])
    events, _ = await run(wrap(inner, RecordedSleeps()))
    assert events == [bad] and inner.opened == 1


async def test_exhausted_retries_say_unavailable() -> None:
    sleeps = RecordedSleeps()
    inner = ListProvider([failure("rate_limited", "429")])
    events, record = await run(wrap(inner, sleeps, retries=3))
    assert events == [Failed("unavailable", "The client is unavailable right now, try again", True)]
    assert inner.opened == 4 == inner.closed
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert record.attempts == 4


async def test_retry_after_counts_against_the_calls_total_wait() -> None:
    # 5 s asked and waited; 5 s more would make 10 s > max_delay_s (8 s): give up with
    # the provider's own failure (not "unavailable"), after two requests, not three.
    busy = failure("rate_limited", "429", retry_after_s=5.0)
    sleeps = RecordedSleeps()
    inner = ListProvider([busy], [busy], [TextDelta("never"), Done()])
    events, record = await run(wrap(inner, sleeps))
    assert events == [busy] and events[0] is busy
    assert sleeps.delays == [5.0] and inner.opened == 2 == inner.closed
    assert (record.outcome, record.failure_code, record.attempts) == ("failed", "rate_limited", 2)


async def test_a_stream_without_a_terminal_event_counts_as_failed() -> None:
    inner = ListProvider([TextDelta("Hm")])
    events, _ = await run(wrap(inner, RecordedSleeps()))
    assert events[0] == TextDelta("Hm")
    assert isinstance(events[-1], Failed) and events[-1].code == "interrupted"


async def test_cancelling_during_backoff_closes_and_records() -> None:
    sleeping = asyncio.Event()

    async def stuck_sleep(_: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()

    inner = ListProvider([OVERLOADED])
    provider = RetryingProvider(inner, RetryPolicy(), sleep=stuck_sleep, rand=lambda: 0.0)
    records: list[CallRecord] = []

    async def consume() -> None:
        async with measure(provider, REQUEST, on_record=records.append) as events:
            async for _ in events:
                pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(sleeping.wait(), EVENT_TIMEOUT)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert inner.opened == inner.closed == 1
    [record] = records
    assert (record.outcome, record.attempts, record.input_tokens) == ("cancelled", 1, 0)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=2.0)
    assert [policy.delay(n, 0.0) for n in (1, 2, 3, 4)] == [0.25, 0.5, 1.0, 1.0]
    assert [policy.delay(n, 1.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.0]


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (429, None, "rate_limited"),
        (529, None, "unavailable"),
        (503, None, "unavailable"),
        (500, "overloaded_error", "unavailable"),
        (400, None, "bad_request"),
        (400, "invalid_request_error", "bad_request"),
        (401, "authentication_error", "internal"),
        (404, None, "internal"),
    ],
)
def test_status_table(status: int, error_type: str | None, code: str) -> None:
    assert code_for_status(status, error_type) == code


def test_only_unavailable_and_rate_limited_are_retryable() -> None:
    assert failure("unavailable").retryable and failure("rate_limited").retryable
    assert not failure("bad_request").retryable and not failure("interrupted").retryable
