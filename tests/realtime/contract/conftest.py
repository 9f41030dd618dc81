"""The contract suite runs once per backend: memory, and real Redis (per-test key prefix)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.realtime.contract.rt_helpers import Workers


@pytest.fixture(params=["memory", "redis"])
async def workers(request: pytest.FixtureRequest) -> AsyncIterator[Workers]:
    if request.param == "redis":
        url: Any = request.getfixturevalue("redis_url")
        prefix: Any = request.getfixturevalue("redis_prefix")
        made = Workers("redis", url, prefix)
    else:
        made = Workers("memory", None, None)
    try:
        yield made
    finally:
        await made.aclose()


@pytest.fixture
def session_id() -> str:
    return f"s{uuid.uuid4().hex[:12]}"
