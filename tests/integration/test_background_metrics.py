"""``vclient watchdog`` and ``vclient flusher`` as their own processes (the Procfile's
layout) serve ``GET /metrics`` on ``METRICS_PORT``: the watchdog's expiries and the
flusher's lag, which no web worker reports then. Real processes on Redis and PostgreSQL."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import world_of
from tests.support.exposition import sample
from tests.support.processes import cli_process
from tests.support.servers import free_port, spawn_cli

SEPARATE = {
    "SESSION_MIN_SECONDS": "1",
    "WATCHDOG_INTERVAL_SECONDS": "0.2",
    "WATCHDOG_IN_PROCESS": "false",
    "FLUSHER_IN_PROCESS": "false",
}


def scrape(port: int) -> str:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_separate_watchdog_and_flusher_serve_their_metrics_and_stop_on_sigterm(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with world_of(request, tmp_path, "redis", **SEPARATE) as world:
        dog_port, flusher_port = free_port(), free_port()
        with (
            cli_process(
                ["watchdog"], {**world.env, "METRICS_PORT": str(dog_port)}, world.cwd
            ) as dog,
            cli_process(
                ["flusher"], {**world.env, "METRICS_PORT": str(flusher_port)}, world.cwd
            ) as flusher,
        ):
            expired = 'vclient_watchdog_expiries_total{reason="time"}'
            assert sample(scrape(dog_port), "vclient_watchdog_expiries_total") is None
            session = world.new_session(time_limit_seconds=1)
            deadline = time.monotonic() + 10
            while sample(scrape(dog_port), expired) != 1.0:
                assert time.monotonic() < deadline, scrape(dog_port)
                time.sleep(0.1)  # polling the scrape for the expiry
            with world.http() as http:
                state = http.get(f"/api/sessions/{session.id}").json()
            assert state["status"] == "expired" and state["end_reason"] == "time"
            flushed = scrape(flusher_port)
            assert sample(flushed, "vclient_flush_pending_events") is not None, flushed
            assert sample(flushed, "vclient_flush_lag_seconds") is not None, flushed
            assert sample(flushed, 'vclient_sessions{state="expired"}') == 1.0, flushed
            # Nothing of the web's kind: no sockets there.
            assert sample(scrape(dog_port), 'vclient_sockets{role="student"}') == 0.0
        # SIGTERM still stops them (uvicorn inside took no signal for itself).
        assert dog.process.returncode == 0, dog.log()
        assert flusher.process.returncode == 0, flusher.log()
        assert "running; stop with SIGTERM" in dog.log()


def test_a_metrics_port_in_use_is_a_clear_error_at_start(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with world_of(request, tmp_path, "redis", **SEPARATE) as world:
        port = free_port()
        with cli_process(["watchdog"], {**world.env, "METRICS_PORT": str(port)}, world.cwd):
            second = spawn_cli(
                ["watchdog"], {**world.env, "METRICS_PORT": str(port)}, world.cwd, "second.log"
            )
            try:
                assert second.process.wait(timeout=30) == 2, second.log()
            except subprocess.TimeoutExpired:
                second.kill()
                raise
            assert f"cannot serve metrics on port {port}" in second.log()
