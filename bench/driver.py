"""The load driver, in its own process: S sessions, each with a student and two observing
teachers; every student says something, waits for ``reply.done`` and says again at once.

    python -m bench.driver --kind baseline --url http://127.0.0.1:P \\
        --upstream http://127.0.0.1:U --sessions 25 [--warmup 4 --duration 20] \\
        [--server-pids 123] [--upstream-pid 456] [--json-out step.json]
    python -m bench.driver --kind product ... --email E --password P
    python -m bench.driver ... --storm [--idle-sockets 500 --storm-observers 1000]

Prints (or writes) one JSON object: chunk latency (receive time minus the upstream's emit
stamp, at every socket), chunks delivered per second, time to first delta, say -> upstream
arrival, loss (stamps the upstream emitted that some socket never got), errors and
closures, and the server's CPU and RSS over the window (from ``/proc``, its whole process
tree), with the driver's and the upstream's own CPU beside them: a driver near 100% is
measuring itself.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.clients import Client, Tally, open_all
from bench.procs import (
    cpu_by_pid,
    cpu_used,
    machine_busy_seconds,
    pids_named,
    rss_bytes,
    run_loop,
    tree,
)
from bench.stats import summary_ms
from bench.targets import BaselineTarget, ProductTarget, Target
from bench.wire import Pace, make_marker, new_run_id

#: Handshakes in flight while setting up a step (a browser class joining, not a storm).
CONNECT_CONCURRENCY = 16
#: A reply streams for ~2.5 s; one that has not ended after 30 s is not coming.
REPLY_TIMEOUT_S = 30.0
#: After a refused say, wait this long before the next (no hot loop on a broken server).
ERROR_PAUSE_S = 0.5
MB = 1 << 20
#: Replies that went wrong (lost chunks, no end) listed in the JSON, at most.
MAX_INCIDENTS = 20
#: Shared services whose CPU a step reports beside the server's (the product's Redis and
#: PostgreSQL work lands there; so does anyone else's).
SERVICES = ("redis-server", "postgres")


@dataclass(frozen=True)
class Plan:
    sessions: int
    warmup_s: float
    duration_s: float
    drain_s: float


@dataclass(frozen=True)
class Watch:
    """The processes whose CPU and memory a run reports."""

    server_pids: tuple[int, ...] = ()
    upstream_pid: int | None = None


async def sleep_until(at: float) -> None:
    await asyncio.sleep(max(at - time.time(), 0.0))


class Usage:
    """CPU over the window of the server tree, the upstream, this driver, the local Redis
    and PostgreSQL (shared with anyone else using them), and everything else on the
    machine (noise: another process on our cores delays chunks as much as our own work);
    and the server's RSS, at the end and at its peak."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self.result: dict[str, Any] = {}

    def _cpu(self) -> dict[str, dict[int, float]]:
        """Per-process CPU of each group; the services are looked up again each time
        (PostgreSQL starts a process per connection)."""
        return {
            "server": cpu_by_pid(tree(self.watch.server_pids)),
            "upstream": cpu_by_pid([self.watch.upstream_pid] if self.watch.upstream_pid else []),
            "services": cpu_by_pid(pids_named(SERVICES)),
            "driver": {0: time.process_time()},
            "machine": {0: machine_busy_seconds()},
        }

    async def sample(self, tally: Tally) -> None:
        await sleep_until(tally.start)
        servers = tree(self.watch.server_pids)
        began, wall = self._cpu(), time.time()
        peak = rss_bytes(servers)
        while (left := tally.end - time.time()) > 0:
            await asyncio.sleep(min(left, 1.0))
            peak = max(peak, rss_bytes(tree(self.watch.server_pids)))
        ended, wall = self._cpu(), time.time() - wall
        used = {name: cpu_used(began[name], ended[name]) for name in began}
        others = used["machine"] - sum(v for k, v in used.items() if k != "machine")
        server = used["server"]
        self.result = {
            "server": {
                "processes": len(servers),
                "cpu_s": round(server, 3),
                "cpu_percent": _percent(server, wall),
                "cpu_ms_per_chunk": round(1000 * server / tally.chunks, 4)
                if tally.chunks
                else None,
                "rss_mb": round(rss_bytes(tree(self.watch.server_pids)) / MB, 1),
                "rss_peak_mb": round(peak / MB, 1),
            },
            "upstream": {"cpu_percent": _percent(used["upstream"], wall)},
            "driver": {"cpu_percent": _percent(used["driver"], wall)},
            "services": {"cpu_percent": _percent(used["services"], wall), "names": SERVICES},
            "others": {"cpu_percent": _percent(max(others, 0.0), wall)},
        }


def _percent(cpu_s: float, wall_s: float) -> float:
    """Percent of one core."""
    return round(100 * cpu_s / wall_s, 1) if wall_s > 0 else 0.0


async def talk(student: Client, run: str, numbers: itertools.count[int], tally: Tally) -> None:
    """Say, wait for the reply's end, say again, until the window closes. The first say
    waits a random part of a reply, so sessions do not stream in lockstep."""
    await asyncio.sleep(random.uniform(0, Pace().reply_seconds))
    while time.time() < tally.end:
        if not await student.say(make_marker(run, next(numbers)), REPLY_TIMEOUT_S):
            await asyncio.sleep(ERROR_PAUSE_S)


async def run_step(target: Target, upstream: str, plan: Plan, watch: Watch) -> dict[str, Any]:
    run = new_run_id()
    tally = Tally()
    sessions = await target.open_sessions(plan.sessions)
    trios = [
        (Client(s.student, tally), Client(s.observer, tally), Client(s.observer, tally))
        for s in sessions
    ]
    clients = [client for trio in trios for client in trio]
    usage = Usage(watch)
    numbers = itertools.count()
    async with asyncio.TaskGroup() as tasks:
        connect_times = await open_all(clients, CONNECT_CONCURRENCY, tasks)
        tally.start = time.time() + plan.warmup_s
        tally.end = tally.start + plan.duration_s
        sampling = tasks.create_task(usage.sample(tally))
        try:
            async with asyncio.timeout_at(_loop_time_at(tally.end + plan.drain_s)):
                async with asyncio.TaskGroup() as talkers:
                    for student, _, _ in trios:
                        talkers.create_task(talk(student, run, numbers, tally))
                # A student's reply.done can reach it before the reply's last chunks reach
                # an observer on another worker: closing the sockets then would count
                # chunks still on their way as lost.
                await asyncio.gather(
                    *(
                        observer.reply_ended(marker)
                        for student, *observers in trios
                        for observer in observers
                        for marker in student.ended_at
                    )
                )
        except TimeoutError:
            tally.errors["drain timeout"] += 1
        await sampling
        await asyncio.gather(*(client.close() for client in clients))
    async with httpx.AsyncClient(timeout=30) as http:
        emitted: dict[str, dict[str, Any]] = (
            await http.get(f"{upstream.rstrip('/')}/stats", params={"run": run})
        ).json()
    await target.end_sessions(sessions)
    return {
        "kind": target.kind,
        "sessions": plan.sessions,
        "sockets": len(clients),
        "warmup_s": plan.warmup_s,
        "duration_s": plan.duration_s,
        "connect_ms": summary_ms(connect_times),
        **summarise(trios, tally, emitted, plan),
        **usage.result,
    }


def summarise(
    trios: list[tuple[Client, Client, Client]],
    tally: Tally,
    emitted: dict[str, dict[str, Any]],
    plan: Plan,
) -> dict[str, Any]:
    expected = missing = unfinished = replies = 0
    ttfd: list[float] = []
    to_upstream: list[float] = []
    incidents: list[dict[str, Any]] = []
    for trio in trios:
        student = trio[0]
        for marker, said in student.said_at.items():
            upstream = emitted.get(marker)
            if upstream is None:
                if marker not in student.ended_at:
                    incidents.append(_incident(marker, said, None, trio, tally))
                continue  # refused before reaching the model: counted in errors
            count = int(upstream["emitted"])
            replies += 1
            unfinished += not upstream["finished"]
            lost = [count - sum(1 for i in c.got.get(marker, ()) if i < count) for c in trio]
            missing += sum(lost)
            if any(lost) or not upstream["finished"] or marker not in student.ended_at:
                incidents.append(_incident(marker, said, upstream, trio, tally))
            expected += count * len(trio)
            if tally.in_window(said):
                to_upstream.append(float(upstream["arrived"]) - said)
                if marker in student.first_delta:
                    ttfd.append(student.first_delta[marker] - said)
    return {
        "replies": replies,
        "chunks_per_s": round(tally.chunks / plan.duration_s, 1),
        "frames_per_s": round(tally.frames / plan.duration_s, 1),
        "latency_ms": summary_ms(tally.latencies),
        "ttfd_ms": summary_ms(ttfd),
        "say_to_upstream_ms": summary_ms(to_upstream),
        "loss": {
            "expected_chunks": expected,
            "missing_chunks": missing,
            "unfinished_replies": unfinished,
        },
        "errors": dict(tally.errors),
        "closures": dict(tally.closures),
        "incidents": incidents[:MAX_INCIDENTS],
    }


def _incident(
    marker: str,
    said: float,
    upstream: dict[str, Any] | None,
    trio: tuple[Client, Client, Client],
    tally: Tally,
) -> dict[str, Any]:
    """One reply that went wrong, with times in seconds from the window's end."""

    def since_end(at: float | None) -> float | None:
        return None if at is None else round(at - tally.end, 3)

    student = trio[0]
    return {
        "marker": marker,
        "said": since_end(said),
        "reached_model": since_end(upstream["arrived"]) if upstream else None,
        "emitted": upstream["emitted"] if upstream else 0,
        "model_finished": bool(upstream and upstream["finished"]),
        "first_delta": since_end(student.first_delta.get(marker)),
        "ended": since_end(student.ended_at.get(marker)),
        "chunks_at_each_socket": [len(client.got.get(marker, ())) for client in trio],
    }


def _loop_time_at(wall: float) -> float:
    return asyncio.get_running_loop().time() + (wall - time.time())


def make_target(args: argparse.Namespace) -> Target:
    if args.kind == "baseline":
        return BaselineTarget(args.url)
    if not (args.email and args.password):
        raise SystemExit("--kind product needs --email and --password")
    return ProductTarget(args.url, args.email, args.password)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    target = make_target(args)
    watch = Watch(tuple(args.server_pids), args.upstream_pid)
    try:
        if args.storm:
            from bench.storm import run_storm

            return await run_storm(target, watch, args.idle_sockets, args.storm_observers)
        plan = Plan(args.sessions, args.warmup, args.duration, args.drain)
        return await run_step(target, args.upstream, plan, watch)
    finally:
        await target.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["baseline", "product"], required=True)
    parser.add_argument("--url", required=True, help="the server's http:// base URL")
    parser.add_argument("--upstream", required=True, help="the upstream's http:// base URL")
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--drain", type=float, default=10.0)
    parser.add_argument("--server-pids", type=lambda s: [int(p) for p in s.split(",")], default=[])
    parser.add_argument("--upstream-pid", type=int)
    parser.add_argument("--storm", action="store_true", help="idle memory and connect storm")
    parser.add_argument("--idle-sockets", type=int, default=500)
    parser.add_argument("--storm-observers", type=int, default=1000)
    parser.add_argument("--json-out", help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}

    async def go() -> None:
        result.update(await amain(args))

    try:
        run_loop(go())
        status = 0
    except Exception as error:  # reported as the step's outcome, not a traceback
        result = {"kind": args.kind, "sessions": args.sessions, "error": repr(error)[:2000]}
        status = 1
    text = json.dumps(result, indent=1)
    if args.json_out:
        with open(args.json_out, "w") as out:
            out.write(text)
    else:
        sys.stdout.write(text + "\n")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
