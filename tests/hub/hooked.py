"""A provider for the hub tests: runs a hook each time a reply is asked for, then streams
the reply of the provider it wraps (the scripted one)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from llm.base import ReplyEvent, ReplyRequest
from llm.scripted import ScriptedProvider


class HookedProvider:
    def __init__(self, inner: ScriptedProvider, on_call: Callable[[], None]) -> None:
        self._inner = inner
        self._on_call = on_call

    @property
    def name(self) -> str:
        return self._inner.name

    def default_model(self) -> str:
        return self._inner.default_model()

    @asynccontextmanager
    async def stream(self, request: ReplyRequest) -> AsyncIterator[AsyncIterator[ReplyEvent]]:
        self._on_call()
        async with self._inner.stream(request) as events:
            yield events
