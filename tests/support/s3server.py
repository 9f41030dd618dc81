"""A local S3-compatible HTTP server for tests: moto in server mode, one process per
test session, a fresh bucket per test. With ``CI=true`` a server that cannot start
fails the test instead of skipping it (``tests.conftest.require_service``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_service
from tests.support.servers import free_port

# moto imports every AWS service model on start: ~3 s here, 30 s under load.
START_TIMEOUT_SECONDS = 30.0
ACCESS_KEY_ID = "test-access-key"
SECRET_ACCESS_KEY = "test-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Bucket:
    endpoint_url: str
    name: str


def _start(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto exited: {log_path.read_text(errors='replace')}")
        try:
            httpx.get(endpoint + "/moto-api/", timeout=1)
            return process, endpoint
        except httpx.TransportError:
            time.sleep(0.05)  # polling for the listening socket
    process.kill()
    raise RuntimeError("moto did not start listening")


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    try:
        process, endpoint = _start(log_path)
    except Exception as error:
        require_service("moto S3 server", error)
        raise
    try:
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> S3Bucket:
    """A new, empty bucket (moto takes unsigned bucket creation)."""
    name = f"vc-test-{uuid.uuid4().hex[:12]}"
    response = httpx.put(f"{s3_endpoint}/{name}", timeout=10)
    assert response.status_code == 200, response.text
    return S3Bucket(s3_endpoint, name)
