"""The contract suite runs once per backend: memory, real Redis and a local 3-node Redis
Cluster (per-test key prefix)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.realtime.contract.redis_pipe_rig import rig  # noqa: F401 - a fixture
from tests.realtime.contract.rt_helpers import Workers
from tests.support.redis_cluster import (  # noqa: F401 - fixtures
    redis_cluster,
    redis_cluster_prefix,
    redis_cluster_url,
)


@pytest.fixture(params=["memory", "redis", "cluster"])
async def workers(request: pytest.FixtureRequest) -> AsyncIterator[Workers]:
    if request.param in ("redis", "cluster"):
        cluster = request.param == "cluster"
        url: Any = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
        prefix: Any = request.getfixturevalue("redis_cluster_prefix" if cluster else "redis_prefix")
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
