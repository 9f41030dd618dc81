"""Where a stream reader's lanes connect: one lane for a standalone Redis (or a
Sentinel-managed primary), one lane per hash slot on a Redis Cluster, each lane a
single-connection blocking client to the node that owns it. See
:mod:`realtime.backends.redis_reader` for why lanes are laid out this way."""

from __future__ import annotations

import asyncio
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot

from realtime.backends.redis_packing import hiredis_packing
from realtime.backends.redis_wire import Dial

__all__ = [
    "ClusterRouting",
    "Routing",
    "Standalone",
    "blocking_client",
    "cluster_seed_url",
    "dial",
]

_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def cluster_seed_url(url: str) -> str | None:
    """For ``redis+cluster://`` / ``rediss+cluster://``, the plain URL of the seed node;
    None for any other URL (standalone or Sentinel-managed primary)."""
    scheme, sep, rest = url.partition("://")
    plain = _CLUSTER_SCHEMES.get(scheme.lower())
    return f"{plain}{sep}{rest}" if plain and sep else None


def node_url(seed_url: str, host: str, port: int) -> str:
    """``seed_url`` (credentials, TLS, options) pointed at another node."""
    parts = urlsplit(seed_url)
    auth, _, _ = parts.netloc.rpartition("@")
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=f"{auth}@{address}" if auth else address))


def blocking_client(url: str) -> Redis:
    client = Redis.from_url(
        url,
        decode_responses=True,
        single_connection_client=True,
        socket_timeout=None,  # XREAD BLOCK holds the socket silent by design
        retry=Retry(NoBackoff(), 0),  # a silent reconnect would change our client id
    )
    # Its XREAD names every stream of the lane: 50 sessions are ~100 arguments.
    pool = client.connection_pool
    pool.connection_class = hiredis_packing(pool.connection_class)
    return client


class Routing(Protocol):
    #: Keep an idle lane's connection for the next subscriber (one lane: cheap and hot).
    keeps_idle_connections: bool

    def lane_of(self, stream: str) -> int: ...

    async def connect(self, lane: int) -> tuple[Redis, str]:
        """A single-connection client to the node serving ``lane``, and that node's name."""
        ...

    async def unblock(self, node: str, conn_id: int) -> bool: ...

    async def refresh(self) -> None:
        """Re-learn which node serves which lane (after a redirection or a lost node)."""
        ...


async def dial(routing: Routing, lane: int) -> tuple[Dial, str]:
    """How to connect a :class:`~realtime.backends.redis_wire.Wire` to the node serving
    ``lane`` (a blocking client's settings: no answer timeout, as a blocking read is
    silent), and that node's name. The client :meth:`Routing.connect` makes is only read,
    never used: it holds no connection."""
    client, node = await routing.connect(lane)
    return Dial.of(client), node


class Standalone:
    keeps_idle_connections = True

    def __init__(self, url: str, commands: Redis) -> None:
        self._url = url
        self._commands = commands

    def lane_of(self, stream: str) -> int:
        return 0

    async def connect(self, lane: int) -> tuple[Redis, str]:
        return blocking_client(self._url), ""

    async def unblock(self, node: str, conn_id: int) -> bool:
        return bool(await self._commands.client_unblock(conn_id))

    async def refresh(self) -> None:
        return None


class ClusterRouting:
    keeps_idle_connections = False

    def __init__(self, seed_url: str, commands: RedisCluster) -> None:
        self._seed_url = seed_url
        self._commands = commands
        self._refreshes = 0
        self._refresh_lock = asyncio.Lock()

    def lane_of(self, stream: str) -> int:
        return key_slot(stream.encode())

    async def connect(self, lane: int) -> tuple[Redis, str]:
        await self._commands.initialize()  # no-op once the slot map is loaded
        node = self._commands.nodes_manager.get_node_from_slot(lane)
        return blocking_client(node_url(self._seed_url, node.host, int(node.port))), node.name

    async def unblock(self, node: str, conn_id: int) -> bool:
        target = self._commands.get_node(node_name=node)
        if target is None:
            return False  # the node left the cluster; its lane is reconnecting anyway
        return bool(await self._commands.client_unblock(conn_id, target_nodes=target))

    async def refresh(self) -> None:
        # A failover redirects every lane of the node at once: one CLUSTER SLOTS for all.
        seen = self._refreshes
        async with self._refresh_lock:
            if self._refreshes == seen:
                await self._commands.nodes_manager.initialize()
                self._refreshes += 1
