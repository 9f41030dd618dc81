"""Real ``vclient serve`` processes for integration tests."""

from __future__ import annotations

import json
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

    def terminate(self) -> None:
        """SIGTERM if it still runs: its graceful shutdown begins."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        """Wait up to 15 s for the exit a :meth:`terminate` began, then ``kill -9``."""
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def stop(self) -> None:
        self.terminate()
        self.wait_stopped()


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


# One interpreter for several commands: each cold start costs ~1.2 s of CPU importing
# SQLAlchemy, pydantic and the SDKs, which a test's setup paid once per command.
_RUN_EACH = """
import json, sys
from server.cli import main
for argv in json.loads(sys.argv[1]):
    if status := main(argv):
        sys.exit(status)
"""


def run_cli_steps(
    steps: list[list[str]], env: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``vclient STEP`` for each step in turn, in one process; stop at the first that
    fails (``check``: it raises)."""
    return subprocess.run(
        [sys.executable, "-c", _RUN_EACH, json.dumps(steps)],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def run_cli(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``vclient ARGS`` to its end (``check``: a failure raises)."""
    return run_cli_steps([args], env, cwd)


def _spawn_server(
    env: Mapping[str, str], cwd: Path, port: int | None, args: list[str] | None
) -> ServerProcess:
    port = port or free_port()
    spawned = spawn_cli(
        ["serve", "--port", str(port), *(args or [])], env, cwd, f"server-{port}.log"
    )
    return ServerProcess(spawned.process, spawned.log_path, port)


@contextmanager
def running_server(
    env: Mapping[str, str], cwd: Path, port: int | None = None, args: list[str] | None = None
) -> Iterator[ServerProcess]:
    """Start ``vclient serve`` and wait until ``/healthz`` answers."""
    server = _spawn_server(env, cwd, port, args)
    try:
        _wait_healthy(server)
        yield server
    finally:
        server.stop()


@contextmanager
def running_servers(env: Mapping[str, str], cwd: Path, count: int) -> Iterator[list[ServerProcess]]:
    """Start ``count`` servers at once, so their cold starts overlap (two cores), and wait
    until each answers ``/healthz``; stop them all at once too."""
    servers: list[ServerProcess] = []
    try:
        servers.extend(_spawn_server(env, cwd, None, None) for _ in range(count))
        for server in servers:
            _wait_healthy(server)
        yield servers
    finally:
        stop_all(servers)


def stop_all(processes: list[ServerProcess]) -> None:
    """SIGTERM every process first, then wait for each: their shutdowns overlap."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait_stopped()


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
