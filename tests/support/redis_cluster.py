"""A throwaway 3-master Redis Cluster on loopback, for the Cluster flavour of the suites.

The nodes are ``redis-server`` subprocesses owned by the fixture (killed at teardown),
joined with ``redis-cli --cluster create``. One cluster serves the whole pytest run: the
fixture is imported by several conftests, so the running cluster is kept in the pytest
config's stash rather than in each import's own fixture cache. With ``CI=true`` a cluster
that cannot start fails the tests instead of skipping them.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.support.servers import free_port

MASTERS = 3
# A node starts in ~10 ms and the cluster agrees on its slots within ~1-2 s here;
# 30 s is generous for a loaded CI box.
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LocalCluster:
    ports: tuple[int, ...]

    @property
    def url(self) -> str:
        """What ``REDIS_URL`` takes to select Cluster mode (any node is a seed)."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}/0"

    @property
    def node_urls(self) -> list[str]:
        return [f"redis://127.0.0.1:{port}/0" for port in self.ports]


def _node_command(port: int, bus_port: int, workdir: Path) -> list[str]:
    return [
        "redis-server",
        "--port", str(port),
        "--bind", "127.0.0.1",
        # Explicit, so the bus port (default: port + 10000) can never fall outside 65535.
        "--cluster-port", str(bus_port),
        "--cluster-enabled", "yes",
        "--cluster-config-file", str(workdir / f"nodes-{port}.conf"),
        "--cluster-node-timeout", "2000",
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--dir", str(workdir),
    ]  # fmt: skip


def _info_has(port: int, text: str) -> Callable[[], bool]:
    return lambda: text in _info(port)


def _info(port: int) -> str:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), "cluster", "info"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return done.stdout


def _wait(what: str, check: Callable[[], bool], deadline: float) -> None:
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis cluster: {what} within {START_TIMEOUT_SECONDS} s")
        time.sleep(0.05)  # polling a server that announces nothing


@contextmanager
def running_cluster(workdir: Path, masters: int = MASTERS) -> Iterator[LocalCluster]:
    """Start ``masters`` nodes, join them, wait for ``cluster_state:ok`` everywhere.
    Raises RuntimeError (or OSError when redis-server is missing) if it cannot."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with ExitStack() as stack:
        ports: list[int] = []
        for _ in range(masters):
            port, bus = free_port(), free_port()
            log = stack.enter_context((workdir / f"node-{port}.log").open("ab"))
            process = subprocess.Popen(
                _node_command(port, bus, workdir), stdout=log, stderr=subprocess.STDOUT
            )
            stack.callback(_kill, process)
            ports.append(port)
        for port in ports:
            _wait(f"node {port} did not answer", _info_has(port, "cluster_"), deadline)
        subprocess.run(
            [
                "redis-cli", "--cluster", "create",
                *(f"127.0.0.1:{port}" for port in ports),
                "--cluster-replicas", "0", "--cluster-yes",
            ],
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
            check=True,
        )  # fmt: skip
        for port in ports:
            _wait(
                f"node {port} did not reach cluster_state:ok",
                _info_has(port, "cluster_state:ok"),
                deadline,
            )
        yield LocalCluster(tuple(ports))


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


_CLUSTER_KEY = pytest.StashKey[LocalCluster | BaseException]()


@pytest.fixture(scope="session")
def redis_cluster(request: pytest.FixtureRequest) -> LocalCluster:
    """One local cluster for the whole run (started on first use, killed at exit)."""
    stash = request.config.stash
    if _CLUSTER_KEY not in stash:
        stash[_CLUSTER_KEY] = _start(request.config)
    found = stash[_CLUSTER_KEY]
    if isinstance(found, BaseException):
        require_service("a local Redis Cluster", found)
        raise AssertionError("unreachable")
    return found


def _start(config: pytest.Config) -> LocalCluster | BaseException:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        return FileNotFoundError("redis-server / redis-cli not on PATH")
    stack = ExitStack()
    config.add_cleanup(stack.close)
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vc-cluster-")))
    try:
        return stack.enter_context(running_cluster(workdir))
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        logs = "".join(p.read_text(errors="replace")[-500:] for p in workdir.glob("*.log"))
        return RuntimeError(f"{error!r}\n{logs}")


@pytest.fixture
def redis_cluster_url(redis_cluster: LocalCluster) -> str:
    return redis_cluster.url


@pytest.fixture
def redis_cluster_prefix(redis_cluster: LocalCluster) -> Iterator[str]:
    """A unique key prefix for one test; its keys are deleted from every node afterwards."""
    import redis

    prefix = f"vctest{uuid.uuid4().hex[:10]}"
    yield prefix
    for url in redis_cluster.node_urls:
        client = redis.Redis.from_url(url)
        try:
            for key in list(client.scan_iter(match=f"{prefix}*", count=1000)):
                client.delete(key)  # one key per call: keys of one node span many slots
        finally:
            client.close()
