"""The in-process backend's retained window is out of the garbage collector's sight: a full
session window of events adds next to nothing for a full pass to walk, and what is read
back from it is what was appended."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from realtime import events
from realtime.backends import MemoryBackend
from realtime.eventjson import dump_json
from realtime.events import MessageEvent, ReplyDelta, encode
from realtime.framecache import FrameCache
from realtime.vocabulary import MessageRole

WINDOW = 2_000


async def test_a_full_window_adds_next_to_nothing_for_the_collector() -> None:
    backend = MemoryBackend(window=WINDOW)
    await backend.open_log("s", 0)
    gc.collect()
    before = len(gc.get_objects())
    for n in range(WINDOW + 500):  # the window full, the oldest 500 pushed out
        await backend.append("s", [ReplyDelta(reply_id="r", text=f"word {n} ")])
    gc.collect()
    added = len(gc.get_objects()) - before
    # Kept as objects, each event was ~4 tracked objects (~8,000 here).
    print(f"a full window of {WINDOW} events: {added} more tracked objects")
    assert added < 100
    read = await backend.read("s", 500 + WINDOW - 3, 10)
    assert [(e.seq, e.text) for e in read if isinstance(e, ReplyDelta)] == [
        (WINDOW + 498, f"word {WINDOW + 497} "),
        (WINDOW + 499, f"word {WINDOW + 498} "),
        (WINDOW + 500, f"word {WINDOW + 499} "),
    ]
    await backend.aclose()


async def test_text_utf8_cannot_carry_is_kept_as_redis_keeps_it() -> None:
    """The edges refuse a lone surrogate; one appended below them is stored escaped and
    read back as it was (the flusher's poison tests rely on both backends keeping it)."""
    backend = MemoryBackend()
    await backend.open_log("s", 0)
    bad = MessageEvent(message_id="m", role=MessageRole.STUDENT, text="bad \ud800 text")
    assert await backend.append("s", [bad]) == [1]
    (back,) = await backend.read("s", 0, 10)
    assert back == bad.model_copy(update={"seq": 1})
    await backend.aclose()


async def test_a_process_encodes_an_event_once_for_its_window_and_its_sockets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoded: list[int] = []

    def counted(event: ReplyDelta, **options: Any) -> str:
        encoded.append(event.seq)
        return dump_json(event, **options)

    monkeypatch.setattr(events, "dump_json", counted)  # what encode and payload_json call
    frames = FrameCache()
    backend = MemoryBackend(encode=frames.encode)
    await backend.open_log("s", 0)
    async with backend.subscribe("s", 0) as live:
        await backend.append("s", [ReplyDelta(reply_id="r", text="hello ")])
        await anext(live)  # caught up: from here on events come as they are appended
        await backend.append("s", [ReplyDelta(reply_id="r", text="world ")])
        event = await anext(live)
    frame = frames.frame(event)  # what every socket's outbox writes
    assert encoded.count(2) == 1  # made for the window; the socket's frame came from it
    assert frame.endswith(encode(event).encode())
    assert (await backend.read("s", 1, 10)) == [event]
    await backend.aclose()
