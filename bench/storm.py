"""Two measurements apart from the sweep, run by ``python -m bench.driver --storm``:

* memory per idle connection: the server tree's RSS before and after opening N idle
  observer sockets on one session, divided by N, once the server has opened and closed
  :data:`WARM_SOCKETS` the same way (the cold figure, from before those, is kept too);
* a connect storm: N observers open one session's socket at once; how long until every
  one has its ``welcome``, and until every one has seen the ``presence`` that counts all
  that opened (each join is announced to everyone already there, so the server sends ~N^2/2 frames),
  with the CPU seconds the server and the driver spent until then.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from bench.clients import Client, Tally, open_all
from bench.procs import cpu_seconds, rss_bytes, tree
from bench.stats import summary_ms
from bench.targets import Target

if TYPE_CHECKING:
    from bench.driver import Watch

__all__ = ["run_storm"]

#: Let the server settle (presence announcements, allocator) before reading its RSS.
SETTLE_S = 2.0
#: The storm is bounded: past this, it is reported as not settled.
STORM_TIMEOUT_S = 120.0
KB = 1024
#: Opened and closed before the idle measurement, the same way and as many at once: the
#: server's one-time growth for a burst of handshakes (database pool connections, which
#: on SQLite are threads with a stack, an allocator arena and a page cache each) is not
#: a cost per socket. 2 x the driver's 16 handshakes in flight.
WARM_SOCKETS = 32
HANDSHAKES_IN_FLIGHT = 16


async def idle_memory(target: Target, watch: Watch, count: int) -> dict[str, Any]:
    (session,) = await target.open_sessions(1)
    tally = Tally()
    await asyncio.sleep(SETTLE_S)
    cold = rss_bytes(tree(watch.server_pids))
    warming = [Client(session.observer, tally) for _ in range(WARM_SOCKETS)]
    async with asyncio.TaskGroup() as readers:
        await open_all(warming, HANDSHAKES_IN_FLIGHT, readers)
        await asyncio.gather(*(client.close() for client in warming))
    clients = [Client(session.observer, tally) for _ in range(count)]
    await asyncio.sleep(SETTLE_S)
    before = rss_bytes(tree(watch.server_pids))
    async with asyncio.TaskGroup() as readers:
        await open_all(clients, HANDSHAKES_IN_FLIGHT, readers)
        await asyncio.sleep(SETTLE_S)
        after = rss_bytes(tree(watch.server_pids))
        await asyncio.gather(*(client.close() for client in clients))
    await target.end_sessions([session])
    return {
        "sockets": count,
        "warm_sockets": WARM_SOCKETS,
        "rss_cold_mb": round(cold / KB / KB, 1),
        "rss_before_mb": round(before / KB / KB, 1),
        "rss_after_mb": round(after / KB / KB, 1),
        "kb_per_socket": round((after - before) / count / KB, 1),
        # As measured until 2026-12-04: the warm-up's growth counted as the sockets'.
        "kb_per_socket_cold": round((after - cold) / count / KB, 1),
        "closures": dict(tally.closures),
    }


async def connect_storm(target: Target, watch: Watch, count: int) -> dict[str, Any]:
    (session,) = await target.open_sessions(1)
    pids = tree(watch.server_pids)
    cpu_before = (cpu_seconds(pids), time.process_time())
    tally = Tally()
    clients = [Client(session.observer, tally) for _ in range(count)]
    for client in clients:
        client.expect_observers(count)
    failures: list[str] = []
    started = time.perf_counter()

    welcomed_s = settled_s = None
    async with asyncio.TaskGroup() as readers:

        async def join(client: Client) -> float | None:
            try:
                took = await client.open(open_timeout=STORM_TIMEOUT_S)
            except Exception as error:  # refused, timed out, reset: each is one failure
                failures.append(type(error).__name__)
                return None
            readers.create_task(client.read())  # at once: see open_all
            return took

        times = await asyncio.gather(*(join(client) for client in clients))
        welcomed_s = time.perf_counter() - started
        opened = [client for client, took in zip(clients, times, strict=True) if took is not None]
        for client in opened:
            client.expect_observers(len(opened))
        try:
            async with asyncio.timeout(max(STORM_TIMEOUT_S - welcomed_s, 1.0)):
                await asyncio.gather(*(client.observers_reached.wait() for client in opened))
            settled_s = time.perf_counter() - started
        except TimeoutError:
            pass
        server_cpu = cpu_seconds(pids) - cpu_before[0]
        driver_cpu = time.process_time() - cpu_before[1]
        await asyncio.gather(*(client.close() for client in opened))
    await target.end_sessions([session])
    return {
        "observers": count,
        "server_cpu_s": round(server_cpu, 2),
        "driver_cpu_s": round(driver_cpu, 2),
        "connected": len(opened),
        "failures": len(failures),
        "failure_kinds": sorted(set(failures)),
        "all_welcomed_s": round(welcomed_s, 2),
        "presence_settled_s": None if settled_s is None else round(settled_s, 2),
        "welcome_ms": summary_ms([t for t in times if t is not None]),
        "closures": dict(tally.closures),
    }


async def run_storm(
    target: Target, watch: Watch, idle_sockets: int, observers: int
) -> dict[str, Any]:
    return {
        "kind": target.kind,
        "idle": await idle_memory(target, watch, idle_sockets),
        "storm": await connect_storm(target, watch, observers),
    }
