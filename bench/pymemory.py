"""Python memory per idle session socket, counted by ``tracemalloc`` in the server.

    python -m bench.pymemory [--sockets 300]

The app (in-process backend, SQLite, the scripted client) runs under uvicorn in this
process with the socket settings ``vclient serve`` uses, so ``tracemalloc`` counts the
server alone; a child process (``--client``) opens the observer sockets on one session,
20 to warm up, then ``--sockets`` more, and keeps them open while the server takes its
snapshots. RSS (what ``make bench`` reports) also carries the allocator's arenas and
the interpreter; this is the part the code decides. Prints KiB per socket and the files
that allocated most of it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import secrets
import sys
import tempfile
import tracemalloc
from pathlib import Path

import uvicorn
import websockets

from bench.procs import ROOT, free_port
from bench.targets import ProductTarget, Seat
from server.app import create_app
from server.passwords import hash_password
from server.settings import Settings
from server.state import AppState
from storage.migrate import upgrade
from storage.repos import users as user_repo

WARM_SOCKETS = 20
#: Waits for the sockets' presence announcements to settle before each snapshot.
SETTLE_S = 2.0
EMAIL = "memory@bench.example"


async def _client(seat: Seat, count: int) -> None:
    """Open WARM_SOCKETS, say so, wait; open ``count`` more, say so, wait; exit."""
    sockets = []

    async def open_one() -> None:
        ws = await websockets.connect(seat.url, additional_headers=seat.headers, compression=None)
        await ws.recv()  # its welcome
        sockets.append(ws)

    for batch in (WARM_SOCKETS, count):
        for _ in range(batch):
            await open_one()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    for ws in sockets:
        await ws.close()


async def _measure(count: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="vc-pymemory-"))
    url = f"sqlite+aiosqlite:///{home / 'memory.db'}"
    settings = Settings(
        _env_file=None,
        data_dir=home,
        database_url=url,
        redis_url=None,
        secret_key=secrets.token_urlsafe(32),
        llm_provider="scripted",
        # What the benchmark's sessions ask for (bench.deploy.PRODUCT_LIMITS).
        session_max_seconds=86_400,
        token_budget_max=100_000_000,
    )
    await upgrade(url)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            ws="websockets-sansio",
            ws_ping_interval=settings.ws_ping_seconds,
            ws_ping_timeout=settings.ws_ping_seconds,
            ws_per_message_deflate=settings.ws_compression,
            log_level="warning",
        )
    )
    serving = asyncio.create_task(server.serve())
    # uvicorn's Server has only a flag to tell it is listening, no event to wait on.
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    state = app.state.vc
    assert isinstance(state, AppState)
    password = secrets.token_hex(12)
    async with state.db.session() as db:
        hashed = await hash_password(password)
        await user_repo.create_user(
            db, email=EMAIL, name="Memory", role="teacher", password_hash=hashed
        )
    target = ProductTarget(f"http://127.0.0.1:{port}", EMAIL, password)
    (session,) = await target.open_sessions(1)
    seat = json.dumps({"url": session.observer.url, "headers": session.observer.headers})
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.pymemory",
        "--client",
        seat,
        "--sockets",
        str(count),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert (await child.stdout.readline()).startswith(b"ready")
        await asyncio.sleep(SETTLE_S)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        child.stdin.write(b"go\n")
        assert (await child.stdout.readline()).startswith(b"ready")
        await asyncio.sleep(SETTLE_S)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = after.compare_to(before, "filename")
        total = sum(stat.size_diff for stat in grown)
        print(f"{total / count / 1024:.1f} KiB of Python memory per idle socket ({count} sockets)")
        for stat in grown[:10]:
            where = stat.traceback[0].filename.split("site-packages/")[-1]
            print(f"  {stat.size_diff / count:7.0f} B  {where.removeprefix(str(ROOT) + '/')}")
        child.stdin.write(b"go\n")
        await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await target.end_sessions([session])
        await target.aclose()
        server.should_exit = True
        await serving


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        seat = json.loads(args.client)
        asyncio.run(_client(Seat(seat["url"], seat["headers"], "teacher"), args.sockets))
    else:
        asyncio.run(_measure(args.sockets))


if __name__ == "__main__":
    main()
