"""Real ``vclient serve`` processes for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# A cold start imports SQLAlchemy, pydantic and the SDKs: ~2 s here, 20 s is generous.
START_TIMEOUT_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ManagedProcess:
    """A child process of the test, with its combined output in ``log_path``."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """``kill -9``: no shutdown hooks run."""
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


def spawn_cli(args: list[str], env: Mapping[str, str], cwd: Path, log_name: str) -> ManagedProcess:
    """Start ``vclient ARGS`` (as ``python -m server.cli``) with its output in a log file."""
    log_path = cwd / log_name
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *args],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return ManagedProcess(process, log_path)


@dataclass
class ServerProcess(ManagedProcess):
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


def run_cli(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@contextmanager
def running_server(
    env: Mapping[str, str], cwd: Path, port: int | None = None, args: list[str] | None = None
) -> Iterator[ServerProcess]:
    """Start ``vclient serve`` and wait until ``/healthz`` answers."""
    port = port or free_port()
    spawned = spawn_cli(
        ["serve", "--port", str(port), *(args or [])], env, cwd, f"server-{port}.log"
    )
    server = ServerProcess(spawned.process, spawned.log_path, port)
    try:
        _wait_healthy(server)
        yield server
    finally:
        server.stop()


def _wait_healthy(server: ServerProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling a probe, not papering over a race
    raise RuntimeError(f"server did not become healthy:\n{server.log()}")
