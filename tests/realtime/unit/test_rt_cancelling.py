"""``finish_despite_cancel``: a close runs to its end even when its caller is cancelled,
and the caller still sees its cancel. No sockets: the close is a few loop steps."""

from __future__ import annotations

import asyncio

import pytest

from realtime.backends.cancelling import finish_despite_cancel


class Close:
    """A close of ``steps`` loop steps that records whether it got to the end."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.finished = False

    async def __call__(self) -> None:
        for _ in range(self.steps):
            await asyncio.sleep(0)
        self.finished = True


async def started(caller: asyncio.Task[None]) -> None:
    """Return once ``caller`` has taken its first step (one loop step: deterministic)."""
    await asyncio.sleep(0)
    assert not caller.done()


async def test_a_cancelled_caller_waits_for_the_close_then_raises() -> None:
    close = Close(steps=5)
    caller = asyncio.create_task(finish_despite_cancel(close()))
    await started(caller)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert close.finished


async def test_a_caller_cancelled_twice_still_lets_the_close_finish() -> None:
    close = Close(steps=5)
    caller = asyncio.create_task(finish_despite_cancel(close()))
    await started(caller)
    caller.cancel()
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert close.finished


async def test_an_uncancelled_close_returns_normally() -> None:
    close = Close(steps=3)
    await finish_despite_cancel(close())
    assert close.finished


async def test_a_failing_close_raises_its_error() -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise OSError("socket already gone")

    with pytest.raises(OSError, match="already gone"):
        await finish_despite_cancel(failing())
