"""Helpers of the transcript integration tests: reading SQL through the transcript API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.support.world import World

# The promise: acknowledged messages and completed replies are in SQL within 2 s.
FLUSH_PROMISE_SECONDS = 2.0
# Polling the API for a condition; every wait has a deadline.
POLL_SECONDS = 0.05


def teacher_client(world: World, index: int = 0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=world.servers[index].base_url, cookies=world.teacher_cookies)


async def transcript_items(http: httpx.AsyncClient, sid: str) -> list[dict[str, Any]]:
    response = await http.get(f"/api/sessions/{sid}/transcript")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def until_in_sql(
    http: httpx.AsyncClient, sid: str, message_ids: set[str], within: float
) -> list[dict[str, Any]]:
    """The transcript once it holds every id in ``message_ids``; TimeoutError otherwise."""
    async with asyncio.timeout(within):
        while True:
            items = await transcript_items(http, sid)
            if message_ids <= {item["message_id"] for item in items}:
                return items
            await asyncio.sleep(POLL_SECONDS)


async def sql_latency(http: httpx.AsyncClient, sid: str, message_id: str, since: float) -> float:
    """Seconds from ``since`` (when the client saw the event) until SQL has it."""
    await until_in_sql(http, sid, {message_id}, within=10)
    return time.monotonic() - since


def assert_no_duplicates(items: list[dict[str, Any]]) -> None:
    seqs = [item["seq"] for item in items]
    ids = [item["message_id"] for item in items]
    assert len(seqs) == len(set(seqs)) and len(ids) == len(set(ids)), items
    assert seqs == sorted(seqs)


def acknowledged(events: list[dict[str, Any]]) -> set[str]:
    """Message ids the client saw acknowledged: echoed messages and completed replies."""
    return {
        e["message_id"]
        for e in events
        if e.get("type") == "message" or (e.get("type") == "reply.done")
    }
