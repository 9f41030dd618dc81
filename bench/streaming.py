"""Streaming replies into the live log: per-token appends vs. coalesced appends.

    python -m bench.streaming [--sessions 40] [--tokens 200] [--gap-ms 15,4]

Each simulated session streams ``--tokens`` tokens, one every ``--gap-ms`` ms (a fast
model), into its own log. The baseline appends every token as it comes; the product
path feeds :class:`DeltaCoalescer` and appends only what it flushes. With ``REDIS_URL``
set, this measures real Redis round trips (keys under a throwaway prefix, deleted
afterwards); otherwise the in-process backend.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from realtime.backends import RealtimeBackend, make_backend
from realtime.coalesce import DeltaCoalescer
from realtime.protocol import ReplyDelta


async def stream(
    backend: RealtimeBackend, session: str, tokens: int, gap: float, coalesce: bool
) -> int:
    """Stream one reply; returns how many appends (round trips) it took."""
    await backend.open_log(session, 0)
    coalescer = DeltaCoalescer()
    appends = 0
    for n in range(tokens):
        await asyncio.sleep(gap)
        text: str | None = f" tok{n}"
        if coalesce:
            text = coalescer.feed(text or "", time.monotonic())
        if text:
            await backend.append(session, [ReplyDelta(reply_id="r", text=text)])
            appends += 1
    if coalesce and (tail := coalescer.finish()):
        await backend.append(session, [ReplyDelta(reply_id="r", text=tail)])
        appends += 1
    return appends


async def run(sessions: int, tokens: int, gap: float, coalesce: bool) -> tuple[int, float]:
    url = os.environ.get("REDIS_URL") or None
    prefix = f"vcbench{uuid.uuid4().hex[:8]}"
    backend = make_backend(url, key_prefix=prefix)
    started = time.perf_counter()
    try:
        counts = await asyncio.gather(
            *(stream(backend, str(uuid.uuid4()), tokens, gap, coalesce) for _ in range(sessions))
        )
    finally:
        elapsed = time.perf_counter() - started
        if url:
            from redis.asyncio import Redis

            redis = Redis.from_url(url)
            keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
        await backend.aclose()
    return sum(counts), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--gap-ms", default="15,4", help="token gaps to try, comma-separated (ms)")
    args = parser.parse_args()
    for gap in args.gap_ms.split(","):
        compare(args.sessions, args.tokens, float(gap))


def compare(sessions: int, tokens: int, gap_ms: float) -> None:
    gap = gap_ms / 1000
    where = "redis" if os.environ.get("REDIS_URL") else "in-process"
    total = sessions * tokens
    cpu0 = time.process_time()
    base_appends, base_wall = asyncio.run(run(sessions, tokens, gap, False))
    cpu1 = time.process_time()
    ours_appends, ours_wall = asyncio.run(run(sessions, tokens, gap, True))
    cpu2 = time.process_time()
    base_cpu, ours_cpu = cpu1 - cpu0, cpu2 - cpu1
    print(
        f"streaming into the live log ({where}): {sessions} sessions x "
        f"{tokens} tokens, one every {gap_ms:g} ms"
    )
    print(
        f"  per-token appends (baseline): {base_appends:6d} appends, "
        f"{base_cpu * 1e6 / total:7.1f} us CPU/token, wall {base_wall:5.2f} s"
    )
    print(
        f"  coalesced appends (product):  {ours_appends:6d} appends, "
        f"{ours_cpu * 1e6 / total:7.1f} us CPU/token, wall {ours_wall:5.2f} s"
    )
    print(
        f"  ratio: {base_appends / max(ours_appends, 1):.1f}x fewer round trips, "
        f"{base_cpu / max(ours_cpu, 1e-9):.1f}x less client CPU per token"
    )


if __name__ == "__main__":
    main()
