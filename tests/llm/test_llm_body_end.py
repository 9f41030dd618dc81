"""``read_to_end``: what follows a reply's last event is read only while it ends promptly
(no sockets: the body is an async iterator)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from llm.body_end import read_to_end


async def body(*items: bytes, then_wait: asyncio.Event | None = None) -> AsyncIterator[bytes]:
    for item in items:
        yield item
    if then_wait is not None:
        await then_wait.wait()


async def failing() -> AsyncIterator[bytes]:
    yield b"\n"
    raise OSError("connection reset")


async def test_a_body_that_ends_is_read_to_its_end() -> None:
    rest = body(b"\n", b": keep-alive\n")
    assert await read_to_end(rest)
    assert [item async for item in rest] == []  # nothing left unread


async def test_a_body_held_open_is_given_up_after_the_deadline() -> None:
    never = asyncio.Event()
    assert not await read_to_end(body(b"\n", then_wait=never), seconds=0.01)


async def test_a_body_that_goes_on_is_given_up_after_max_items() -> None:
    assert not await read_to_end(body(*[b"data: more\n"] * 10), max_items=3)


async def test_an_error_after_the_last_event_costs_only_the_connection() -> None:
    assert not await read_to_end(failing())
