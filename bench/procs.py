"""Child processes of the benchmark and what ``/proc`` says about them.

Every child is started in its own session (a Ctrl-C reaches the orchestrator alone, which
then stops the children in order), pinned to the cores it is given, and asked to die with
its parent (``PR_SET_PDEATHSIG``), so not even a ``kill -9`` of the orchestrator leaves a
server behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "Child",
    "Children",
    "cpu_by_pid",
    "cpu_seconds",
    "cpu_used",
    "free_port",
    "machine_busy_seconds",
    "pids_named",
    "rss_bytes",
    "run_loop",
    "tree",
    "wait_http",
]

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
PR_SET_PDEATHSIG = 1
#: A cold ``vclient serve`` imports SQLAlchemy, pydantic and the SDKs: ~2 s, more under load.
START_TIMEOUT_S = 30.0
#: uvicorn's graceful shutdown is 10 s; past this, SIGKILL.
STOP_TIMEOUT_S = 15.0


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop when installed (uvicorn's own loop), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child_setup(cores: frozenset[int] | None) -> Callable[[], None]:
    def setup() -> None:
        if cores:
            os.sched_setaffinity(0, cores)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return setup


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT_S`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)


@dataclass
class Children:
    """The children of one run; :meth:`stop_all` stops them newest first."""

    log_dir: Path
    cores: frozenset[int] | None = None  # None: no pinning at all
    started: list[Child] = field(default_factory=list)

    def spawn(
        self, name: str, args: list[str], env: Mapping[str, str] | None = None, core: int = 0
    ) -> Child:
        """Start ``python ARGS`` pinned to ``core`` (when pinning), output in a log file."""
        pin = frozenset({core}) & self.cores if self.cores is not None else None
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, *args],
                env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                cwd=self.log_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_child_setup(pin),
            )
        child = Child(name, process, log_path)
        self.started.append(child)
        return child

    def stop(self, child: Child) -> None:
        child.stop()
        if child in self.started:
            self.started.remove(child)

    def stop_all(self) -> None:
        while self.started:
            self.stop(self.started[-1])


def wait_http(child: Child, url: str, timeout: float = START_TIMEOUT_S) -> None:
    """Poll ``url`` until it answers 200. Raises RuntimeError (with the log) otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited early:\n{child.log()[-4000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling a health probe
    raise RuntimeError(f"{child.name} did not answer {url}:\n{child.log()[-4000:]}")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; everything after its ')' splits cleanly.
    return raw[raw.rindex(")") + 2 :].split()


def tree(roots: Iterable[int]) -> list[int]:
    """``roots`` and all their live descendants (uvicorn's workers under its supervisor)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [pid for pid in roots if _stat_fields(pid) is not None]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, ()))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds the live ``pids`` have used so far."""
    return sum(cpu_by_pid(pids).values())


def cpu_by_pid(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process of ``pids``."""
    found = {}
    for pid in pids:
        if (fields := _stat_fields(pid)) is not None:
            found[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two :func:`cpu_by_pid` readings: a process that appeared
    in between counts whole, one that exited is lost (``/proc`` forgets it)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def pids_named(names: Iterable[str]) -> list[int]:
    """Live processes whose command name is one of ``names`` (e.g. ``redis-server``)."""
    wanted = set(names)
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(f"/proc/{entry}/comm").read_text().strip() in wanted:
                found.append(int(entry))
        except OSError:
            continue
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def rss_bytes(pids: Iterable[int]) -> int:
    """Resident memory of ``pids``, summed (pages shared between workers count twice)."""
    total = 0
    for pid in pids:
        try:
            resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
        except (OSError, IndexError):
            continue
        total += int(resident) * PAGE_BYTES
    return total
