"""Redis Cluster tests: a throwaway local 3-master cluster (tests/support/redis_cluster.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio.cluster import RedisCluster

from realtime.backends.redis import RedisBackend
from realtime.backends.redis_routing import cluster_seed_url
from tests.support.redis_cluster import (  # noqa: F401 - fixtures
    LocalCluster,
    redis_cluster,
    redis_cluster_prefix,
    redis_cluster_url,
)

MakeBackend = Callable[[], RedisBackend]


@pytest.fixture
async def make_backend(request: pytest.FixtureRequest) -> AsyncIterator[MakeBackend]:
    """Each call is one more worker's backend (own clients, own stream reader)."""
    url: str = request.getfixturevalue("redis_cluster_url")
    prefix: str = request.getfixturevalue("redis_cluster_prefix")
    made: list[RedisBackend] = []

    def make() -> RedisBackend:
        backend = RedisBackend(url, key_prefix=prefix)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.aclose()


@pytest.fixture
async def admin(request: pytest.FixtureRequest) -> AsyncIterator[RedisCluster]:
    """A cluster client for the test itself (slot owners, raw commands)."""
    cluster: LocalCluster = request.getfixturevalue("redis_cluster")
    client = RedisCluster.from_url(cluster_seed_url(cluster.url) or "", decode_responses=True)
    await client.initialize()
    yield client
    await client.aclose()
