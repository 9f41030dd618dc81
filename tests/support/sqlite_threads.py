"""Waiting out aiosqlite's worker threads before a test's event loop closes."""

from __future__ import annotations

import asyncio
import threading


async def aiosqlite_threads_done() -> None:
    """Wait for aiosqlite's worker threads to end while the test's loop still runs. A
    failed connect, or a query whose caller was cancelled (a socket whose peer left),
    leaves its thread to finish on its own; had the loop closed first, the thread's last
    callback would raise "Event loop is closed" into whichever test ran next (seen in
    about 1 run in 4)."""
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            await asyncio.wait_for(asyncio.to_thread(thread.join, 5), 6)
