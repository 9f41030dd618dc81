"""Headless ``vclient`` processes (watchdog, flusher) for integration tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import ManagedProcess, spawn_cli

# A cold start imports SQLAlchemy and the SDKs (~2 s here).
READY_TIMEOUT_SECONDS = 20.0
READY_LINE = "running; stop with SIGTERM"


@contextmanager
def cli_process(args: list[str], env: Mapping[str, str], cwd: Path) -> Iterator[ManagedProcess]:
    """Run ``vclient ARGS`` until the block ends, once it has said it is running."""
    process = spawn_cli(args, env, cwd, f"{args[0]}-{uuid.uuid4().hex[:6]}.log")
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while READY_LINE not in process.log():
            if process.process.poll() is not None:
                raise RuntimeError(f"{args[0]} exited early:\n{process.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args[0]} did not start:\n{process.log()}")
            time.sleep(0.02)  # polling its log for the ready line
        yield process
    finally:
        process.stop()
