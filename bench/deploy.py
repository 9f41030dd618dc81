"""The servers a capacity run measures: the bare baseline and the product (``vclient
serve``) on each backend, each started fresh for every sweep step.

A product configuration owns throwaway state for the whole run: a ``DATA_DIR`` with its
secret key (and SQLite file), a teacher made with ``vclient create-user``, and for Redis +
PostgreSQL a database created for the run and dropped after it and a key prefix whose
keys are deleted after it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from bench.procs import ROOT, START_TIMEOUT_S, Children, free_port, tree, wait_http

__all__ = [
    "CONFIGS",
    "DEFAULT_CONFIGS",
    "Config",
    "Deployment",
    "Server",
    "deployed",
    "services_reachable",
]

Backend = Literal["none", "memory", "redis"]

REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/0"
POSTGRES_ADMIN_URL = (
    os.environ.get("BENCH_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEACHER_EMAIL = "bench@bench.example"
#: Generous limits: the driver must never be throttled or run out of budget or time.
PRODUCT_LIMITS = {
    "SESSION_MAX_SECONDS": "86400",
    "TOKEN_BUDGET_MAX": "100000000",
    "SAY_RATE_COUNT": "1000000",
    "SAY_RATE_SECONDS": "1",
    # The sweep measures what the server carries, not this setting: past 100 streaming
    # replies a worker queues the rest (MAX_STREAMING_REPLIES' default), which keeps chunk
    # latency low while sessions wait, and the sweep "passed" 250 sessions in-process
    # with ~100 streaming and replies starting 4 s late. Size the setting from the sweep.
    "MAX_STREAMING_REPLIES": "10000",
}


@dataclass(frozen=True)
class Config:
    name: str
    kind: Literal["baseline", "product"]
    backend: Backend
    workers: int
    #: The baseline's HTTP client for the upstream (bench.baseline --client).
    client: Literal["httpx", "aiohttp"] = "httpx"

    @property
    def description(self) -> str:
        if self.kind == "baseline":
            return f"bare Starlette + {self.client}, in-process fan-out"
        where = "in-process + SQLite" if self.backend == "memory" else "Redis + PostgreSQL"
        return f"vclient serve, {where}, {self.workers} worker{'s' * (self.workers > 1)}"


# In-process with 2 workers is no deployment: each worker would have its own session log,
# and a session's sockets landing on two workers would not see each other's events.
CONFIGS = {
    c.name: c
    for c in (
        Config("baseline", "baseline", "none", 1),
        Config("memory-1w", "product", "memory", 1),
        Config("redis-1w", "product", "redis", 1),
        Config("redis-2w", "product", "redis", 2),
        # Not in the method: the baseline on the product's HTTP client for
        # OpenAI-compatible servers, to tell the client's share of the ratios apart.
        Config("baseline-aiohttp", "baseline", "none", 1, client="aiohttp"),
    )
}
#: What `make bench` runs: the issue's method.
DEFAULT_CONFIGS = ("baseline", "memory-1w", "redis-1w", "redis-2w")


@dataclass(frozen=True)
class Server:
    """A running server as the driver sees it."""

    url: str
    root_pid: int
    driver_args: list[str]


@dataclass
class Deployment:
    config: Config
    children: Children
    upstream_url: str
    env: dict[str, str] = field(default_factory=dict)
    password: str = ""

    @contextmanager
    def serving(self) -> Iterator[Server]:
        """A fresh server process (tree) on a free port, pinned to core 0; stopped after."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        name = f"{self.config.name}-{port}"
        if self.config.kind == "baseline":
            args = ["-m", "bench.baseline", "--port", str(port), "--upstream", self.upstream_url]
            args += ["--client", self.config.client]
            child = self.children.spawn(name, args, core=0)
            driver_args = ["--kind", "baseline"]
        else:
            args = ["-m", "server.cli", "serve", "--port", str(port)]
            args += ["--workers", str(self.config.workers)]
            child = self.children.spawn(name, args, self.env, core=0)
            driver_args = ["--kind", "product", "--email", TEACHER_EMAIL]
            driver_args.append(f"--password={self.password}")
        try:
            wait_http(child, url + "/healthz")
            if self.config.workers > 1:
                _wait_workers(child.pid, self.config.workers, url)
            yield Server(url, child.pid, driver_args)
        finally:
            self.children.stop(child)


def _wait_workers(pid: int, workers: int, url: str) -> None:
    """uvicorn's supervisor answers once one worker is up; wait for all of them, then
    knock a few times so each has served a request before the step."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while len(tree([pid])) < workers + 1 and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the process table for the workers
    for _ in range(workers * 4):
        httpx.get(url + "/healthz", timeout=START_TIMEOUT_S)


def services_reachable() -> str | None:
    """None when Redis and PostgreSQL answer, else why not."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
        asyncio.run(_postgres("SELECT 1"))
    except Exception as error:  # any failure means "not there"
        return repr(error)
    return None


async def _postgres(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> None:
    """Run ``vclient ARGS``. Raises RuntimeError with its output when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"vclient {args[0]} failed:\n{done.stdout}{done.stderr}")


@contextmanager
def deployed(config: Config, children: Children, upstream_url: str) -> Iterator[Deployment]:
    """``config`` ready to serve; its throwaway database and keys are gone afterwards."""
    deployment = Deployment(config, children, upstream_url)
    if config.kind == "baseline":
        yield deployment
        return
    token = secrets.token_hex(4)
    home = children.log_dir / config.name
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "DATA_DIR": str(home / "var"),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "LLM_PROVIDER": "openai",
        "OPENAI_BASE_URL": upstream_url,
        "OPENAI_API_KEY": "bench",
        "LLM_MODEL": "bench",
        **PRODUCT_LIMITS,
    }
    database = f"vcbench_{token}"
    prefix = f"vcbench{token}"
    if config.backend == "redis":
        asyncio.run(_postgres(f'CREATE DATABASE "{database}"'))
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        env |= {"DATABASE_URL": f"{base}/{database}", "REDIS_URL": REDIS_URL}
        env["REDIS_KEY_PREFIX"] = prefix
    try:
        deployment.env = env
        deployment.password = secrets.token_hex(12)
        _cli(["db", "upgrade"], env, home)
        user = ["create-user", "--email", TEACHER_EMAIL, "--name", "Bench"]
        _cli([*user, f"--password={deployment.password}"], env, home)
        yield deployment
    finally:
        if config.backend == "redis":
            _drop_keys(prefix)
            asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def _drop_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()
