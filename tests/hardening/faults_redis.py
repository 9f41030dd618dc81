"""A private ``redis-server`` for fault tests: restarted with its data gone, or stopped and
started again on its data, without touching the Redis on 6379 that every other test
shares."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.servers import free_port

# redis-server starts in ~10 ms; 10 s is generous on a loaded machine.
START_TIMEOUT_SECONDS = 10.0


class PrivateRedis:
    """``redis-server`` on a free loopback port with no persistence: :meth:`restart` brings
    it back on the same port with nothing in it (what a crash without AOF does)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **options: Any) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, **options)

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / f"redis-{self.port}.log"
        self._process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                str(log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                with self.client() as probe:
                    probe.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start: {log.read_text()}") from None
                time.sleep(0.01)  # polling its port

    def stop(self) -> None:
        """``kill -9``: no save, nothing left behind (``--save ""`` and no AOF anyway; a
        snapshot :meth:`stop_keeping_data` left is removed)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None
        (self.workdir / "dump.rdb").unlink(missing_ok=True)

    def stop_keeping_data(self) -> None:
        """``SHUTDOWN SAVE``: the next :meth:`start` loads what it held (an outage that
        loses nothing: a network cut, a restart with persistence)."""
        if self._process is not None and self._process.poll() is None:
            # No retries: the server's close is the answer (redis-py's default retries
            # stretched a 1.2 s outage to ~4.8 s).
            with self.client(retry=Retry(NoBackoff(), 0)) as client:
                client.shutdown(save=True)
            self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> None:
        """Crash it and start an empty one on the same port."""
        self.stop()
        self.start()
        self.restarts += 1


@contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
