"""Headless ``vclient`` processes (watchdog, flusher) for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import ROOT

# A cold start imports SQLAlchemy and the SDKs (~2 s here).
READY_TIMEOUT_SECONDS = 20.0


class CliProcess:
    def __init__(self, args: list[str], env: Mapping[str, str], cwd: Path) -> None:
        self.log_path = cwd / f"{args[0]}-{time.monotonic_ns()}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", *args],
                env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if "running; stop with SIGTERM" in self.log():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"process exited early:\n{self.log()}")
            time.sleep(0.05)  # polling its log for the ready line
        raise RuntimeError(f"process did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def cli_process(args: list[str], env: Mapping[str, str], cwd: Path) -> Iterator[CliProcess]:
    process = CliProcess(args, env, cwd)
    try:
        yield process
    finally:
        process.stop()
